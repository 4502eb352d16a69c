//! Bulk paths for benchmarks and imports: seeding many users at once, and how large the
//! database has grown. Seeding writes users only — no audit record, no role, no pass — so a
//! directory of a million users takes seconds, not the hours a million Graph calls would.

use sqlx::{AssertSqlSafe, Row};

use crate::sql::{micros, rows_of};
use crate::{Dialect, Result, Store, StoreError, UserRecord};

/// The users table's columns, as the seeding INSERT binds them (`upn_lower` derived).
const SEED_COLUMNS: &str = "id, upn, upn_lower, display_name, given_name, surname, mail, \
    account_enabled, user_type, is_external, creation_type, external_user_state, \
    password_hash, password_set_at, created_at";
const COLUMN_COUNT: usize = 15;

/// Rows per INSERT statement. PostgreSQL: as many as its limit on bound values allows (65,535,
/// the wire protocol's u16 count). SQLite allows 32,766, but it finds a `$n` by a linear walk of
/// the statement's parameter list, when it prepares the statement and when sqlx binds it: a
/// statement of P values costs O(P²), and 2,184 rows of 15 (32,760 values) seeded a million
/// users in over a quarter of an hour. Under 1,000 values (the old SQLite limit) that cost is
/// small beside the inserts themselves.
fn rows_per_insert(dialect: Dialect) -> usize {
    let max_binds = match dialect {
        Dialect::Sqlite => 999,
        Dialect::Postgres => 65_535,
    };
    max_binds / COLUMN_COUNT
}

impl Store {
    /// Inserts `users` in one transaction, as multi-row INSERTs. A UPN already taken fails the
    /// whole call and nothing of it is kept. Callers seeding millions call this in slices of
    /// some tens of thousands, so that neither memory nor SQLite's write lock is held long.
    pub async fn seed_users(&self, users: &[UserRecord]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for chunk in users.chunks(rows_per_insert(self.dialect)) {
            let sql = format!(
                "INSERT INTO users ({SEED_COLUMNS}) VALUES {}",
                rows_of(chunk.len(), COLUMN_COUNT)
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for u in chunk {
                query = query
                    .bind(u.id.to_string())
                    .bind(u.upn.clone())
                    .bind(u.upn.to_lowercase())
                    .bind(u.display_name.clone())
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
                    .bind(micros(u.created_at));
            }
            query.execute(&mut *tx).await.map_err(|e| {
                if crate::sql::is_unique_violation(&e) {
                    StoreError::Conflict(format!("seeding users: a UPN or id is taken ({e})"))
                } else {
                    e.into()
                }
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The database's size in bytes as the database itself counts it: SQLite's pages in use
    /// (the main file once the WAL is checkpointed), PostgreSQL's `pg_database_size`.
    pub async fn database_bytes(&self) -> Result<i64> {
        let sql = match self.dialect {
            Dialect::Sqlite => {
                "SELECT p.page_count * s.page_size FROM pragma_page_count() AS p, \
                 pragma_page_size() AS s"
            }
            Dialect::Postgres => "SELECT pg_database_size(current_database())",
        };
        Ok(sqlx::query(sql).fetch_one(&self.pool).await?.try_get(0)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_insert_stays_within_each_databases_bind_limit() {
        for (dialect, limit) in [(Dialect::Sqlite, 999), (Dialect::Postgres, 65_535)] {
            let binds = rows_per_insert(dialect) * COLUMN_COUNT;
            assert!(binds <= limit && binds + COLUMN_COUNT > limit);
        }
        assert_eq!(SEED_COLUMNS.split(',').count(), COLUMN_COUNT);
    }
}
