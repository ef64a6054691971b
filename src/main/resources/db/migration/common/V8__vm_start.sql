-- How the VM's guest last came to run ('snapshot': resumed from its template's memory snapshot,
-- 'boot': booted from its disk; null until it first runs), and the public part of the SSH host
-- key Scalebox made for it, which clients check the VM against.
ALTER TABLE vms ADD COLUMN started_from VARCHAR(16);
ALTER TABLE vms ADD COLUMN ssh_host_key VARCHAR(200);
-- Every VM made before has run (or was made from one that had); only new VMs start with null,
-- which is how a VM's first boot is known.
UPDATE vms SET started_from = 'boot';
