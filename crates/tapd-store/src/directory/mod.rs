//! The directory: the tenant, its users, groups and role assignments. A change is written with
//! its `directoryAudit` record in one transaction (only the first start, which creates the
//! tenant, has none). This module holds the tenant and that first start; `users`, `groups` and
//! `roles` hold the rest.

mod groups;
mod roles;
mod users;

use sqlx::Row;
use tapd_core::{Role, TapPolicy};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::policy::put_policy;
use crate::sql::{from_micros, micros, uuid_of};
use crate::{Result, Store};

pub use groups::GroupRecord;
pub use roles::RoleAssignment;
pub use users::{UserRecord, UserType};

pub(crate) use users::{USER_COLUMNS, insert_users, upn_taken};

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: Uuid,
    pub default_domain: String,
    pub created_at: OffsetDateTime,
}

impl Store {
    pub async fn tenant(&self) -> Result<Option<Tenant>> {
        let row = sqlx::query("SELECT id, default_domain, created_at FROM tenant")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Tenant {
                id: uuid_of(&r.try_get::<String, _>(0)?)?,
                default_domain: r.try_get(1)?,
                created_at: from_micros(r.try_get(2)?)?,
            })
        })
        .transpose()
    }

    /// Creates the tenant, the default policy and the first admin in one transaction. Returns
    /// false (and writes nothing) when the directory already exists, so replicas racing through
    /// their first start create it once.
    pub async fn bootstrap(
        &self,
        tenant: &Tenant,
        policy: &TapPolicy,
        admin: &UserRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenant (slot, id, default_domain, created_at) VALUES (1, $1, $2, $3) \
             ON CONFLICT (slot) DO NOTHING",
        )
        .bind(tenant.id.to_string())
        .bind(&tenant.default_domain)
        .bind(micros(tenant.created_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        put_policy(&mut tx, policy, tenant.created_at).await?;
        users::insert_user(&mut tx, admin).await?;
        let admin_role = RoleAssignment {
            id: Uuid::new_v4(),
            principal_id: admin.id,
            role: Role::GlobalAdministrator,
            created_at: tenant.created_at,
        };
        roles::insert_role_assignment(&mut tx, &admin_role).await?;
        tx.commit().await?;
        Ok(true)
    }
}
