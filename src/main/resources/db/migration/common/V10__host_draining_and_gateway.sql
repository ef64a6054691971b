-- Whether a host was drained by request: it takes no new VMs until undrained. Kept apart from the
-- state its heartbeat and the leader write (up, down), so that a drained host that goes down and
-- comes back is still drained.
ALTER TABLE hosts ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;
-- Where other hosts reach this host's SSH gateway (HOST:PORT), and its host key, so that a session
-- for a box that lives here can be carried here from any host's gateway, to this gateway only.
ALTER TABLE hosts ADD COLUMN gateway VARCHAR(300);
ALTER TABLE hosts ADD COLUMN gateway_host_key VARCHAR(1000);
