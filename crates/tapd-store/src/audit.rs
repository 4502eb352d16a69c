//! The two audit logs, `directoryAudits` and `signIns`: their records, how a change writes its
//! record in the change's own transaction, and the newest-first pages the Graph API serves.

use sqlx::{AssertSqlSafe, Row};
use tapd_core::odata::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::query::{Column, Listing, TENANT_COLUMN};
use crate::sql::{Tx, Writer, micros, rows_of};
use crate::{Page, Result, Store, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditKind {
    DirectoryAudit,
    SignIn,
}

impl AuditKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            AuditKind::DirectoryAudit => "directory_audits",
            AuditKind::SignIn => "sign_ins",
        }
    }
}

/// One audit entry; `body` is the Graph-shaped JSON object served back as is.
#[derive(Clone, Debug)]
pub struct AuditRecord {
    pub id: Uuid,
    /// The tenant whose log it is in.
    pub tenant: Uuid,
    pub at: OffsetDateTime,
    pub body: serde_json::Value,
}

impl Store {
    /// A page of one log under Graph's query options, newest first unless `$orderby` says
    /// otherwise.
    pub async fn audit_page(
        &self,
        tenant: Uuid,
        kind: AuditKind,
        q: &Query,
    ) -> Result<Page<serde_json::Value>> {
        let listing = Listing {
            select: "body".into(),
            from: kind.table(),
            columns: match kind {
                AuditKind::DirectoryAudit => directory_audit_column,
                AuditKind::SignIn => sign_in_column,
            },
            default_order: "seq DESC",
            tiebreak: "seq DESC",
            tenant_scope: TENANT_COLUMN,
        };
        self.page(&listing, tenant, None, q).await?.try_map(|r| {
            let body: String = r.try_get(0)?;
            serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
    }
}

/// Ends a change's transaction: with `changed`, writes its audit record and commits; without,
/// rolls back so that a change that found nothing to do leaves no trace.
pub(crate) async fn finish(mut tx: Tx<'_>, changed: bool, audit: &AuditRecord) -> Result<bool> {
    if changed {
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(changed)
}

pub(crate) async fn insert_audit(tx: &mut Tx<'_>, table: &str, a: &AuditRecord) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {table} (id, tenant_id, at, body) VALUES ($1, $2, $3, $4)"
    )))
    .bind(a.id.to_string())
    .bind(a.tenant.to_string())
    .bind(micros(a.at))
    .bind(a.body.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An audit record as a batch writes it, its body already serialized: by the caller's task,
/// rather than on the one writer every sign-in waits for.
pub(crate) struct AuditRow {
    id: String,
    tenant: String,
    at: i64,
    body: String,
}

impl AuditRow {
    pub(crate) fn of(a: &AuditRecord) -> AuditRow {
        AuditRow {
            id: a.id.to_string(),
            tenant: a.tenant.to_string(),
            at: micros(a.at),
            body: a.body.to_string(),
        }
    }
}

/// Inserts a batch's records of one log with one statement.
pub(crate) async fn insert_audits(
    tx: &mut impl Writer,
    kind: AuditKind,
    audits: &[&AuditRow],
) -> Result<()> {
    if audits.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO {} (id, tenant_id, at, body) VALUES {}",
        kind.table(),
        rows_of(tx.dialect(), audits.len(), 4)
    );
    let mut args = Vec::with_capacity(audits.len() * 4);
    for a in audits {
        args.extend([
            a.id.as_str().into(),
            a.tenant.as_str().into(),
            a.at.into(),
            a.body.as_str().into(),
        ]);
    }
    tx.execute(&sql, args).await?;
    Ok(())
}

fn directory_audit_column(property: &str) -> Option<Column> {
    Some(match property {
        "id" => Column::Id("id"),
        "activityDateTime" => Column::Time("at"),
        "category" => Column::Json("category"),
        "correlationId" => Column::Json("correlationId"),
        "result" => Column::Json("result"),
        "activityDisplayName" => Column::Json("activityDisplayName"),
        "loggedByService" => Column::Json("loggedByService"),
        "operationType" => Column::Json("operationType"),
        _ => return None,
    })
}

fn sign_in_column(property: &str) -> Option<Column> {
    Some(match property {
        "id" => Column::Id("id"),
        "createdDateTime" => Column::Time("at"),
        "userPrincipalName" => Column::Json("userPrincipalName"),
        "userId" => Column::Json("userId"),
        "appDisplayName" => Column::Json("appDisplayName"),
        "ipAddress" => Column::Json("ipAddress"),
        "correlationId" => Column::Json("correlationId"),
        _ => return None,
    })
}
