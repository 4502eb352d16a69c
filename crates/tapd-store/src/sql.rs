//! The conventions every query shares: how values cross `sqlx::Any` (times as Unix
//! microseconds, ids as text), numbered placeholders for lists and multi-row INSERTs, the
//! transaction type and how a writing one begins, and how a unique violation is recognised on either database.

use std::str::FromStr;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Executor};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::read::Columns;
use crate::{Dialect, Result, StoreError};

pub(crate) type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Begins a transaction that writes. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`): a deferred transaction that reads first can't become a writer once
/// another connection has committed meanwhile — SQLite answers "database is locked" at once,
/// which no busy timeout waits out. Writers then queue on the lock instead. PostgreSQL's
/// row locks need nothing of the kind.
pub(crate) async fn begin_write(pool: &sqlx::AnyPool, dialect: Dialect) -> Result<Tx<'static>> {
    Ok(match dialect {
        Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Dialect::Postgres => pool.begin().await?,
    })
}

/// A value bound to a statement a [`Writer`] runs. A NULL keeps its column's type, which
/// PostgreSQL checks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Blob(Option<Vec<u8>>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Value {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Value {
        Value::Text(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(Some(v))
    }
}

/// Where the writes of the hot paths run: a sqlx transaction (PostgreSQL, and any writer of
/// SQLite's pool) or the SQLite batch writer's own connection (`lite`). Their statements are
/// written once against this. Each statement binds every value in order (`$n` on PostgreSQL,
/// `?` or `$n` on SQLite).
pub(crate) trait Writer {
    fn dialect(&self) -> Dialect;
    /// Runs `sql`; answers how many rows it changed.
    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> Result<u64>;
    /// Runs `sql` and decodes every row it answers.
    async fn fetch<T>(
        &mut self,
        sql: &str,
        args: Vec<Value>,
        decode: impl FnMut(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>>;
}

fn bound(sql: &str, args: Vec<Value>) -> AnyQuery<'static> {
    let mut query = sqlx::query(AssertSqlSafe(sql.to_string()));
    for arg in args {
        query = match arg {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
        };
    }
    query
}

impl Writer for Tx<'_> {
    fn dialect(&self) -> Dialect {
        dialect_of(self)
    }

    async fn execute(&mut self, sql: &str, args: Vec<Value>) -> Result<u64> {
        let conn: &mut sqlx::AnyConnection = self;
        Ok(conn.execute(bound(sql, args)).await?.rows_affected())
    }

    async fn fetch<T>(
        &mut self,
        sql: &str,
        args: Vec<Value>,
        mut decode: impl FnMut(&dyn Columns) -> Result<T>,
    ) -> Result<Vec<T>> {
        let conn: &mut sqlx::AnyConnection = self;
        let rows = conn.fetch_all(bound(sql, args)).await?;
        rows.iter().map(|r| decode(r)).collect()
    }
}

pub(crate) type AnyQuery<'q> = Query<'q, sqlx::Any, AnyArguments>;

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

pub(crate) fn opt_uuid(s: Option<String>) -> Result<Option<Uuid>> {
    s.map(|s| uuid_of(&s)).transpose()
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.is_unique_violation() || db.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

/// How many columns a comma-separated column list names, at compile time.
pub(crate) const fn column_count(list: &str) -> usize {
    let bytes = list.as_bytes();
    let (mut i, mut count) = (0, 1);
    while i < bytes.len() {
        if bytes[i] == b',' {
            count += 1;
        }
        i += 1;
    }
    count
}

/// The dialect a transaction speaks.
pub(crate) fn dialect_of(tx: &Tx<'_>) -> Dialect {
    match tx.backend_name() {
        "PostgreSQL" => Dialect::Postgres,
        _ => Dialect::Sqlite,
    }
}

/// The placeholder of the `n`th value (from 1) of a statement whose every value is bound in
/// order: `$n` on PostgreSQL, a bare `?` on SQLite. SQLite looks a named parameter up by a
/// walk of the statement's list of names, when it prepares the statement and each time sqlx
/// binds one, so a multi-row statement of P named values costs O(P²); bare `?`s have no names.
pub(crate) fn param(dialect: Dialect, n: usize) -> String {
    match dialect {
        Dialect::Sqlite => "?".to_string(),
        Dialect::Postgres => format!("${n}"),
    }
}

/// The placeholders of values `first`, `first+1`, … (`count` of them), comma-separated; the
/// statement binds every value in order (see [`param`]).
pub(crate) fn placeholders(dialect: Dialect, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| param(dialect, i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(…), (…), …` for a multi-row INSERT of `rows` rows of `columns` values.
pub(crate) fn rows_of(dialect: Dialect, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|i| format!("({})", placeholders(dialect, i * columns + 1, columns)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_every_value_once() {
        assert_eq!(placeholders(Dialect::Postgres, 3, 2), "$3, $4");
        assert_eq!(
            rows_of(Dialect::Postgres, 2, 3),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(rows_of(Dialect::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(rows_of(Dialect::Postgres, 0, 3), "");
        assert_eq!(column_count("a, b,\n c"), 3);
    }
}
