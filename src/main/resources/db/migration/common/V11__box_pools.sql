-- Each host's box pool as its last heartbeat saw it: ready boxes, warm instances, box instances
-- (running boxes and warm ones) against POOL_INSTANCES_TOTAL, and volumes against
-- POOL_VOLUMES_TOTAL. Null on a host whose gateway has not started.
ALTER TABLE hosts ADD COLUMN box_ready INTEGER;
ALTER TABLE hosts ADD COLUMN box_warm INTEGER;
ALTER TABLE hosts ADD COLUMN box_instances INTEGER;
ALTER TABLE hosts ADD COLUMN box_instances_total INTEGER;
ALTER TABLE hosts ADD COLUMN box_volumes INTEGER;
ALTER TABLE hosts ADD COLUMN box_volumes_total INTEGER;
-- The box pools' totals over the hosts that are not down, kept by the leader on each of its beats:
-- one row, which names the leader that last kept it and when.
CREATE TABLE box_pool_totals (
    id                   INTEGER      NOT NULL PRIMARY KEY,
    hosts                INTEGER      NOT NULL,
    ready                INTEGER      NOT NULL,
    warm                 INTEGER      NOT NULL,
    instances            INTEGER      NOT NULL,
    instances_total      INTEGER      NOT NULL,
    volumes              INTEGER      NOT NULL,
    volumes_total        INTEGER      NOT NULL,
    kept_by              VARCHAR(63)  NOT NULL,
    kept_at              VARCHAR(40)  NOT NULL
);
