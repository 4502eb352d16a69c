//! The cross-tenant access policy's partners (Graph's
//! `crossTenantAccessPolicyConfigurationPartner`): for each other tenant a tenant names, what
//! it trusts of that tenant's sign-ins.

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::sql::{from_micros, micros, uuid_of};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartnerRecord {
    /// The tenant whose policy this is.
    pub tenant_id: Uuid,
    /// The other tenant.
    pub partner: Uuid,
    /// `inboundTrust.isMfaAccepted`: the partner's sign-ins (and their MFA) count here.
    pub is_mfa_accepted: bool,
    pub created_at: OffsetDateTime,
}

fn partner_from(r: &AnyRow) -> Result<PartnerRecord> {
    Ok(PartnerRecord {
        tenant_id: uuid_of(&r.try_get::<String, _>(0)?)?,
        partner: uuid_of(&r.try_get::<String, _>(1)?)?,
        is_mfa_accepted: r.try_get::<i64, _>(2)? != 0,
        created_at: from_micros(r.try_get(3)?)?,
    })
}

const COLUMNS: &str = "tenant_id, partner_tenant_id, is_mfa_accepted, created_at";

impl Store {
    /// A tenant's partners, oldest first.
    pub async fn partners(&self, tenant: Uuid) -> Result<Vec<PartnerRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM cross_tenant_partners WHERE tenant_id = $1 \
             ORDER BY created_at, partner_tenant_id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(partner_from).collect()
    }

    /// What `tenant` says of `partner`, if it names it.
    pub async fn partner(&self, tenant: Uuid, partner: Uuid) -> Result<Option<PartnerRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM cross_tenant_partners \
             WHERE tenant_id = $1 AND partner_tenant_id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(partner.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(partner_from).transpose()
    }

    /// Names a partner; naming it twice is a conflict.
    pub async fn create_partner(&self, p: &PartnerRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "INSERT INTO cross_tenant_partners (tenant_id, partner_tenant_id, is_mfa_accepted, \
             created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(p.tenant_id.to_string())
        .bind(p.partner.to_string())
        .bind(i64::from(p.is_mfa_accepted))
        .bind(micros(p.created_at))
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "A partner configuration for tenant {} already exists.",
                p.partner
            )));
        }
        finish(tx, true, audit).await?;
        Ok(())
    }

    pub async fn update_partner(&self, p: &PartnerRecord, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "UPDATE cross_tenant_partners SET is_mfa_accepted = $3 \
             WHERE tenant_id = $1 AND partner_tenant_id = $2",
        )
        .bind(p.tenant_id.to_string())
        .bind(p.partner.to_string())
        .bind(i64::from(p.is_mfa_accepted))
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn delete_partner(
        &self,
        tenant: Uuid,
        partner: Uuid,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "DELETE FROM cross_tenant_partners WHERE tenant_id = $1 AND partner_tenant_id = $2",
        )
        .bind(tenant.to_string())
        .bind(partner.to_string())
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }
}
