//! Directory role assignments: which principal holds which built-in role (by its template id).

use tapd_core::Role;
use tapd_core::odata::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::query::{Column, Listing};
use crate::read::{Arg, Columns};
use crate::sql::{Tx, from_micros, is_unique_violation, micros, uuid_of};
use crate::{Page, Result, Store, StoreError};

#[derive(Clone, Debug)]
pub struct RoleAssignment {
    pub id: Uuid,
    pub principal_id: Uuid,
    pub role: Role,
    pub created_at: OffsetDateTime,
}

impl RoleAssignment {
    pub(crate) fn from_row<R: Columns + ?Sized>(r: &R) -> Result<RoleAssignment> {
        let template = r.text(2)?;
        Ok(RoleAssignment {
            id: uuid_of(&r.text(0)?)?,
            principal_id: uuid_of(&r.text(1)?)?,
            role: Role::from_template_id(&template)
                .ok_or_else(|| StoreError::Corrupt(format!("role {template}")))?,
            created_at: from_micros(r.int(3)?)?,
        })
    }
}

impl Store {
    pub async fn assign_role(&self, a: &RoleAssignment, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        insert_role_assignment(&mut tx, a).await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    /// A page of a tenant's role assignments under Graph's query options, oldest first.
    pub async fn role_assignments(&self, tenant: Uuid, q: &Query) -> Result<Page<RoleAssignment>> {
        let listing = Listing {
            select: "id, principal_id, role_template_id, created_at".into(),
            from: "role_assignments",
            columns: |property| {
                Some(match property {
                    "id" => Column::Id("id"),
                    "principalId" => Column::Id("principal_id"),
                    "roleDefinitionId" => Column::Id("role_template_id"),
                    _ => return None,
                })
            },
            default_order: "created_at, id",
            tiebreak: "id",
            tenant_scope: "principal_id IN (SELECT id FROM users WHERE tenant_id = $T)",
        };
        self.page(&listing, tenant, None, q)
            .await?
            .try_map(RoleAssignment::from_row)
    }

    /// A role assignment whose principal is in `tenant`; another tenant's is none.
    pub async fn role_assignment(&self, tenant: Uuid, id: Uuid) -> Result<Option<RoleAssignment>> {
        let row = sqlx::query(
            "SELECT id, principal_id, role_template_id, created_at FROM role_assignments \
             WHERE id = $1 AND principal_id IN (SELECT id FROM users WHERE tenant_id = $2)",
        )
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(RoleAssignment::from_row).transpose()
    }

    pub async fn delete_role_assignment(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM role_assignments WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn roles_of(&self, user: Uuid) -> Result<Vec<Role>> {
        let sql = "SELECT id, principal_id, role_template_id, created_at FROM role_assignments \
                   WHERE principal_id = $1 ORDER BY created_at, id";
        let user = user.to_string();
        self.read_rows(sql, &[Arg::Text(&user)], |r| {
            RoleAssignment::from_row(r).map(|a| a.role)
        })
        .await
    }
}

/// Inserts an assignment; the principal holding the role already is a conflict.
pub(super) async fn insert_role_assignment(tx: &mut Tx<'_>, a: &RoleAssignment) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO role_assignments (id, principal_id, role_template_id, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(a.id.to_string())
    .bind(a.principal_id.to_string())
    .bind(a.role.template_id())
    .bind(micros(a.created_at))
    .execute(&mut **tx)
    .await;
    match res {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict(
            "The principal already holds this role.".into(),
        )),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}
