CREATE TABLE templates (
    name        VARCHAR(63)  NOT NULL PRIMARY KEY,
    size_bytes  BIGINT       NOT NULL,
    created_at  VARCHAR(40)  NOT NULL,
    protected   BOOLEAN      NOT NULL DEFAULT FALSE,
    origin      VARCHAR(16)  NOT NULL
);
