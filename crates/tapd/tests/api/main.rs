//! tapd's end-to-end suite: one binary, a server per test started in-process on port 0 with a
//! fresh database (SQLite by default, PostgreSQL when `TAPD_TEST_DATABASE_URL` names a server),
//! driven over real HTTP through the same client library the CLI uses.

mod authenticator;
mod authz;
mod backup;
mod bad_input;
mod batch;
mod browser;
mod bulk;
mod cli;
mod client;
mod cross_tenant;
mod delivery;
mod device;
mod directory;
mod federation;
mod fido2;
mod hardening;
mod helpers;
mod limits;
mod metrics;
mod oidc;
mod openapi;
mod pages;
mod passes;
mod passkeys;
mod policy;
mod queries;
mod replicas;
mod secrets;
mod signin;
mod tenants;
mod tls;
