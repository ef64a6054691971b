-- How the VM's guest last came to run ('snapshot': resumed from its template's memory snapshot,
-- 'boot': booted from its disk; null until it first runs), and the public part of the SSH host
-- key Scalebox made for it, which clients check the VM against.
ALTER TABLE vms ADD COLUMN started_from VARCHAR(16);
ALTER TABLE vms ADD COLUMN ssh_host_key VARCHAR(200);
