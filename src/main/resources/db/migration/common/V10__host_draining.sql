-- Whether a host was drained by request: it takes no new VMs until undrained. Kept apart from the
-- state its heartbeat and the leader write (up, down), so that a drained host that goes down and
-- comes back is still drained.
ALTER TABLE hosts ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;
