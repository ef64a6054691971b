-- The hosts that share this store, each written by its own heartbeat: where other hosts reach its
-- API, what it has, and how many beats it has sent. Whether a host is down is decided by the
-- leader, from beats that stop coming by its own clock, never from the timestamps of others.
CREATE TABLE hosts (
    name              VARCHAR(63)  NOT NULL PRIMARY KEY,
    url               VARCHAR(400) NOT NULL,
    ssh_host          VARCHAR(255) NOT NULL,
    state             VARCHAR(16)  NOT NULL,
    state_reason      VARCHAR(400),
    cores             INTEGER      NOT NULL,
    mem_total_mib     BIGINT       NOT NULL,
    mem_free_mib      BIGINT       NOT NULL,
    pool_total_bytes  BIGINT       NOT NULL,
    pool_free_bytes   BIGINT       NOT NULL,
    load_milli        INTEGER      NOT NULL,
    qemu_version      VARCHAR(100) NOT NULL,
    cpu_model         VARCHAR(200) NOT NULL,
    beats             BIGINT       NOT NULL,
    started_at        VARCHAR(40)  NOT NULL,
    heartbeat_at      VARCHAR(40)  NOT NULL
);
-- The host each VM lives on. Records made before hosts existed have none until their host starts
-- and adopts them (one host had the store then).
ALTER TABLE vms ADD COLUMN host VARCHAR(63);
-- Which hosts hold each template's image: templates are made on a host, and copied between them.
CREATE TABLE template_hosts (
    template  VARCHAR(63) NOT NULL,
    host      VARCHAR(63) NOT NULL,
    PRIMARY KEY (template, host)
);
