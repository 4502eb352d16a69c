//! Groups and their members. Memberships matter beyond the directory: a TAP policy may name
//! groups, and a user's groups then decide whether they may sign in with a pass.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::directory::{USER_COLUMNS, UserRecord};
use crate::sql::{from_micros, is_unique_violation, micros, uuid_of};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug)]
pub struct GroupRecord {
    pub id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}

impl GroupRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<GroupRecord> {
        Ok(GroupRecord {
            id: uuid_of(&r.try_get::<String, _>(0)?)?,
            display_name: r.try_get(1)?,
            description: r.try_get(2)?,
            created_at: from_micros(r.try_get(3)?)?,
        })
    }
}

impl Store {
    pub async fn create_group(&self, group: &GroupRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO groups (id, display_name, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(group.id.to_string())
        .bind(&group.display_name)
        .bind(group.description.clone())
        .bind(micros(group.created_at))
        .execute(&mut *tx)
        .await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    pub async fn group(&self, id: Uuid) -> Result<Option<GroupRecord>> {
        let row = sqlx::query(
            "SELECT id, display_name, description, created_at FROM groups WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(GroupRecord::from_row).transpose()
    }

    pub async fn list_groups(&self) -> Result<Vec<GroupRecord>> {
        let rows = sqlx::query(
            "SELECT id, display_name, description, created_at FROM groups ORDER BY display_name, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(GroupRecord::from_row).collect()
    }

    pub async fn delete_group(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query("DELETE FROM groups WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Adds a member; a second add of the same member is a conflict, as in Graph.
    pub async fn add_member(&self, group: Uuid, user: Uuid, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
                "One or more added object references already exist for the following modified properties: 'members'.".into(),
            )),
            Err(e) => Err(e.into()),
            Ok(_) => finish(tx, true, audit).await.map(|_| ()),
        }
    }

    /// Removes a member; false (nothing written) when the user was not one.
    pub async fn remove_member(
        &self,
        group: Uuid,
        user: Uuid,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn group_members(&self, group: Uuid) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN \
             (SELECT user_id FROM group_members WHERE group_id = $1) ORDER BY upn_lower"
        )))
        .bind(group.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(UserRecord::from_row).collect()
    }

    pub async fn groups_of(&self, user: Uuid) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>(0)?))
            .collect()
    }
}
