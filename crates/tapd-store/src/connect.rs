//! Opening the database: which dialect a URL names, the connection pool and its per-connection
//! settings, the migrations of that dialect, and the batch writers started beside the pool.
//! Also the database-wide calls that come with a connection: closing, pinging, and creating a
//! fresh PostgreSQL database for a test or a benchmark.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, AssertSqlSafe, Executor};

use crate::direct::Direct;
use crate::read::Readers;
use crate::{Result, Store, StoreError, batch};

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

    /// The dialect of a URL tapd can open, or the error that says what it takes.
    pub fn of_supported_url(url: &str) -> Result<Dialect> {
        Dialect::of_url(url).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "unsupported database URL {}: tapd takes sqlite://PATH or postgres://USER@HOST/DB (--database-url, TAPD_DATABASE_URL)",
                redacted(url)
            ))
        })
    }

    fn max_connections(self) -> u32 {
        match self {
            Dialect::Sqlite => 8,
            Dialect::Postgres => 16,
        }
    }

    /// Writer tasks over the pool: PostgreSQL overlaps a few batches' round trips; SQLite has
    /// one writer at a time.
    fn writers(self) -> usize {
        match self {
            Dialect::Sqlite => 1,
            Dialect::Postgres => 4,
        }
    }
}

/// Set on every SQLite connection. Durable commits: an acknowledged one-time consumption
/// survives a power cut. An 8 MiB page cache each (the OS caches the rest, and a million users
/// stay within the memory budget); no memory map, which the growing file would remap again
/// and again. Statement journals (an upsert's, a multi-row INSERT's) in memory rather than in a
/// temporary file: they were a tenth of a sign-in batch's time.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                              PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
                              PRAGMA mmap_size=0; PRAGMA cache_size=-8192; \
                              PRAGMA temp_store=MEMORY;";

impl Store {
    /// Connects and runs the migrations of the URL's dialect. On PostgreSQL the migrator holds an
    /// advisory lock, so several replicas starting at once are safe.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_supported_url(url)?;
        check_reachable(url, dialect).await?;
        let pool = open_pool(url, dialect).await?;
        migrate(&pool, dialect).await?;
        let readers = match dialect {
            Dialect::Sqlite => Readers::of(&pool).await?.map(Arc::new),
            Dialect::Postgres => None,
        };
        // A SQLite file gets its own writer thread; an in-memory database (which only the
        // pool's connections see) writes through the pool; PostgreSQL's writers and hot reads
        // hold connections of their own (`direct`).
        let (writes, direct) = match (&readers, dialect) {
            (Some(readers), _) => (batch::start_sqlite(readers.path())?, None),
            (None, Dialect::Sqlite) => (batch::start(pool.clone(), dialect, None, 1), None),
            (None, Dialect::Postgres) => (
                batch::start(pool.clone(), dialect, Some(url), dialect.writers()),
                Some(Arc::new(Direct::new(url))),
            ),
        };
        Ok(Store {
            pool,
            dialect,
            writes,
            readers,
            direct,
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

    /// The pool's connections now: idle and in use.
    pub fn pool_use(&self) -> PoolUse {
        let idle = self.pool.num_idle();
        PoolUse {
            idle,
            in_use: (self.pool.size() as usize).saturating_sub(idle),
        }
    }
}

/// What [`Store::pool_use`] reports.
pub struct PoolUse {
    pub idle: usize,
    pub in_use: usize,
}

/// One connection first, so that a database that is down or missing is said at once and
/// plainly, not after the pool's wait as "pool timed out".
async fn check_reachable(url: &str, dialect: Dialect) -> Result<()> {
    use sqlx::Connection;
    if dialect != Dialect::Postgres {
        return Ok(());
    }
    let attempt = tokio::time::timeout(Duration::from_secs(10), sqlx::AnyConnection::connect(url));
    let hint = "(--database-url, TAPD_DATABASE_URL)";
    let why = match attempt.await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Err(_) => "no answer within 10 s".to_string(),
        Ok(Err(sqlx::Error::Database(e))) if e.code().as_deref() == Some("3D000") => {
            format!(
                "{}: create it first (e.g. `createdb` or CREATE DATABASE) {hint}",
                e.message()
            )
        }
        Ok(Err(sqlx::Error::Database(e))) => format!("{} {hint}", e.message()),
        Ok(Err(e)) => format!("{e}: is PostgreSQL running and reachable there? {hint}"),
    };
    Err(StoreError::Unavailable(format!(
        "cannot open the database {}: {why}",
        redacted(url)
    )))
}

/// A database URL without its password.
fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{}{masked}{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_string(),
    }
}

/// The pool, with SQLite's settings applied to each new connection (`Any` takes only a URL).
async fn open_pool(url: &str, dialect: Dialect) -> Result<AnyPool> {
    let pool = AnyPoolOptions::new()
        .max_connections(dialect.max_connections())
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    conn.execute(SQLITE_PRAGMAS).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

fn migrator(dialect: Dialect) -> sqlx::migrate::Migrator {
    match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

/// The newest migration this build knows for `dialect`: a backup from a newer schema can't be
/// served by it.
pub fn latest_schema_version(dialect: Dialect) -> i64 {
    migrator(dialect)
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Brings the schema up to date with the dialect's migrations.
async fn migrate(pool: &AnyPool, dialect: Dialect) -> Result<()> {
    let migrator = migrator(dialect);
    // PostgreSQL's migrator holds an advisory lock. SQLite's has no lock: a process that
    // raced another through the same migration fails it ("already exists") once the other
    // commits, and a second run then finds it applied.
    let mut attempt = 0;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(_) if dialect == Dialect::Sqlite && attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(StoreError::Database(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redacted("postgres://tapd:s3cret@db:5432/tapd"),
            "postgres://tapd:***@db:5432/tapd"
        );
        assert_eq!(
            redacted("postgres://tapd@db/tapd?sslmode=require"),
            "postgres://tapd@db/tapd?sslmode=require"
        );
        assert_eq!(redacted("sqlite:///srv/tapd.db"), "sqlite:///srv/tapd.db");
        assert_eq!(redacted("mysql:x"), "mysql:x");
    }
}
