//! The conventions every query shares: how values cross `sqlx::Any` (times as Unix
//! microseconds, ids as text), numbered placeholders for lists and multi-row INSERTs, the
//! transaction type and how a writing one begins, and how a unique violation is recognised on either database.

use std::str::FromStr;

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use time::OffsetDateTime;
use uuid::Uuid;

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
