CREATE TABLE users (
    id           VARCHAR(16)   NOT NULL PRIMARY KEY,
    name         VARCHAR(63)   NOT NULL UNIQUE,
    public_key   VARCHAR(16000) NOT NULL,
    created_at   VARCHAR(40)   NOT NULL
);
