//! Federated domains: a domain's federation with an OpenID Connect provider (Graph's
//! `internalDomainFederation`), at most one per domain. Adding one makes the domain
//! `Federated`, removing it `Managed` again, in the same transaction.

use sqlx::Row;
use sqlx::any::AnyRow;
use tapd_core::MfaBehavior;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::sql::{from_micros, micros, uuid_of};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederationRecord {
    pub id: Uuid,
    /// The federated domain, as its tenant named it.
    pub domain: String,
    pub tenant_id: Uuid,
    pub display_name: String,
    /// The provider's issuer: discovery is `{issuer_uri}/.well-known/openid-configuration`.
    pub issuer_uri: String,
    pub passive_sign_in_uri: Option<String>,
    pub sign_out_uri: Option<String>,
    pub mfa_behavior: MfaBehavior,
    /// The client id tapd is registered with at the provider.
    pub client_id: String,
    /// The client secret, sealed with the server's key; none for a public client.
    pub sealed_secret: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str = "f.id, d.name, f.tenant_id, f.display_name, f.issuer_uri, \
    f.passive_sign_in_uri, f.sign_out_uri, f.mfa_behavior, f.client_id, f.sealed_secret, \
    f.created_at";

fn federation_from(r: &AnyRow) -> Result<FederationRecord> {
    let behavior: String = r.try_get(7)?;
    Ok(FederationRecord {
        id: uuid_of(&r.try_get::<String, _>(0)?)?,
        domain: r.try_get(1)?,
        tenant_id: uuid_of(&r.try_get::<String, _>(2)?)?,
        display_name: r.try_get(3)?,
        issuer_uri: r.try_get(4)?,
        passive_sign_in_uri: r.try_get(5)?,
        sign_out_uri: r.try_get(6)?,
        mfa_behavior: MfaBehavior::parse(&behavior)
            .ok_or_else(|| StoreError::Corrupt(format!("federatedIdpMfaBehavior {behavior}")))?,
        client_id: r.try_get(8)?,
        sealed_secret: r.try_get(9)?,
        created_at: from_micros(r.try_get(10)?)?,
    })
}

impl Store {
    /// The federation of a domain in any tenant: what a sign-in by UPN looks up.
    pub async fn federation_of_domain(&self, domain: &str) -> Result<Option<FederationRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM federations f JOIN domains d ON d.name_lower = f.domain_lower \
             WHERE f.domain_lower = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(domain.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(federation_from).transpose()
    }

    /// The federation of one of `tenant`'s domains; another tenant's is none.
    pub async fn federation(&self, tenant: Uuid, domain: &str) -> Result<Option<FederationRecord>> {
        let found = self.federation_of_domain(domain).await?;
        Ok(found.filter(|f| f.tenant_id == tenant))
    }

    /// Federates a domain (one federation per domain: a second is a conflict) and marks it
    /// `Federated`, with the audit record.
    pub async fn create_federation(&self, f: &FederationRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "INSERT INTO federations (id, domain_lower, tenant_id, display_name, issuer_uri, \
             passive_sign_in_uri, sign_out_uri, mfa_behavior, client_id, sealed_secret, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT DO NOTHING",
        )
        .bind(f.id.to_string())
        .bind(f.domain.to_lowercase())
        .bind(f.tenant_id.to_string())
        .bind(&f.display_name)
        .bind(&f.issuer_uri)
        .bind(f.passive_sign_in_uri.clone())
        .bind(f.sign_out_uri.clone())
        .bind(f.mfa_behavior.as_str())
        .bind(&f.client_id)
        .bind(f.sealed_secret.clone())
        .bind(micros(f.created_at))
        .execute(&mut *tx)
        .await?;
        if res.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "Domain {} already has a federation configuration: change or delete that one.",
                f.domain
            )));
        }
        set_authentication(&mut tx, f.tenant_id, &f.domain, "Federated").await?;
        finish(tx, true, audit).await?;
        Ok(())
    }

    /// Rewrites a federation's settings.
    pub async fn update_federation(
        &self,
        f: &FederationRecord,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "UPDATE federations SET display_name = $3, issuer_uri = $4, passive_sign_in_uri = $5, \
             sign_out_uri = $6, mfa_behavior = $7, client_id = $8, sealed_secret = $9 \
             WHERE id = $1 AND tenant_id = $2",
        )
        .bind(f.id.to_string())
        .bind(f.tenant_id.to_string())
        .bind(&f.display_name)
        .bind(&f.issuer_uri)
        .bind(f.passive_sign_in_uri.clone())
        .bind(f.sign_out_uri.clone())
        .bind(f.mfa_behavior.as_str())
        .bind(&f.client_id)
        .bind(f.sealed_secret.clone())
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Removes a domain's federation: its users authenticate here again (`Managed`).
    pub async fn delete_federation(
        &self,
        f: &FederationRecord,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM federations WHERE id = $1 AND tenant_id = $2")
            .bind(f.id.to_string())
            .bind(f.tenant_id.to_string())
            .execute(&mut *tx)
            .await?;
        if res.rows_affected() == 1 {
            set_authentication(&mut tx, f.tenant_id, &f.domain, "Managed").await?;
        }
        finish(tx, res.rows_affected() == 1, audit).await
    }
}

async fn set_authentication(
    tx: &mut crate::sql::Tx<'_>,
    tenant: Uuid,
    domain: &str,
    kind: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE domains SET authentication_type = $3 WHERE tenant_id = $1 AND name_lower = $2",
    )
    .bind(tenant.to_string())
    .bind(domain.to_lowercase())
    .bind(kind)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
