//! Tenants and their domains. The tenant made on first start is the deployment's default (the
//! one `tenant` row marks it); more are made at the database by the operator. A domain name is
//! unique across the deployment, so a UPN finds its tenant, and each tenant has exactly one
//! default domain.

use std::sync::LazyLock;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::read::{Arg, Columns};
use crate::sql::{Tx, from_micros, micros, uuid_of};
use crate::{Result, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: Uuid,
    pub display_name: String,
    pub default_domain: String,
    pub created_at: OffsetDateTime,
}

/// How a domain's users authenticate: here, or at the federated provider (SPEC §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainAuthentication {
    Managed,
    Federated,
}

impl DomainAuthentication {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainAuthentication::Managed => "Managed",
            DomainAuthentication::Federated => "Federated",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainRecord {
    pub name: String,
    pub tenant_id: Uuid,
    pub authentication: DomainAuthentication,
    pub is_default: bool,
    /// Made with its tenant (Graph's `isInitial`).
    pub is_initial: bool,
    pub created_at: OffsetDateTime,
}

const TENANT_SELECT: &str = "SELECT t.id, t.display_name, d.name, t.created_at FROM tenants t \
    JOIN domains d ON d.tenant_id = t.id AND d.is_default = 1";

const DOMAIN_COLUMNS: &str = "name, tenant_id, authentication_type, is_default, created_at, \
    CAST(CASE WHEN created_at = (SELECT t.created_at FROM tenants t WHERE t.id = tenant_id) \
    THEN 1 ELSE 0 END AS BIGINT)";

fn tenant_from(r: &AnyRow) -> Result<Tenant> {
    Ok(Tenant {
        id: uuid_of(&r.try_get::<String, _>(0)?)?,
        display_name: r.try_get(1)?,
        default_domain: r.try_get(2)?,
        created_at: from_micros(r.try_get(3)?)?,
    })
}

fn domain_from<R: Columns + ?Sized>(r: &R) -> Result<DomainRecord> {
    let kind = r.text(2)?;
    Ok(DomainRecord {
        name: r.text(0)?,
        tenant_id: uuid_of(&r.text(1)?)?,
        authentication: match kind.as_str() {
            "Managed" => DomainAuthentication::Managed,
            "Federated" => DomainAuthentication::Federated,
            other => return Err(StoreError::Corrupt(format!("domain type {other}"))),
        },
        is_default: r.int(3)? != 0,
        created_at: from_micros(r.int(4)?)?,
        is_initial: r.int(5)? != 0,
    })
}

/// Graph's answer when a domain is already added, here or in another tenant.
fn domain_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "Another object with the same value for property id already exists: {name}"
    ))
}

impl Store {
    /// The tenant made on first start, once it exists.
    pub async fn default_tenant(&self) -> Result<Option<Tenant>> {
        let sql = format!("{TENANT_SELECT} WHERE t.id = (SELECT id FROM tenant WHERE slot = 1)");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    pub async fn tenant(&self, id: Uuid) -> Result<Option<Tenant>> {
        let sql = format!("{TENANT_SELECT} WHERE t.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    /// The tenant a URL or a UPN names: by its id or by any of its domains.
    pub async fn tenant_named(&self, name: &str) -> Result<Option<Tenant>> {
        if let Ok(id) = Uuid::parse_str(name) {
            return self.tenant(id).await;
        }
        let sql = format!(
            "{TENANT_SELECT} WHERE t.id = (SELECT tenant_id FROM domains WHERE name_lower = $1)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from).transpose()
    }

    /// Every tenant: the default first, then the oldest first.
    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        let sql = format!(
            "{TENANT_SELECT} ORDER BY CASE WHEN t.id = (SELECT id FROM tenant WHERE slot = 1) \
             THEN 0 ELSE 1 END, t.created_at, t.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_from).collect()
    }

    /// A tenant's domains, its default first: read on every user's creation and rename (a
    /// UPN must use one), so through the hot paths' readers.
    pub async fn domains(&self, tenant: Uuid) -> Result<Vec<DomainRecord>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {DOMAIN_COLUMNS} FROM domains WHERE tenant_id = $1 \
                 ORDER BY is_default DESC, name_lower"
            )
        });
        let tenant = tenant.to_string();
        self.read_rows(&SQL, &[Arg::Text(&tenant)], |r| domain_from(r))
            .await
    }

    /// One of a tenant's domains; another tenant's is none.
    pub async fn domain(&self, tenant: Uuid, name: &str) -> Result<Option<DomainRecord>> {
        let sql = format!(
            "SELECT {DOMAIN_COLUMNS} FROM domains WHERE tenant_id = $1 AND name_lower = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_string())
            .bind(name.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(domain_from).transpose()
    }

    /// Adds a domain, with its audit record; a name taken anywhere in the deployment is a
    /// conflict.
    pub async fn create_domain(&self, d: &DomainRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        insert_domain(&mut tx, d).await?;
        finish(tx, true, audit).await?;
        Ok(())
    }

    /// Makes `name` its tenant's default domain (and no other), with its audit record.
    pub async fn set_default_domain(
        &self,
        tenant: Uuid,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query(
            "UPDATE domains SET is_default = CASE WHEN name_lower = $2 THEN 1 ELSE 0 END \
             WHERE tenant_id = $1 AND EXISTS \
             (SELECT 1 FROM domains WHERE tenant_id = $1 AND name_lower = $2)",
        )
        .bind(tenant.to_string())
        .bind(name.to_lowercase())
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() > 0, audit).await
    }

    /// Removes a domain that isn't its tenant's default and that no user's name uses, and its
    /// federation if it has one; false when there was none.
    pub async fn delete_domain(
        &self,
        tenant: Uuid,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let name = name.to_lowercase();
        let in_use: i64 = sqlx::query(
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND upn_lower LIKE $2 ESCAPE '\\'",
        )
        .bind(tenant.to_string())
        .bind(format!("%@{}", like_escaped(&name)))
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if in_use > 0 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "Domain {name} has references: {in_use} user(s) sign in with it. \
                 Rename them or delete them first."
            )));
        }
        // Its federation goes with it (rolled back with the rest if the domain stays).
        sqlx::query("DELETE FROM federations WHERE tenant_id = $1 AND domain_lower = $2")
            .bind(tenant.to_string())
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query(
            "DELETE FROM domains WHERE tenant_id = $1 AND name_lower = $2 AND is_default = 0",
        )
        .bind(tenant.to_string())
        .bind(&name)
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }
}

fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The tenant's row and its default domain.
pub(super) async fn insert_tenant(tx: &mut Tx<'_>, t: &Tenant) -> Result<()> {
    sqlx::query("INSERT INTO tenants (id, display_name, created_at) VALUES ($1, $2, $3)")
        .bind(t.id.to_string())
        .bind(&t.display_name)
        .bind(micros(t.created_at))
        .execute(&mut **tx)
        .await?;
    let domain = DomainRecord {
        name: t.default_domain.clone(),
        tenant_id: t.id,
        authentication: DomainAuthentication::Managed,
        is_default: true,
        is_initial: true,
        created_at: t.created_at,
    };
    insert_domain(tx, &domain).await
}

async fn insert_domain(tx: &mut Tx<'_>, d: &DomainRecord) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO domains (name_lower, name, tenant_id, authentication_type, is_default, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(d.name.to_lowercase())
    .bind(&d.name)
    .bind(d.tenant_id.to_string())
    .bind(d.authentication.as_str())
    .bind(i64::from(d.is_default))
    .bind(micros(d.created_at))
    .execute(&mut **tx)
    .await?;
    match res.rows_affected() {
        1 => Ok(()),
        _ => Err(domain_taken(&d.name)),
    }
}
