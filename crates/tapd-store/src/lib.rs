//! tapd's storage: every row the service keeps, behind one `Store` that speaks SQLite and
//! PostgreSQL through `sqlx::Any` (and, for SQLite's hot point reads, rusqlite). The SQL stays
//! portable (`$n` placeholders, TEXT ids, BIGINT microsecond times, BIGINT 0/1 flags) so each
//! query is written once; only migrations differ.
//!
//! Where things live:
//! - `connect`: opening the database — dialect, pool, migrations — and its health;
//! - `directory`: tenants and their domains, users, groups and role assignments;
//! - `passes`: the TAP policy, the passes, and what a sign-in reads;
//! - `batch`: what a sign-in, an issuance and a user's creation write, committed in groups;
//! - `read`: the hot paths' point reads, and the row their decoders read from either driver;
//! - `lite`: SQLite's batch writer, a thread that owns its rusqlite connection;
//! - `seed`: bulk seeding of users and the database's size, for benchmarks;
//! - `delivery`: one-time links to a sealed pass, and each user's manager;
//! - `passkeys`: WebAuthn credentials and ceremonies;
//! - `oauth`: what the OpenID Connect provider keeps — apps, codes, tokens, sessions, keys;
//! - `audit`: the directory-audit and sign-in logs;
//! - `throttle`: runs of consecutive wrong secrets, per account and per client;
//! - `maintenance`: whole-database chores (purging what expired, the test dump);
//! - `sql`: the conventions every query shares (value encodings, placeholders, transactions).

mod audit;
mod batch;
mod connect;
mod delivery;
mod direct;
mod directory;
mod fido2;
mod lite;
mod maintenance;
mod oauth;
mod passes;
mod passkeys;
mod policy;
mod query;
mod read;
mod seed;
mod sql;
mod throttle;

use sqlx::AnyPool;

pub use audit::{AuditKind, AuditRecord};
pub use connect::{Dialect, PoolUse, latest_schema_version};
pub use delivery::{OpenedLink, PassLink};
pub use directory::{
    DomainAuthentication, DomainRecord, FederationRecord, GroupRecord, HomeIdentity, PartnerRecord,
    RoleAssignment, Tenant, UserRecord, UserType,
};
pub use fido2::{RegistrationFilter, RegistrationRow};
pub use oauth::{
    AppRecord, AppSecret, AuthCode, DeviceApproval, DeviceCode, Grant, Redeemed, RefreshToken,
    SigningKeyRow, WebSession,
};
pub use passes::{ManagedUser, SignInView, StoredSecret};
pub use passkeys::{Ceremony, CeremonyKind, PasskeyRecord};
pub use query::Page;
pub use throttle::Subject;

/// What can go wrong below the domain. The server maps these to Graph errors; the domain never
/// sees a `sqlx::Error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A shared write (a batch of sign-ins) failed; each of its callers gets the reason.
    #[error("database error: {0}")]
    Batch(String),
    /// The database could not be opened: where, why, and what to check.
    #[error("{0}")]
    Unavailable(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl Store {
    /// A transaction that writes (see [`sql::begin_write`]).
    async fn write_tx(&self) -> Result<sql::Tx<'static>> {
        sql::begin_write(&self.pool, self.dialect).await
    }
}

/// The database, opened with [`Store::connect`]. Its methods are spread over the modules by
/// what they touch; cloning is cheap (the pool and the sign-in queue are shared).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// The group-commit writers of the hot paths.
    writes: batch::Queue,
    /// SQLite's readers for the hot point reads (see `read`); `None` on PostgreSQL.
    readers: Option<std::sync::Arc<read::Readers>>,
    /// PostgreSQL's connections for the same reads, outside the pool (see `direct`); `None`
    /// on SQLite.
    direct: Option<std::sync::Arc<direct::Direct>>,
}
