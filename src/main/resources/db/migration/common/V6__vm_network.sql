-- A VM's address on the bridge (its MAC follows from it) and where it may connect to: 'internet',
-- 'all', 'none' or 'allow:' and a list. VMs made under the user-mode network have no address
-- until they start on the bridge.
ALTER TABLE vms ADD COLUMN ip VARCHAR(15);
ALTER TABLE vms ADD COLUMN egress VARCHAR(4200) NOT NULL DEFAULT 'internet';
