//! Temporary Access Passes: each user's pass with its salted code hash, and the reads a sign-in makes to decide whether a pass is usable.
//! What a sign-in then writes goes through `batch`.

use std::sync::LazyLock;

use sqlx::AssertSqlSafe;
use tapd_core::{TapPass, TapPolicy};
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::directory::{USER_COLUMNS, UserRecord, user_key};
use crate::policy::{TAP_POLICY_ID, policy_from};
use crate::read::{Arg, Columns};
use crate::sql::{Writer, column_count, from_micros, micros, rows_of, uuid_of};
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

/// The sign-in read: the user by `upn_lower = $1`, their pass if any, and their tenant's policy
/// body (`$2` is the policy id). Built once; every TAP sign-in runs it.
static SIGN_IN_VIEW_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {}, (SELECT body FROM policies p WHERE p.tenant_id = u.tenant_id AND p.id = $2) \
         FROM (SELECT 1 AS one) k LEFT JOIN users u ON u.upn_lower = $1 \
         LEFT JOIN taps t ON t.user_id = u.id",
        qualified("u", USER_COLUMNS),
        qualified("t", TAP_COLUMNS)
    )
});

/// A user whose methods are being managed: the user, whether they hold any directory role (an
/// administrator's methods take a higher role), and their tenant's TAP policy.
pub struct ManagedUser {
    pub user: UserRecord,
    pub holds_role: bool,
    pub policy: TapPolicy,
}

/// What managing a user's methods reads, in one statement: the user whose column `key` (`id`, or
/// `upn_lower` for a lowercased user principal name) is `$1`, and the policy whose id is `$2`.
fn managed_user_sql(key: &str) -> String {
    format!(
        "SELECT {USER_COLUMNS}, \
         CAST(CASE WHEN EXISTS (SELECT 1 FROM role_assignments r WHERE r.principal_id = users.id) \
         THEN 1 ELSE 0 END AS BIGINT), \
         (SELECT body FROM policies p WHERE p.tenant_id = users.tenant_id AND p.id = $2) \
         FROM users WHERE {key} = $1"
    )
}

/// `a, b` as `t.a, t.b`.
pub(crate) fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
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

    /// A user found by UPN (in any tenant: a UPN's domain names its tenant) together with their
    /// pass and their tenant's TAP policy, in one query: the
    /// sign-in path's read. The query answers a row (with the policy) for an unknown name too,
    /// and the policy is decoded either way, so that the time taken tells nothing.
    pub async fn user_with_tap(&self, upn: &str) -> Result<Option<SignInView>> {
        let upn = upn.to_lowercase();
        let args = [Arg::Text(&upn), Arg::Text(TAP_POLICY_ID)];
        let view = self.read_row(&SIGN_IN_VIEW_SQL, &args, |row| {
            let offset = column_count(USER_COLUMNS);
            let policy = policy_from(row.opt_text(offset + column_count(TAP_COLUMNS))?)?;
            if row.opt_text(0)?.is_none() {
                return Ok(None);
            }
            let user = UserRecord::from_row(row)?;
            let tap = match row.opt_text(offset)? {
                Some(_) => Some(tap_from_row_at(row, offset)?),
                None => None,
            };
            Ok(Some(SignInView { user, tap, policy }))
        });
        Ok(view.await?.flatten())
    }

    /// A user of `tenant` found by id or (case-insensitively) by user principal name, with
    /// whether they hold a role and the tenant's policy: one read where managing a pass made
    /// three. Another tenant's user is none.
    pub async fn managed_user(&self, tenant: Uuid, id_or_upn: &str) -> Result<Option<ManagedUser>> {
        static BY_ID: LazyLock<String> = LazyLock::new(|| managed_user_sql("id"));
        static BY_UPN: LazyLock<String> = LazyLock::new(|| managed_user_sql("upn_lower"));
        let (by_id, key) = user_key(id_or_upn);
        let sql = if by_id { &BY_ID } else { &BY_UPN };
        let args = [Arg::Text(&key), Arg::Text(TAP_POLICY_ID)];
        let found = self.read_row(sql, &args, |r| {
            let at = column_count(USER_COLUMNS);
            Ok(ManagedUser {
                user: UserRecord::from_row(r)?,
                holds_role: r.int(at)? != 0,
                policy: policy_from(r.opt_text(at + 1)?)?,
            })
        });
        Ok(found.await?.filter(|m| m.user.tenant == tenant))
    }

    /// The user's pass (with its stored hash), if any.
    pub async fn tap_of(&self, user: Uuid) -> Result<Option<(TapPass, StoredSecret)>> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| format!("SELECT {TAP_COLUMNS} FROM taps WHERE user_id = $1"));
        let user = user.to_string();
        self.read_row(&SQL, &[Arg::Text(&user)], |r| tap_from_row_at(r, 0))
            .await
    }

    pub async fn tap_exists(&self, id: Uuid) -> Result<bool> {
        let id = id.to_string();
        let args = [Arg::Text(&id)];
        let found = self.read_row("SELECT 1 FROM taps WHERE id = $1", &args, |_| Ok(()));
        Ok(found.await?.is_some())
    }

    /// Deletes the user's pass with this id; ends the sessions it opened.
    pub async fn delete_tap(&self, user: Uuid, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM taps WHERE id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        // By the user and the pass: the sessions' index is on both.
        for table in ["refresh_tokens", "web_sessions", "auth_codes", "pass_links"] {
            sqlx::query(AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE user_id = $2 AND tap_id = $1"
            )))
            .bind(id.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        }
        finish(tx, res.rows_affected() == 1, audit).await
    }
}

/// Writes each pass as its user's pass with one statement, replacing the pass the user had:
/// its row takes the new pass's id, so the old one is gone. At most one pass per user.
pub(crate) async fn upsert_taps(
    tx: &mut impl Writer,
    passes: &[(&TapPass, &StoredSecret)],
) -> Result<()> {
    if passes.is_empty() {
        return Ok(());
    }
    let columns = column_count(TAP_COLUMNS);
    let sql = format!(
        "INSERT INTO taps ({TAP_COLUMNS}) VALUES {} \
         ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, created_at = excluded.created_at, \
         start_at = excluded.start_at, lifetime_minutes = excluded.lifetime_minutes, \
         is_usable_once = excluded.is_usable_once, used_at = excluded.used_at, \
         failed_attempts = excluded.failed_attempts, salt = excluded.salt, \
         code_hash = excluded.code_hash",
        rows_of(tx.dialect(), passes.len(), columns)
    );
    let mut args = Vec::with_capacity(passes.len() * columns);
    for (pass, secret) in passes {
        args.extend([
            pass.id.to_string().into(),
            pass.user_id.to_string().into(),
            micros(pass.created_at).into(),
            micros(pass.start).into(),
            (pass.lifetime_minutes as i64).into(),
            (pass.is_usable_once as i64).into(),
            pass.used_at.map(micros).into(),
            (pass.failed_attempts as i64).into(),
            secret.salt.clone().into(),
            secret.hash.clone().into(),
        ]);
    }
    tx.execute(&sql, args).await?;
    Ok(())
}

/// Decodes the `TAP_COLUMNS` that start at column `at`.
fn tap_from_row_at(r: &dyn Columns, at: usize) -> Result<(TapPass, StoredSecret)> {
    let pass = TapPass {
        id: uuid_of(&r.text(at)?)?,
        user_id: uuid_of(&r.text(at + 1)?)?,
        created_at: from_micros(r.int(at + 2)?)?,
        start: from_micros(r.int(at + 3)?)?,
        lifetime_minutes: r.int(at + 4)? as u32,
        is_usable_once: r.int(at + 5)? != 0,
        used_at: r.opt_int(at + 6)?.map(from_micros).transpose()?,
        failed_attempts: r.int(at + 7)? as u32,
    };
    let secret = StoredSecret {
        salt: r.blob(at + 8)?,
        hash: r.blob(at + 9)?,
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
