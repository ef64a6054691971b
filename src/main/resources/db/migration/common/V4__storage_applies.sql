CREATE TABLE storage_applies (
    id           INTEGER       NOT NULL PRIMARY KEY,
    file         VARCHAR(4096) NOT NULL,
    mode         VARCHAR(32)   NOT NULL,
    outcome      VARCHAR(4096) NOT NULL,
    changes      TEXT          NOT NULL,
    applied_at   VARCHAR(40)   NOT NULL
);
