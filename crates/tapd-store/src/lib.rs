//! tapd's storage: every row the service keeps, behind one `Store` that speaks SQLite and
//! PostgreSQL through `sqlx::Any`. The SQL stays portable (`$n` placeholders, TEXT ids, BIGINT
//! microsecond times, BIGINT 0/1 flags) so each query is written once; only migrations differ.

mod batch;
mod oauth;
mod passkeys;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Executor, Row};
use tapd_core::{Role, TapPass, TapPolicy};
use time::OffsetDateTime;
use uuid::Uuid;

pub use oauth::*;
pub use passkeys::*;
pub use rows::*;

pub(crate) use oauth::{REFRESH_COLUMNS, WEB_SESSION_COLUMNS};

/// What can go wrong below the domain. The server maps these to Graph errors; the domain never
/// sees a `sqlx::Error`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Option<Dialect> {
        if url.starts_with("sqlite:") {
            Some(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Dialect::Postgres)
        } else {
            None
        }
    }
}

/// The policy row id of the TAP method configuration.
const TAP_POLICY_ID: &str = "TemporaryAccessPass";

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// The group-commit writers of the sign-in path.
    sign_ins: batch::Queue,
}

pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

pub(crate) fn from_micros(us: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1_000)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn uuid_of(s: &str) -> Result<Uuid> {
    Uuid::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

impl Store {
    /// Connects and runs the migrations of the URL's dialect. On PostgreSQL the migrator holds an
    /// advisory lock, so several replicas starting at once are safe.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url).ok_or_else(|| {
            StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database URL (want sqlite: or postgres:): {url}").into(),
            ))
        })?;
        let max = match dialect {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // Durable commits: an acknowledged one-time consumption survives a power cut.
                        // Reads through a memory map and a larger page cache rather than a
                        // pread per page.
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                             PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                             PRAGMA mmap_size=268435456; PRAGMA cache_size=-32768;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        let migrator = match dialect {
            Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // PostgreSQL's migrator holds an advisory lock. SQLite's has no lock: a process that
        // raced another through the same migration fails it ("already exists") once the other
        // commits, and a second run then finds it applied.
        let mut attempt = 0;
        loop {
            match migrator.run(&pool).await {
                Ok(()) => break,
                Err(_) if dialect == Dialect::Sqlite && attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(StoreError::Database(e.into())),
            }
        }
        // SQLite has one writer at a time; PostgreSQL overlaps a few batches' round trips.
        let writers = match dialect {
            Dialect::Sqlite => 1,
            Dialect::Postgres => 4,
        };
        let sign_ins = batch::start(pool.clone(), writers);
        Ok(Store {
            pool,
            dialect,
            sign_ins,
        })
    }

    /// Creates an empty PostgreSQL database `name` on the server `server_url` names and returns
    /// the URL of the new database. Tests and benchmarks use it for a fresh database each.
    pub async fn create_postgres_database(server_url: &str, name: &str) -> Result<String> {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Corrupt(format!("bad database name {name}")));
        }
        let mut conn = sqlx::AnyConnection::connect(server_url).await?;
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        conn.close().await?;
        let (base, query) = match server_url.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (server_url, String::new()),
        };
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let server = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        Ok(format!("{server}/{name}{query}"))
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ----- tenant and bootstrap -----

    pub async fn tenant(&self) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT id, default_domain, created_at FROM tenant")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Tenant {
                id: uuid_of(&r.try_get::<String, _>(0)?)?,
                default_domain: r.try_get(1)?,
                created_at: from_micros(r.try_get(2)?)?,
            })
        })
        .transpose()
    }

    /// Creates the tenant, the default policy and the first admin in one transaction. Returns
    /// false (and writes nothing) when the directory already exists, so replicas racing through
    /// their first start create it once.
    pub async fn bootstrap(
        &self,
        tenant: &Tenant,
        policy: &TapPolicy,
        admin: &UserRecord,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenant (slot, id, default_domain, created_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (slot) DO NOTHING",
        )
        .bind(tenant.id.to_string())
        .bind(&tenant.default_domain)
        .bind(micros(tenant.created_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        put_policy(&mut tx, policy, tenant.created_at).await?;
        insert_user(&mut tx, admin).await?;
        sqlx::query(
            "INSERT INTO role_assignments (id, principal_id, role_template_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(admin.id.to_string())
        .bind(Role::GlobalAdministrator.template_id())
        .bind(micros(tenant.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    // ----- policy -----

    pub async fn policy(&self) -> Result<TapPolicy> {
        let row = sqlx::query("SELECT body FROM policies WHERE id = $1")
            .bind(TAP_POLICY_ID)
            .fetch_optional(&self.pool)
            .await?;
        policy_from(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Replaces the policy, with the change's audit record, in one transaction.
    pub async fn set_policy(
        &self,
        policy: &TapPolicy,
        now: OffsetDateTime,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        put_policy(&mut tx, policy, now).await?;
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    // ----- users -----

    /// Creates a user, with its audit record, in one transaction.
    pub async fn create_user(&self, user: &UserRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_user(&mut tx, user).await?;
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Finds a user by id or (case-insensitively) by user principal name.
    pub async fn find_user(&self, id_or_upn: &str) -> Result<Option<UserRecord>> {
        let row = match Uuid::from_str(id_or_upn) {
            Ok(id) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
                )))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?
            }
            Err(_) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE upn_lower = $1"
                )))
                .bind(id_or_upn.to_lowercase())
                .fetch_optional(&self.pool)
                .await?
            }
        };
        row.as_ref().map(UserRecord::from_row).transpose()
    }

    /// Users ordered by UPN, after `after` (a UPN, lower-cased) when paging.
    pub async fn list_users(
        &self,
        upn_eq: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE ($1 = '' OR upn_lower = $1) \
             AND upn_lower > $2 ORDER BY upn_lower LIMIT $3"
        )))
        .bind(upn_eq.map(str::to_lowercase).unwrap_or_default())
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UserRecord::from_row).collect()
    }

    /// Updates a user, with the change's audit record, in one transaction.
    pub async fn update_user(&self, user: &UserRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query(
            "UPDATE users SET upn = $2, upn_lower = $3, display_name = $4, given_name = $5, \
             surname = $6, mail = $7, account_enabled = $8, password_hash = $9, \
             password_set_at = $10 WHERE id = $1",
        )
        .bind(user.id.to_string())
        .bind(&user.upn)
        .bind(user.upn.to_lowercase())
        .bind(&user.display_name)
        .bind(user.given_name.clone())
        .bind(user.surname.clone())
        .bind(user.mail.clone())
        .bind(user.account_enabled as i64)
        .bind(user.password_hash.clone())
        .bind(user.password_set_at.map(micros))
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
                "Another object with the same value for property userPrincipalName already exists: {}",
                user.upn
            ))),
            Err(e) => Err(e.into()),
            Ok(_) => {
                insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    }

    /// Deletes a user and everything hanging off it (methods, memberships, roles, tokens).
    pub async fn delete_user(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let id = id.to_string();
        for table in [
            "DELETE FROM refresh_tokens WHERE user_id = $1",
            "DELETE FROM web_sessions WHERE user_id = $1",
            "DELETE FROM auth_codes WHERE user_id = $1",
            "DELETE FROM taps WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM webauthn_user_handles WHERE user_id = $1",
            "DELETE FROM webauthn_ceremonies WHERE user_id = $1",
            "DELETE FROM group_members WHERE user_id = $1",
            "DELETE FROM role_assignments WHERE principal_id = $1",
        ] {
            sqlx::query(table).bind(&id).execute(&mut *tx).await?;
        }
        let res = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    // ----- groups -----

    pub async fn create_group(&self, group: &GroupRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO groups (id, display_name, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(group.id.to_string())
        .bind(&group.display_name)
        .bind(group.description.clone())
        .bind(micros(group.created_at))
        .execute(&mut *tx)
        .await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    pub async fn group(&self, id: Uuid) -> Result<Option<GroupRecord>> {
        let row = sqlx::query(
            "SELECT id, display_name, description, created_at FROM groups WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(GroupRecord::from_row).transpose()
    }

    pub async fn list_groups(&self) -> Result<Vec<GroupRecord>> {
        let rows = sqlx::query(
            "SELECT id, display_name, description, created_at FROM groups ORDER BY display_name, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(GroupRecord::from_row).collect()
    }

    pub async fn delete_group(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Adds a member; a second add of the same member is a conflict, as in Graph.
    pub async fn add_member(&self, group: Uuid, user: Uuid, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                "One or more added object references already exist for the following modified properties: 'members'.".into(),
            )),
            Err(e) => Err(e.into()),
            Ok(_) => finish(tx, true, audit).await.map(|_| ()),
        }
    }

    /// Removes a member; false (nothing written) when the user was not one.
    pub async fn remove_member(
        &self,
        group: Uuid,
        user: Uuid,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn group_members(&self, group: Uuid) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN \
             (SELECT user_id FROM group_members WHERE group_id = $1) ORDER BY upn_lower"
        )))
        .bind(group.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UserRecord::from_row).collect()
    }

    pub async fn groups_of(&self, user: Uuid) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }

    // ----- role assignments -----

    pub async fn assign_role(&self, a: &RoleAssignment, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query(
            "INSERT INTO role_assignments (id, principal_id, role_template_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(a.id.to_string())
        .bind(a.principal_id.to_string())
        .bind(a.role.template_id())
        .bind(micros(a.created_at))
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                "The principal already holds this role.".into(),
            )),
            Err(e) => Err(e.into()),
            Ok(_) => finish(tx, true, audit).await.map(|_| ()),
        }
    }

    pub async fn role_assignments(&self, principal: Option<Uuid>) -> Result<Vec<RoleAssignment>> {
        let rows = sqlx::query(
            "SELECT id, principal_id, role_template_id, created_at FROM role_assignments \
             WHERE ($1 = '' OR principal_id = $1) ORDER BY created_at, id",
        )
        .bind(principal.map(|p| p.to_string()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(RoleAssignment::from_row).collect()
    }

    pub async fn role_assignment(&self, id: Uuid) -> Result<Option<RoleAssignment>> {
        let row = sqlx::query(
            "SELECT id, principal_id, role_template_id, created_at FROM role_assignments WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(RoleAssignment::from_row).transpose()
    }

    pub async fn delete_role_assignment(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("DELETE FROM role_assignments WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn roles_of(&self, user: Uuid) -> Result<Vec<Role>> {
        Ok(self
            .role_assignments(Some(user))
            .await?
            .into_iter()
            .map(|a| a.role)
            .collect())
    }

    // ----- temporary access passes -----

    /// Stores a new pass for its user, replacing (deleting) any pass the user had, with its
    /// audit record, in one transaction.
    pub async fn replace_tap(
        &self,
        pass: &TapPass,
        secret: &StoredSecret,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM taps WHERE user_id = $1")
            .bind(pass.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO taps (id, user_id, created_at, start_at, lifetime_minutes, is_usable_once, \
             used_at, failed_attempts, salt, code_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(pass.id.to_string())
        .bind(pass.user_id.to_string())
        .bind(micros(pass.created_at))
        .bind(micros(pass.start))
        .bind(pass.lifetime_minutes as i64)
        .bind(pass.is_usable_once as i64)
        .bind(pass.used_at.map(micros))
        .bind(pass.failed_attempts as i64)
        .bind(secret.salt.clone())
        .bind(secret.hash.clone())
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the policy lets this user sign in with a pass (SPEC §3), reading the user's
    /// groups only when the policy names groups.
    pub async fn in_scope(&self, policy: &TapPolicy, user: Uuid) -> Result<bool> {
        let groups = if policy.needs_groups() {
            self.groups_of(user).await?
        } else {
            Vec::new()
        };
        Ok(policy.in_scope(&user.to_string(), &groups))
    }

    /// A user found by UPN together with their pass and the TAP policy, in one query: the
    /// sign-in path's read.
    pub async fn user_with_tap(&self, upn: &str) -> Result<Option<SignInView>> {
        let user_columns: Vec<String> = USER_COLUMNS
            .split(',')
            .map(|c| format!("u.{}", c.trim()))
            .collect();
        let tap_columns: Vec<String> = TAP_COLUMNS
            .split(',')
            .map(|c| format!("t.{}", c.trim()))
            .collect();
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {}, {}, (SELECT body FROM policies WHERE id = $2) \
             FROM users u LEFT JOIN taps t ON t.user_id = u.id WHERE u.upn_lower = $1",
            user_columns.join(", "),
            tap_columns.join(", ")
        )))
        .bind(upn.to_lowercase())
        .bind(TAP_POLICY_ID)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = UserRecord::from_row(&row)?;
        let offset = USER_COLUMNS.split(',').count();
        let tap = match row.try_get::<Option<String>, _>(offset)? {
            Some(_) => Some(tap_from_row_at(&row, offset)?),
            None => None,
        };
        let policy = policy_from(row.try_get(offset + TAP_COLUMNS.split(',').count())?)?;
        Ok(Some(SignInView { user, tap, policy }))
    }

    /// The user's pass (with its stored hash), if any.
    pub async fn tap_of(&self, user: Uuid) -> Result<Option<(TapPass, StoredSecret)>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {TAP_COLUMNS} FROM taps WHERE user_id = $1"
        )))
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(tap_from_row).transpose()
    }

    pub async fn tap_exists(&self, id: Uuid) -> Result<bool> {
        Ok(sqlx::query("SELECT 1 FROM taps WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Deletes the user's pass with this id; ends the sessions it opened.
    pub async fn delete_tap(&self, user: Uuid, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("DELETE FROM taps WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        for table in ["refresh_tokens", "web_sessions", "auth_codes"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tap_id = $1"
            )))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Commits a successful sign-in: consumes the pass if any (gating the rest), stores what it
    /// grants and the audit record. False, writing nothing, when the pass could not be consumed.
    pub async fn sign_in_commit(
        &self,
        pass: Option<TapPass>,
        grant: Grant,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let write = batch::Write::Session {
            pass,
            now: audit.at,
            grant: Box::new(grant),
        };
        Ok(self.sign_in_write(write, audit).await?.accepted)
    }

    /// Counts a wrong code against the pass and audits the attempt; returns the new count.
    pub async fn record_tap_failure(&self, pass: Uuid, audit: &AuditRecord) -> Result<u32> {
        let write = batch::Write::WrongCode { pass };
        Ok(self.sign_in_write(write, audit).await?.failures)
    }

    /// Audits a failed sign-in attempt.
    pub async fn audit_sign_in_failure(&self, audit: &AuditRecord) -> Result<()> {
        self.sign_in_write(batch::Write::AuditOnly, audit)
            .await
            .map(|_| ())
    }

    async fn sign_in_write(
        &self,
        write: batch::Write,
        audit: &AuditRecord,
    ) -> Result<batch::Outcome> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = batch::Job {
            write,
            audit: audit.clone(),
            reply,
        };
        let gone = || StoreError::Corrupt("the sign-in writer has stopped".into());
        self.sign_ins.send(job).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    // ----- audit -----

    /// Newest first; `before` is the `seq` of the last record of the previous page.
    pub async fn audit_page(
        &self,
        kind: AuditKind,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, serde_json::Value)>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, body FROM {} WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            kind.table()
        )))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get(1)?;
                Ok((
                    r.try_get(0)?,
                    serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }

    /// Every text column of every table, for tests that prove a secret is never stored.
    pub async fn dump_text(&self) -> Result<String> {
        let mut out = String::new();
        for (table, cols) in [
            ("users", USER_COLUMNS),
            ("taps", "id, user_id"),
            ("refresh_tokens", "token_hash, user_id, amr"),
            ("apps", "id, client_id, display_name, permissions"),
            ("app_secrets", "key_id, hint, secret_hash"),
            ("auth_codes", "code_hash, nonce, code_challenge"),
            ("web_sessions", "token_hash"),
            ("policies", "id, body"),
            ("directory_audits", "id, body"),
            ("sign_ins", "id, body"),
        ] {
            let rows = sqlx::query(AssertSqlSafe(format!("SELECT {cols} FROM {table}")))
                .fetch_all(&self.pool)
                .await?;
            for r in rows {
                for i in 0..r.len() {
                    if let Ok(Some(s)) = r.try_get::<Option<String>, _>(i) {
                        out.push_str(&s);
                        out.push('\n');
                    }
                }
            }
        }
        let rows = sqlx::query("SELECT salt, code_hash FROM taps")
            .fetch_all(&self.pool)
            .await?;
        for r in rows {
            for i in 0..2 {
                let bytes: Vec<u8> = r.try_get(i)?;
                out.push_str(&String::from_utf8_lossy(&bytes));
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// Ends a change's transaction: with `changed`, writes its audit record and commits; without,
/// rolls back so that a change that found nothing to do leaves no trace.
async fn finish(mut tx: Tx<'_>, changed: bool, audit: &AuditRecord) -> Result<bool> {
    if changed {
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(changed)
}

/// The stored policy, or the defaults before any was stored.
fn policy_from(body: Option<String>) -> Result<TapPolicy> {
    match body {
        Some(body) => serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(TapPolicy::default()),
    }
}

/// What a TAP sign-in reads.
pub struct SignInView {
    pub user: UserRecord,
    pub tap: Option<(TapPass, StoredSecret)>,
    pub policy: TapPolicy,
}

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn put_policy(tx: &mut Tx<'_>, policy: &TapPolicy, now: OffsetDateTime) -> Result<()> {
    let body = serde_json::to_string(policy).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO policies (id, body, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(TAP_POLICY_ID)
    .bind(body)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_user(tx: &mut Tx<'_>, u: &UserRecord) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO users (id, upn, upn_lower, display_name, given_name, surname, mail, \
         account_enabled, user_type, is_external, creation_type, external_user_state, \
         password_hash, password_set_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(u.id.to_string())
    .bind(&u.upn)
    .bind(u.upn.to_lowercase())
    .bind(&u.display_name)
    .bind(u.given_name.clone())
    .bind(u.surname.clone())
    .bind(u.mail.clone())
    .bind(u.account_enabled as i64)
    .bind(u.user_type.as_str())
    .bind(u.is_external as i64)
    .bind(u.creation_type.clone())
    .bind(u.external_user_state.clone())
    .bind(u.password_hash.clone())
    .bind(u.password_set_at.map(micros))
    .bind(micros(u.created_at))
    .execute(&mut **tx)
    .await;
    match res {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(format!(
            "Another object with the same value for property userPrincipalName already exists: {}",
            u.upn
        ))),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

pub(crate) async fn insert_audit(tx: &mut Tx<'_>, table: &str, a: &AuditRecord) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} (id, at, body) VALUES ($1, $2, $3)"
    )))
    .bind(a.id.to_string())
    .bind(micros(a.at))
    .bind(a.body.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const TAP_COLUMNS: &str = "id, user_id, created_at, start_at, lifetime_minutes, is_usable_once, \
                           used_at, failed_attempts, salt, code_hash";

fn tap_from_row(r: &AnyRow) -> Result<(TapPass, StoredSecret)> {
    tap_from_row_at(r, 0)
}

/// Decodes the `TAP_COLUMNS` that start at column `at`.
fn tap_from_row_at(r: &AnyRow, at: usize) -> Result<(TapPass, StoredSecret)> {
    let pass = TapPass {
        id: uuid_of(&r.try_get::<String, _>(at)?)?,
        user_id: uuid_of(&r.try_get::<String, _>(at + 1)?)?,
        created_at: from_micros(r.try_get(at + 2)?)?,
        start: from_micros(r.try_get(at + 3)?)?,
        lifetime_minutes: r.try_get::<i64, _>(at + 4)? as u32,
        is_usable_once: r.try_get::<i64, _>(at + 5)? != 0,
        used_at: r
            .try_get::<Option<i64>, _>(at + 6)?
            .map(from_micros)
            .transpose()?,
        failed_attempts: r.try_get::<i64, _>(at + 7)? as u32,
    };
    let secret = StoredSecret {
        salt: r.try_get(at + 8)?,
        hash: r.try_get(at + 9)?,
    };
    Ok((pass, secret))
}
