//! Bulk paths for benchmarks and imports: seeding many users at once, and how large the
//! database has grown. Seeding writes users only — no audit record, no role, no pass — so a
//! directory of a million users takes seconds, not the hours a million Graph calls would.

use sqlx::Row;

use crate::directory::{INSERT_USER_VALUES, insert_users};
use crate::{Dialect, Result, Store, StoreError, UserRecord};

/// Users per INSERT statement: as many as SQLite's 32,766 values in a statement hold
/// (PostgreSQL allows 65,535).
const ROWS_PER_INSERT: usize = 32_766 / INSERT_USER_VALUES;

impl Store {
    /// Inserts `users` in one transaction, as multi-row INSERTs. A UPN already taken fails the
    /// whole call and nothing of it is kept. Callers seeding millions call this in slices of
    /// some tens of thousands, so that neither memory nor SQLite's write lock is held long.
    pub async fn seed_users(&self, users: &[UserRecord]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for chunk in users.chunks(ROWS_PER_INSERT) {
            let rows: Vec<&UserRecord> = chunk.iter().collect();
            if insert_users(&mut tx, &rows).await?.len() < rows.len() {
                return Err(StoreError::Conflict(
                    "seeding users: a user principal name is taken".into(),
                ));
            }
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
