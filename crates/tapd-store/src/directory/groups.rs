//! Groups and their members. Memberships matter beyond the directory: a TAP policy may name
//! groups, and a user's groups then decide whether they may sign in with a pass.

use sqlx::Row;
use sqlx::any::AnyRow;
use tapd_core::odata::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::directory::UserRecord;
use crate::directory::users::user_listing;
use crate::query::{Column, Listing, TENANT_COLUMN};
use crate::read::Arg;
use crate::sql::{from_micros, is_unique_violation, micros, uuid_of};
use crate::{Page, Result, Store, StoreError};

#[derive(Clone, Debug)]
pub struct GroupRecord {
    pub id: Uuid,
    /// The tenant the group belongs to.
    pub tenant: Uuid,
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
            tenant: uuid_of(&r.try_get::<String, _>(4)?)?,
        })
    }
}

impl Store {
    pub async fn create_group(&self, group: &GroupRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO groups (id, display_name, description, created_at, tenant_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(group.id.to_string())
        .bind(&group.display_name)
        .bind(group.description.clone())
        .bind(micros(group.created_at))
        .bind(group.tenant.to_string())
        .execute(&mut *tx)
        .await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    /// A group of `tenant`; another tenant's is none.
    pub async fn group(&self, tenant: Uuid, id: Uuid) -> Result<Option<GroupRecord>> {
        let row = sqlx::query(
            "SELECT id, display_name, description, created_at, tenant_id FROM groups \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(GroupRecord::from_row).transpose()
    }

    /// A page of groups under Graph's query options, by name unless `$orderby` says otherwise.
    pub async fn list_groups(&self, tenant: Uuid, q: &Query) -> Result<Page<GroupRecord>> {
        let listing = Listing {
            select: "id, display_name, description, created_at, tenant_id".into(),
            from: "groups",
            columns: group_column,
            default_order: "lower(display_name), id",
            tiebreak: "id",
            tenant_scope: TENANT_COLUMN,
        };
        self.page(&listing, tenant, None, q)
            .await?
            .try_map(GroupRecord::from_row)
    }

    pub async fn delete_group(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// A page of a group's members (users), under Graph's query options.
    pub async fn group_members(&self, group: &GroupRecord, q: &Query) -> Result<Page<UserRecord>> {
        let scope = "id IN (SELECT user_id FROM group_members WHERE group_id = $1)";
        let scope = Some((scope, vec![group.id.to_string()]));
        self.page(&user_listing(), group.tenant, scope, q)
            .await?
            .try_map(UserRecord::from_row)
    }

    pub async fn groups_of(&self, user: Uuid) -> Result<Vec<String>> {
        let user = user.to_string();
        let sql = "SELECT group_id FROM group_members WHERE user_id = $1";
        self.read_rows(sql, &[Arg::Text(&user)], |r| r.text(0))
            .await
    }
}

fn group_column(property: &str) -> Option<Column> {
    Some(match property {
        "id" => Column::Id("id"),
        "displayName" => Column::Text("display_name"),
        "description" => Column::Text("description"),
        "createdDateTime" => Column::Time("created_at"),
        _ => return None,
    })
}
