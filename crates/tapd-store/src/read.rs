//! The point reads of the hot paths — a sign-in's user and pass, a token's principal, an
//! issuance's target and policy — and the row they decode, whichever database answers.
//!
//! On SQLite these run on the calling thread through a few rusqlite connections with cached
//! statements, instead of hopping to sqlx-sqlite's per-connection worker thread and back: each
//! hop costs a futex wake and a context switch both ways, which was most of a sign-in's time.
//! A point read by an indexed key takes microseconds, short enough not to hold up the async
//! worker it runs on, and a WAL reader never waits for the writer. On PostgreSQL they go
//! through connections of their own (`direct`), one round trip each. A decoder reads either
//! driver's row through [`Columns`], so each is written once.

use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Result, Store, StoreError};

/// A value bound to a read's `$n`.
#[derive(Clone, Copy)]
pub(crate) enum Arg<'a> {
    Text(&'a str),
}

/// A row as a decoder reads it, from either driver. Columns are numbered from 0.
pub(crate) trait Columns {
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>>;

    fn text(&self, i: usize) -> Result<String> {
        self.opt_text(i)?.ok_or_else(|| null(i))
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.opt_int(i)?.ok_or_else(|| null(i))
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>> {
        self.opt_blob(i)?.ok_or_else(|| null(i))
    }
}

fn null(i: usize) -> StoreError {
    StoreError::Corrupt(format!("column {i} is NULL"))
}

impl Columns for AnyRow {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.try_get(i)?)
    }
}

impl Columns for rusqlite::Row<'_> {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>> {
        Ok(self.get(i)?)
    }
}

/// Most reader connections kept idle; more are opened when more threads read at once.
const MAX_IDLE: usize = 16;

/// The SQLite reader connections of one database file.
pub(crate) struct Readers {
    path: String,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Readers of the main database of the pool's SQLite file; `None` for an in-memory
    /// database (another connection would see another database).
    pub(crate) async fn of(pool: &sqlx::AnyPool) -> Result<Option<Readers>> {
        let rows = sqlx::query("PRAGMA database_list").fetch_all(pool).await?;
        let path = rows
            .iter()
            .find(|r| r.try_get::<String, _>(1).is_ok_and(|name| name == "main"))
            .and_then(|r| r.try_get::<String, _>(2).ok())
            .filter(|path| !path.is_empty());
        let Some(path) = path else {
            return Ok(None);
        };
        let readers = Readers {
            path,
            idle: Mutex::new(Vec::new()),
        };
        // Opened once now, so that a path the readers can't open fails the start.
        let conn = readers.open()?;
        readers.put_back(conn);
        Ok(Some(readers))
    }

    /// The database file the readers open.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.set_prepared_statement_cache_capacity(64);
        // Keep each cached statement's plan when it is bound again: without this SQLite
        // re-prepares a statement whose plan could depend on a bound value, every call.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // No memory map: the file grows with every batch, and each growth remaps it.
        conn.execute_batch("PRAGMA query_only=1; PRAGMA mmap_size=0; PRAGMA cache_size=-8192;")?;
        Ok(conn)
    }

    fn put_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `f` on an idle reader (or a new one), on this thread.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = f(&conn);
        self.put_back(conn);
        out
    }
}

/// `$1`…`$16` as SQLite names them: a read binds by name, since a statement may mention `$2`
/// before `$1`.
const NAMES: [&str; 16] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16",
];

fn sqlite_rows<T>(
    conn: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    decode: &mut dyn FnMut(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (arg, name) in args.iter().zip(NAMES) {
        let Some(index) = stmt.parameter_index(name)? else {
            return Err(StoreError::Corrupt(format!("{name} is not in {sql}")));
        };
        match arg {
            Arg::Text(s) => stmt.raw_bind_parameter(index, s)?,
        }
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

impl Store {
    /// Every row `sql` answers for `args`, decoded.
    pub(crate) async fn read_rows<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        mut decode: impl FnMut(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        if args.len() > NAMES.len() {
            return Err(StoreError::Corrupt(format!("too many values for {sql}")));
        }
        if let Some(readers) = &self.readers {
            return readers.with(|conn| sqlite_rows(conn, sql, args, &mut decode));
        }
        let query = || {
            let mut query = sqlx::query(AssertSqlSafe(sql.to_string()));
            for arg in args {
                query = match *arg {
                    Arg::Text(s) => query.bind(s.to_string()),
                };
            }
            query
        };
        let held = match &self.direct {
            Some(direct) => direct.take().await,
            None => None,
        };
        // A held connection that fails (the server restarted meanwhile, say) is closed, and
        // the read is made once more through the pool.
        let direct = match held {
            Some(mut held) => match query().fetch_all(held.conn()).await {
                Ok(rows) => {
                    held.put_back();
                    Some(rows)
                }
                Err(_) => None,
            },
            None => None,
        };
        let rows = match direct {
            Some(rows) => rows,
            None => query().fetch_all(&self.pool).await?,
        };
        rows.iter().map(|r| decode(r)).collect()
    }

    /// The first row `sql` answers for `args`, decoded; `None` when it answers none.
    pub(crate) async fn read_row<T>(
        &self,
        sql: &str,
        args: &[Arg<'_>],
        decode: impl FnMut(&dyn Columns) -> Result<T>,
    ) -> Result<Option<T>> {
        Ok(self.read_rows(sql, args, decode).await?.into_iter().next())
    }
}
