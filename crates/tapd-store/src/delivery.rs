//! Delivering a pass (SPEC §12): one-time links to a pass sealed under a key only the link
//! holds, and Graph's `manager` relationship, which says whom "email to the manager" mails.
//!
//! A link row is written with its pass (`Store::replace_tap_with_link`) and goes when the
//! pass is replaced or deleted; opening it deletes it in one statement, so that of any number
//! of concurrent opens, on any replica, exactly one wins.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::directory::{USER_COLUMNS, UserRecord};
use crate::passes::qualified;
use crate::sql::{Writer, from_micros, micros, uuid_of};
use crate::{Result, Store};

/// A one-time link as stored: the pass sealed (nonce, ciphertext and tag) under the link's
/// key, which is not here.
#[derive(Clone, Debug)]
pub struct PassLink {
    pub id: String,
    pub user_id: Uuid,
    pub tap_id: Uuid,
    pub sealed: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A link found by its id, still unexpired and still of its user's current pass.
pub struct OpenedLink {
    pub link: PassLink,
    pub user: UserRecord,
}

const LINK_COLUMNS: &str = "id, user_id, tap_id, sealed, created_at, expires_at";

/// Decodes the `LINK_COLUMNS` at the start of a row.
fn link_from_row(r: &AnyRow) -> Result<PassLink> {
    Ok(PassLink {
        id: r.try_get(0)?,
        user_id: uuid_of(&r.try_get::<String, _>(1)?)?,
        tap_id: uuid_of(&r.try_get::<String, _>(2)?)?,
        sealed: r.try_get(3)?,
        created_at: from_micros(r.try_get(4)?)?,
        expires_at: from_micros(r.try_get(5)?)?,
    })
}

pub(crate) async fn insert_link(tx: &mut impl Writer, link: &PassLink) -> Result<()> {
    let sql = "INSERT INTO pass_links (id, user_id, tap_id, sealed, created_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    let args = vec![
        link.id.as_str().into(),
        link.user_id.to_string().into(),
        link.tap_id.to_string().into(),
        link.sealed.clone().into(),
        micros(link.created_at).into(),
        micros(link.expires_at).into(),
    ];
    tx.execute(sql, args).await?;
    Ok(())
}

impl Store {
    /// The link `id` if it is unexpired at `now` and its pass is still the user's pass.
    pub async fn pass_link(&self, id: &str, now: OffsetDateTime) -> Result<Option<OpenedLink>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {}, {} \
             FROM pass_links l JOIN taps t ON t.id = l.tap_id AND t.user_id = l.user_id \
             JOIN users u ON u.id = l.user_id WHERE l.id = $1 AND l.expires_at > $2",
            qualified("l", LINK_COLUMNS),
            qualified("u", USER_COLUMNS)
        )))
        .bind(id)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let link = link_from_row(&r)?;
        let user = UserRecord::from_row_at(&r, 6)?;
        Ok(Some(OpenedLink { link, user }))
    }

    /// Deletes the link `id`, with its audit record; `false` (and nothing written) when another
    /// open deleted it first.
    pub async fn burn_pass_link(&self, id: &str, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM pass_links WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// The link of the user's pass, if any (its id only: what tests and pages need to know).
    pub async fn pass_link_of(&self, user: Uuid) -> Result<Option<PassLink>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LINK_COLUMNS} FROM pass_links WHERE user_id = $1"
        )))
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        link_from_row(&r).map(Some)
    }

    /// Makes `manager` the manager of `user` (replacing any earlier one), with its audit record.
    pub async fn set_manager(&self, user: Uuid, manager: Uuid, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "INSERT INTO user_managers (user_id, manager_id) \
             SELECT u.id, m.id FROM users u, users m WHERE u.id = $1 AND m.id = $2 \
             ON CONFLICT (user_id) DO UPDATE SET manager_id = excluded.manager_id",
        )
        .bind(user.to_string())
        .bind(manager.to_string())
        .execute(&mut *tx)
        .await?;
        // Either user deleted meanwhile: nothing to link, and nothing recorded.
        finish(tx, res.rows_affected() == 1, audit).await?;
        Ok(())
    }

    /// The user's manager, if they have one.
    pub async fn manager_of(&self, user: Uuid) -> Result<Option<UserRecord>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM user_managers r JOIN users u ON u.id = r.manager_id \
             WHERE r.user_id = $1",
            qualified("u", USER_COLUMNS)
        )))
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(UserRecord::from_row).transpose()
    }

    /// Removes the user's manager; `false` when they had none.
    pub async fn remove_manager(&self, user: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM user_managers WHERE user_id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }
}
