//! Chores over the whole database rather than one aggregate: removing what has expired, the
//! online backup of a SQLite database and the schema version it records, and the dump of every
//! stored text that tests search to prove no secret is kept in the clear.

use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;

use crate::directory::USER_COLUMNS;
use crate::sql::micros;
use crate::{Dialect, Result, Store, StoreError};

impl Store {
    /// Removes what has expired or been used: codes, refresh tokens, sessions, passkey ceremonies, device codes.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM web_sessions WHERE expires_at < $1",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
            "DELETE FROM pass_links WHERE expires_at < $1",
            "DELETE FROM device_codes WHERE expires_at < $1",
        ] {
            removed += sqlx::query(sql)
                .bind(micros(now))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }

    /// Writes a consistent copy of a SQLite database to `target` (which must not exist) while
    /// the server keeps running: `VACUUM INTO` reads in one transaction, so the copy holds
    /// every commit made before it started and none made after. Not for PostgreSQL (pg_dump).
    pub async fn backup_sqlite_into(&self, target: &std::path::Path) -> Result<()> {
        if self.dialect != Dialect::Sqlite {
            return Err(StoreError::Conflict(
                "an online copy is for SQLite; back PostgreSQL up with pg_dump".into(),
            ));
        }
        let target = target.to_str().ok_or_else(|| {
            StoreError::Conflict(format!(
                "the backup path {} is not valid UTF-8",
                target.display()
            ))
        })?;
        // A string literal: VACUUM INTO takes no bound parameter for its file name.
        let literal = format!("'{}'", target.replace('\'', "''"));
        sqlx::query(AssertSqlSafe(format!("VACUUM INTO {literal}")))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest migration applied: the schema version a backup records.
    pub async fn schema_version(&self) -> Result<i64> {
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(0))
    }

    /// Every text column of every table, for tests that prove a secret is never stored.
    pub async fn dump_text(&self) -> Result<String> {
        let mut out = String::new();
        for (table, cols) in [
            ("users", USER_COLUMNS),
            ("taps", "id, user_id"),
            ("pass_links", "id, user_id, tap_id"),
            ("refresh_tokens", "token_hash, user_id, amr"),
            ("apps", "id, client_id, display_name, permissions"),
            ("app_secrets", "key_id, hint, secret_hash"),
            ("auth_codes", "code_hash, nonce, code_challenge"),
            ("web_sessions", "token_hash"),
            ("device_codes", "device_code_hash, user_code_hash, scope"),
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
