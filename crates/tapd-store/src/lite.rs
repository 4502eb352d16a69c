//! SQLite's batch writer through rusqlite: its connection, its transaction, and the
//! [`Writer`] that runs the batch's statements on it, on the writer's own thread.
//!
//! The batch's code is async because it is written once for both drivers ([`Writer`]); on
//! this connection every statement completes when it is called, so the writer runs a batch by
//! polling it once ([`at_once`]) instead of through a runtime.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::read::Columns;
use crate::sql::{Value, Writer};
use crate::{Dialect, Result, StoreError};

/// The writer's own settings: durable commits (`synchronous=FULL` in WAL mode: nothing is
/// acknowledged before its commit is on disk), foreign keys enforced as on every connection,
/// statement journals in memory, and a page cache that no other connection's commit empties,
/// since this one writes the hot tables alone. The checkpoints are the checkpointer's
/// ([`start_checkpointer`]); the writer checkpoints itself only if the log grows ten times
/// past SQLite's usual mark (the checkpointer stopped, say).
const WRITER_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                              PRAGMA foreign_keys=ON; PRAGMA mmap_size=0; \
                              PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY; \
                              PRAGMA wal_autocheckpoint=10000;";

/// How often the checkpointer copies what the log holds into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Opens the batch writer's connection to the database file at `path`.
pub(crate) fn open_writer(path: &str) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // Other connections (the pool's) write too, rarely: the writer waits for their lock.
    conn.busy_timeout(Duration::from_secs(10))?;
    // A batch's multi-row statements differ by their number of rows: room for many.
    conn.set_prepared_statement_cache_capacity(512);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.execute_batch(WRITER_PRAGMAS)?;
    Ok(conn)
}

/// Starts the checkpointer: a thread with its own connection that copies committed pages
/// from the write-ahead log into the database file every [`CHECKPOINT_EVERY`] (a passive
/// checkpoint, which waits for no one). A commit then never pays for a checkpoint, which
/// SQLite otherwise runs inside the commit that crosses the mark — the slowest commits by far.
/// It stops when the returned sender is dropped.
pub(crate) fn start_checkpointer(path: &str) -> Result<std::sync::mpsc::Sender<()>> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA mmap_size=0; PRAGMA cache_size=-1024;")?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("tapd-sqlite-checkpoint".into())
        .spawn(move || {
            use std::sync::mpsc::RecvTimeoutError;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpoint failed; trying again");
                }
            }
        })
        .map_err(|e| StoreError::Corrupt(format!("cannot start the checkpointer: {e}")))?;
    Ok(stop)
}

/// A write transaction of the writer's connection (`BEGIN IMMEDIATE`: it takes the write
/// lock at once). Rolled back when dropped without [`Transaction::commit`].
pub(crate) struct Transaction<'c> {
    conn: &'c mut Connection,
    open: bool,
}

impl<'c> Transaction<'c> {
    pub(crate) fn begin(conn: &'c mut Connection) -> Result<Transaction<'c>> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Transaction { conn, open: true })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // A failed statement may have ended the transaction already; nothing to undo then.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// Prepares (or takes from the cache) `sql` and binds `args` to it: `$n` to the `n`th value,
/// a bare `?` to the value in its place.
fn prepared<'c>(
    conn: &'c Connection,
    sql: &str,
    args: &[Value],
) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(sql)?;
    for index in 1..=stmt.parameter_count() {
        let at = match stmt.parameter_name(index) {
            Some(name) => match name.strip_prefix('$').map(str::parse::<usize>) {
                Some(Ok(n)) if n >= 1 => n - 1,
                _ => return Err(StoreError::Corrupt(format!("parameter {name} in {sql}"))),
            },
            None => index - 1,
        };
        let Some(value) = args.get(at) else {
            return Err(StoreError::Corrupt(format!(
                "no value {} for {sql}",
                at + 1
            )));
        };
        match value {
            Value::Int(Some(v)) => stmt.raw_bind_parameter(index, v)?,
            Value::Text(Some(v)) => stmt.raw_bind_parameter(index, v.as_str())?,
            Value::Blob(Some(v)) => stmt.raw_bind_parameter(index, v.as_slice())?,
            Value::Int(None) | Value::Text(None) | Value::Blob(None) => {
                stmt.raw_bind_parameter(index, rusqlite::types::Null)?
            }
        }
    }
    Ok(stmt)
}

impl Writer for Transaction<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> Result<u64> {
        let mut stmt = prepared(self.conn, sql, &args)?;
        Ok(stmt.raw_execute()? as u64)
    }

    async fn fetch<T>(
        &mut self,
        sql: &str,
        args: Vec<Value>,
        mut decode: impl FnMut(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = prepared(self.conn, sql, &args)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

/// Runs `work` to its end by polling it once: the writer's futures never wait. One that
/// would is an error, not a hang.
pub(crate) fn at_once<T>(work: impl Future<Output = T>) -> Result<T> {
    let mut work = pin!(work);
    match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => Err(StoreError::Corrupt(
            "a write on SQLite's writer waited".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> Connection {
        let dir = std::env::temp_dir().join(format!("tapd_lite_{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("t.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE t (a BIGINT, b TEXT, c BLOB)")
            .expect("table");
        drop(conn);
        open_writer(path.to_str().expect("path")).expect("open")
    }

    /// `$n` binds the nth value wherever it appears, `?` the value in its place; NULLs of any
    /// type, and a rollback when the transaction is dropped uncommitted.
    #[test]
    fn statements_bind_by_number_or_place_and_roll_back_when_dropped() {
        let mut conn = scratch();
        let mut tx = Transaction::begin(&mut conn).expect("begin");
        let args = vec![Value::from("x"), Value::from(7), Value::Blob(None)];
        let n = at_once(tx.execute("INSERT INTO t (b, a, c) VALUES ($1, $2, $3)", args))
            .expect("ran")
            .expect("insert");
        assert_eq!(n, 1);
        let args = vec![Value::from(8), Value::Text(None), Value::from(vec![1, 2])];
        at_once(tx.execute("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", args))
            .expect("ran")
            .expect("insert");
        let read = at_once(tx.fetch(
            "SELECT a, b, c FROM t WHERE a >= $2 AND a <= $1 ORDER BY a",
            vec![Value::from(8), Value::from(7)],
            |r| Ok((r.int(0)?, r.opt_text(1)?, r.opt_blob(2)?)),
        ))
        .expect("ran")
        .expect("select");
        assert_eq!(
            read,
            [(7, Some("x".into()), None), (8, None, Some(vec![1, 2]))]
        );
        let missing = at_once(tx.execute("INSERT INTO t (a) VALUES ($2)", vec![1.into()]));
        assert!(matches!(missing, Ok(Err(StoreError::Corrupt(_)))));
        drop(tx);
        let count: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 0, "dropped without a commit");
    }

    #[test]
    fn work_that_would_wait_is_an_error_not_a_hang() {
        assert!(at_once(std::future::pending::<()>()).is_err());
        assert_eq!(at_once(async { 5 }).expect("ready"), 5);
    }
}
