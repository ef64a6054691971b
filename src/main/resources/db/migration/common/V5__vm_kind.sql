-- 'vm': a VM of the API, its disk in vms/; 'box': a box of the gateway, its disk a volume in volumes/.
-- Boxes made before this column keep their disks in vms/ as 'vm'.
ALTER TABLE vms ADD COLUMN kind VARCHAR(8) NOT NULL DEFAULT 'vm';
