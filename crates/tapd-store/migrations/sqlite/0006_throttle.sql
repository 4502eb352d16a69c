-- Runs of consecutive wrong secrets (tapd_core::throttle): per account for password sign-in
-- (`user:<id>`), per OAuth client at the token endpoint (`client:<client id>`). Kept in the
-- database so that the limit holds across replicas; a success deletes the row.
CREATE TABLE failure_runs (
    subject TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
