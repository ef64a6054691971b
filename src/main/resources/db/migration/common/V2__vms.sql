CREATE TABLE vms (
    id             VARCHAR(16)  NOT NULL PRIMARY KEY,
    name           VARCHAR(63)  NOT NULL UNIQUE,
    template       VARCHAR(63)  NOT NULL,
    status         VARCHAR(16)  NOT NULL,
    status_reason  VARCHAR(400),
    vcpu_count     INTEGER      NOT NULL,
    mem_size_mib   INTEGER      NOT NULL,
    disk_size_gib  INTEGER      NOT NULL,
    ssh_port       INTEGER      NOT NULL UNIQUE,
    created_at     VARCHAR(40)  NOT NULL
);
