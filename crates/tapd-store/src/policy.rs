//! The TAP policy: one row per tenant, the defaults until one is stored.

use tapd_core::TapPolicy;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, insert_audit};
use crate::read::Arg;
use crate::sql::{Tx, micros};
use crate::{Result, Store, StoreError};

/// The policy row id of the TAP method configuration.
pub(crate) const TAP_POLICY_ID: &str = "TemporaryAccessPass";

impl Store {
    pub async fn policy(&self, tenant: Uuid) -> Result<TapPolicy> {
        let sql = "SELECT body FROM policies WHERE tenant_id = $1 AND id = $2";
        let tenant = tenant.to_string();
        let args = [Arg::Text(&tenant), Arg::Text(TAP_POLICY_ID)];
        let body = self.read_row(sql, &args, |r| r.text(0));
        policy_from(body.await?)
    }

    /// Replaces the policy, with the change's audit record, in one transaction.
    pub async fn set_policy(
        &self,
        tenant: Uuid,
        policy: &TapPolicy,
        now: OffsetDateTime,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        put_policy(&mut tx, tenant, policy, now).await?;
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The stored policy, or the defaults before any was stored.
pub(crate) fn policy_from(body: Option<String>) -> Result<TapPolicy> {
    match body {
        Some(body) => serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(TapPolicy::default()),
    }
}

pub(crate) async fn put_policy(
    tx: &mut Tx<'_>,
    tenant: Uuid,
    policy: &TapPolicy,
    now: OffsetDateTime,
) -> Result<()> {
    let body = serde_json::to_string(policy).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO policies (tenant_id, id, body, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(tenant.to_string())
    .bind(TAP_POLICY_ID)
    .bind(body)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
