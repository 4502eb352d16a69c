//! The FIDO2 method configuration (one row, the defaults until one is stored), when the
//! authentication methods policy last changed, and the rows of the registration report.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tapd_core::{EnforcementType, Fido2Policy, KeyRestrictions, PolicyState};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditKind, AuditRecord, insert_audit};
use crate::directory::USER_COLUMNS;
use crate::sql::{column_count, from_micros, micros, placeholders, uuid_of};
use crate::{Result, Store, StoreError, UserRecord, UserType};

/// One user as the registration report sees them.
#[derive(Clone, Debug)]
pub struct RegistrationRow {
    pub user: UserRecord,
    pub is_admin: bool,
    pub has_tap: bool,
    /// The AAGUIDs of the user's passkeys.
    pub passkey_aaguids: Vec<Uuid>,
    /// The latest of the user's creation and their methods' registration.
    pub last_updated: OffsetDateTime,
}

/// What the registration report's query narrows by, in SQL.
#[derive(Clone, Debug, Default)]
pub struct RegistrationFilter {
    pub user_type: Option<UserType>,
    pub has_passkey: Option<bool>,
}

fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("fido2 policy {what}: {e}"))
}

fn fido2_from(r: &AnyRow) -> Result<Fido2Policy> {
    let state = match r.try_get::<String, _>(0)?.as_str() {
        "enabled" => PolicyState::Enabled,
        _ => PolicyState::Disabled,
    };
    let enforcement_type = match r.try_get::<String, _>(4)?.as_str() {
        "allow" => EnforcementType::Allow,
        _ => EnforcementType::Block,
    };
    Ok(Fido2Policy {
        state,
        is_self_service_registration_allowed: r.try_get::<i64, _>(1)? != 0,
        is_attestation_enforced: r.try_get::<i64, _>(2)? != 0,
        key_restrictions: KeyRestrictions {
            is_enforced: r.try_get::<i64, _>(3)? != 0,
            enforcement_type,
            aa_guids: serde_json::from_str(&r.try_get::<String, _>(5)?)
                .map_err(corrupt("aaguids"))?,
        },
        include_targets: serde_json::from_str(&r.try_get::<String, _>(6)?)
            .map_err(corrupt("include targets"))?,
        exclude_targets: serde_json::from_str(&r.try_get::<String, _>(7)?)
            .map_err(corrupt("exclude targets"))?,
    })
}

impl Store {
    pub async fn fido2_policy(&self, tenant: Uuid) -> Result<Fido2Policy> {
        let row = sqlx::query(
            "SELECT state, self_service_registration, attestation_enforced, \
             key_restrictions_enforced, key_enforcement_type, aaguids, include_targets, \
             exclude_targets FROM fido2_policy WHERE tenant_id = $1",
        )
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(fido2_from)
            .unwrap_or_else(|| Ok(Fido2Policy::default()))
    }

    /// Replaces the FIDO2 configuration, with the change's audit record, in one transaction.
    pub async fn set_fido2_policy(
        &self,
        tenant: Uuid,
        p: &Fido2Policy,
        now: OffsetDateTime,
        audit: &AuditRecord,
    ) -> Result<()> {
        let state = match p.state {
            PolicyState::Enabled => "enabled",
            PolicyState::Disabled => "disabled",
        };
        let kind = match p.key_restrictions.enforcement_type {
            EnforcementType::Allow => "allow",
            EnforcementType::Block => "block",
        };
        let text = |r: serde_json::Result<String>| r.map_err(corrupt("encoding"));
        let aaguids = text(serde_json::to_string(&p.key_restrictions.aa_guids))?;
        let include = text(serde_json::to_string(&p.include_targets))?;
        let exclude = text(serde_json::to_string(&p.exclude_targets))?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO fido2_policy (tenant_id, state, self_service_registration, \
             attestation_enforced, key_restrictions_enforced, key_enforcement_type, aaguids, \
             include_targets, exclude_targets, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id) DO UPDATE SET state = excluded.state, \
             self_service_registration = excluded.self_service_registration, \
             attestation_enforced = excluded.attestation_enforced, \
             key_restrictions_enforced = excluded.key_restrictions_enforced, \
             key_enforcement_type = excluded.key_enforcement_type, aaguids = excluded.aaguids, \
             include_targets = excluded.include_targets, \
             exclude_targets = excluded.exclude_targets, updated_at = excluded.updated_at",
        )
        .bind(tenant.to_string())
        .bind(state)
        .bind(i64::from(p.is_self_service_registration_allowed))
        .bind(i64::from(p.is_attestation_enforced))
        .bind(i64::from(p.key_restrictions.is_enforced))
        .bind(kind)
        .bind(aaguids)
        .bind(include)
        .bind(exclude)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        insert_audit(&mut tx, AuditKind::DirectoryAudit.table(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    /// When any method configuration was last stored; `None` while all are the defaults.
    pub async fn methods_policy_modified(&self, tenant: Uuid) -> Result<Option<OffsetDateTime>> {
        let row = sqlx::query(
            "SELECT MAX(t) FROM (SELECT MAX(updated_at) AS t FROM policies WHERE tenant_id = $1 \
             UNION ALL SELECT MAX(updated_at) AS t FROM fido2_policy WHERE tenant_id = $1) \
             AS changes",
        )
        .bind(tenant.to_string())
        .fetch_one(&self.pool)
        .await?;
        row.try_get::<Option<i64>, _>(0)?
            .map(from_micros)
            .transpose()
    }

    /// One page of the registration report: users ordered by UPN after `after` (a lower-cased
    /// UPN), narrowed by `filter`, with what the report says of each.
    pub async fn registration_rows(
        &self,
        tenant: Uuid,
        filter: &RegistrationFilter,
        after: &str,
        limit: i64,
    ) -> Result<Vec<RegistrationRow>> {
        let passkey = "EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = users.id)";
        let has_passkey = match filter.has_passkey {
            None => "1 = 1".to_owned(),
            Some(true) => passkey.to_owned(),
            Some(false) => format!("NOT {passkey}"),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, \
             (SELECT COUNT(*) FROM role_assignments r WHERE r.principal_id = users.id), \
             (SELECT MAX(t.created_at) FROM taps t WHERE t.user_id = users.id), \
             (SELECT MAX(p.created_at) FROM passkeys p WHERE p.user_id = users.id) \
             FROM users WHERE ($1 = '' OR user_type = $1) AND {has_passkey} \
             AND upn_lower > $2 AND tenant_id = $4 ORDER BY upn_lower LIMIT $3"
        )))
        .bind(filter.user_type.map(UserType::as_str).unwrap_or(""))
        .bind(after)
        .bind(limit)
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(registration_row)
            .collect::<Result<Vec<_>>>()?;
        self.fill_aaguids(&mut out).await?;
        Ok(out)
    }

    /// The AAGUIDs of the passkeys of the users in `rows`, in one query.
    async fn fill_aaguids(&self, rows: &mut [RegistrationRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT user_id, aaguid FROM passkeys WHERE user_id IN ({}) ORDER BY created_at",
            placeholders(self.dialect, 1, rows.len())
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in rows.iter() {
            query = query.bind(row.user.id.to_string());
        }
        for r in query.fetch_all(&self.pool).await? {
            let user = uuid_of(&r.try_get::<String, _>(0)?)?;
            let aaguid = uuid_of(&r.try_get::<String, _>(1)?)?;
            if let Some(row) = rows.iter_mut().find(|row| row.user.id == user) {
                row.passkey_aaguids.push(aaguid);
            }
        }
        Ok(())
    }
}

fn registration_row(r: &AnyRow) -> Result<RegistrationRow> {
    let user = UserRecord::from_row(r)?;
    let columns = column_count(USER_COLUMNS);
    let tap: Option<i64> = r.try_get(columns + 1)?;
    let passkey: Option<i64> = r.try_get(columns + 2)?;
    let latest = [Some(micros(user.created_at)), tap, passkey]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or_default();
    Ok(RegistrationRow {
        is_admin: r.try_get::<i64, _>(columns)? > 0,
        has_tap: tap.is_some(),
        passkey_aaguids: Vec::new(),
        last_updated: from_micros(latest)?,
        user,
    })
}
