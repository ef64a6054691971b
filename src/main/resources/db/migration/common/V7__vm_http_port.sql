-- The port of the VM's web server that its HTTPS address (https://NAME.HTTP_DOMAIN) leads to.
ALTER TABLE vms ADD COLUMN http_port INTEGER NOT NULL DEFAULT 80;
