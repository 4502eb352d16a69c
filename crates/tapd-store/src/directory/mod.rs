//! The directory: tenants and their domains, users, groups and role assignments. A change is
//! written with its `directoryAudit` record in one transaction (only the creation of a tenant
//! has none). This module holds the creation of a tenant; `tenants`, `users`, `groups` and
//! `roles` hold the rest.

mod federations;
mod groups;
mod partners;
mod roles;
mod tenants;
mod users;

use tapd_core::{Role, TapPolicy};
use uuid::Uuid;

use crate::policy::put_policy;
use crate::sql::{Tx, micros};
use crate::{Result, Store};

pub use federations::FederationRecord;
pub use groups::GroupRecord;
pub use partners::PartnerRecord;
pub use roles::RoleAssignment;
pub use tenants::{DomainAuthentication, DomainRecord, Tenant};
pub use users::{HomeIdentity, UserRecord, UserType};

pub(crate) use users::{INSERT_USER_VALUES, USER_COLUMNS, insert_users, upn_taken, user_key};

impl Store {
    /// Creates the default tenant, its default policy and first admin in one transaction.
    /// Returns false (and writes nothing) when the directory already exists, so replicas racing
    /// through their first start create it once.
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
        populate(&mut tx, tenant, policy, admin).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Creates one more tenant with its default domain, policy and first admin, in one
    /// transaction; a domain taken anywhere in the deployment is a conflict.
    pub async fn create_tenant(
        &self,
        tenant: &Tenant,
        policy: &TapPolicy,
        admin: &UserRecord,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        populate(&mut tx, tenant, policy, admin).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A new tenant's rows: itself, its default domain, its policy, its first Global Administrator.
async fn populate(
    tx: &mut Tx<'_>,
    tenant: &Tenant,
    policy: &TapPolicy,
    admin: &UserRecord,
) -> Result<()> {
    tenants::insert_tenant(tx, tenant).await?;
    put_policy(tx, tenant.id, policy, tenant.created_at).await?;
    users::insert_user(tx, admin).await?;
    let admin_role = RoleAssignment {
        id: Uuid::new_v4(),
        principal_id: admin.id,
        role: Role::GlobalAdministrator,
        created_at: tenant.created_at,
    };
    roles::insert_role_assignment(tx, &admin_role).await
}
