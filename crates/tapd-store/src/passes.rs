//! Temporary Access Passes: each user's pass with its salted code hash, and the reads a sign-in makes to decide whether a pass is usable.
//! What a sign-in then writes goes through `batch`.

use std::sync::LazyLock;

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tapd_core::{TapPass, TapPolicy};
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, finish, insert_audit};
use crate::delivery::{PassLink, insert_link};
use crate::directory::{USER_COLUMNS, UserRecord};
use crate::policy::{TAP_POLICY_ID, policy_from};
use crate::sql::{from_micros, micros, uuid_of};
use crate::{Result, Store};

/// A pass's keyed hash and its salt; the code itself is never stored.
#[derive(Clone, Debug)]
pub struct StoredSecret {
    pub salt: Vec<u8>,
    pub hash: Vec<u8>,
}

/// What a TAP sign-in reads.
pub struct SignInView {
    pub user: UserRecord,
    pub tap: Option<(TapPass, StoredSecret)>,
    pub policy: TapPolicy,
}

const TAP_COLUMNS: &str = "id, user_id, created_at, start_at, lifetime_minutes, is_usable_once, \
                           used_at, failed_attempts, salt, code_hash";

/// The sign-in read: the user by `upn_lower = $1`, their pass if any, and the policy body
/// (`$2` is the policy id). Built once; every TAP sign-in runs it.
static SIGN_IN_VIEW_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {}, (SELECT body FROM policies WHERE id = $2) \
         FROM (SELECT 1 AS one) k LEFT JOIN users u ON u.upn_lower = $1 \
         LEFT JOIN taps t ON t.user_id = u.id",
        qualified("u", USER_COLUMNS),
        qualified("t", TAP_COLUMNS)
    )
});

/// `a, b` as `t.a, t.b`.
pub(crate) fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Stores a new pass for its user, replacing any pass the user had (its row takes the new
    /// pass's id, so the old one is gone), with its audit record, in one transaction. One
    /// statement does the replacing: two issuances for the same user at once are applied one
    /// after the other (the later wins) rather than one failing on the user's unique pass.
    pub async fn replace_tap(
        &self,
        pass: &TapPass,
        secret: &StoredSecret,
        audit: &AuditRecord,
    ) -> Result<()> {
        self.replace_tap_with_link(pass, secret, None, audit).await
    }

    /// [`Store::replace_tap`], and the pass's one-time link if it has one: the user's earlier
    /// link goes with their earlier pass, in the same transaction.
    pub async fn replace_tap_with_link(
        &self,
        pass: &TapPass,
        secret: &StoredSecret,
        link: Option<&PassLink>,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM pass_links WHERE user_id = $1")
            .bind(pass.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO taps (id, user_id, created_at, start_at, lifetime_minutes, is_usable_once, \
             used_at, failed_attempts, salt, code_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, created_at = excluded.created_at, \
             start_at = excluded.start_at, lifetime_minutes = excluded.lifetime_minutes, \
             is_usable_once = excluded.is_usable_once, used_at = excluded.used_at, \
             failed_attempts = excluded.failed_attempts, salt = excluded.salt, \
             code_hash = excluded.code_hash",
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
        if let Some(link) = link {
            insert_link(&mut tx, link).await?;
        }
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
    /// sign-in path's read. The query answers a row (with the policy) for an unknown name too,
    /// and the policy is decoded either way, so that the time taken tells nothing.
    pub async fn user_with_tap(&self, upn: &str) -> Result<Option<SignInView>> {
        let row = sqlx::query(SIGN_IN_VIEW_SQL.as_str())
            .bind(upn.to_lowercase())
            .bind(TAP_POLICY_ID)
            .fetch_one(&self.pool)
            .await?;
        let offset = USER_COLUMNS.split(',').count();
        let policy = policy_from(row.try_get(offset + TAP_COLUMNS.split(',').count())?)?;
        if row.try_get::<Option<String>, _>(0)?.is_none() {
            return Ok(None);
        }
        let user = UserRecord::from_row(&row)?;
        let tap = match row.try_get::<Option<String>, _>(offset)? {
            Some(_) => Some(tap_from_row_at(&row, offset)?),
            None => None,
        };
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
        row.as_ref().map(|r| tap_from_row_at(r, 0)).transpose()
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
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM taps WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        for table in ["refresh_tokens", "web_sessions", "auth_codes", "pass_links"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE tap_id = $1"
            )))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        finish(tx, res.rows_affected() == 1, audit).await
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_qualified_one_by_one_whatever_the_line_breaks() {
        assert_eq!(
            qualified("t", "id, user_id, \n    salt"),
            "t.id, t.user_id, t.salt"
        );
    }
}
