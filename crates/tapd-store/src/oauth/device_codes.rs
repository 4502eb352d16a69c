//! Device authorizations (RFC 8628), known to the store only by the keyed hashes of their
//! device code and user code. Each decision and the redemption is one conditional UPDATE, so a
//! code is approved or denied once and redeemed once, whatever other replicas do.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tapd_core::DeviceState;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::sql::{from_micros, micros, opt_uuid, uuid_of};
use crate::{Result, Store};

/// A device authorization as stored.
#[derive(Clone, Debug)]
pub struct DeviceCode {
    pub device_code_hash: String,
    pub user_code_hash: String,
    pub client_id: Uuid,
    pub scope: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub interval: Duration,
    pub last_poll_at: Option<OffsetDateTime>,
    pub approved_at: Option<OffsetDateTime>,
    pub denied_at: Option<OffsetDateTime>,
    pub redeemed_at: Option<OffsetDateTime>,
    /// Who approved, and how their session was opened (for the tokens).
    pub approval: Option<DeviceApproval>,
}

/// What the person's session brings to the tokens a device gets.
#[derive(Clone, Debug)]
pub struct DeviceApproval {
    pub user_id: Uuid,
    pub tap_id: Option<Uuid>,
    pub amr: String,
    pub auth_time: OffsetDateTime,
}

const COLUMNS: &str = "device_code_hash, user_code_hash, client_id, scope, created_at, \
                       expires_at, interval_secs, last_poll_at, approved_at, denied_at, \
                       redeemed_at, user_id, tap_id, amr, auth_time";

fn opt_time(v: Option<i64>) -> Result<Option<OffsetDateTime>> {
    v.map(from_micros).transpose()
}

impl DeviceCode {
    fn from_row(r: &AnyRow) -> Result<DeviceCode> {
        let user_id: Option<String> = r.try_get(11)?;
        let approval = match user_id {
            Some(user) => Some(DeviceApproval {
                user_id: uuid_of(&user)?,
                tap_id: opt_uuid(r.try_get(12)?)?,
                amr: r.try_get::<Option<String>, _>(13)?.unwrap_or_default(),
                auth_time: from_micros(r.try_get::<Option<i64>, _>(14)?.unwrap_or(0))?,
            }),
            None => None,
        };
        Ok(DeviceCode {
            device_code_hash: r.try_get(0)?,
            user_code_hash: r.try_get(1)?,
            client_id: uuid_of(&r.try_get::<String, _>(2)?)?,
            scope: r.try_get(3)?,
            created_at: from_micros(r.try_get(4)?)?,
            expires_at: from_micros(r.try_get(5)?)?,
            interval: Duration::seconds(r.try_get::<i64, _>(6)?.clamp(0, 3600)),
            last_poll_at: opt_time(r.try_get(7)?)?,
            approved_at: opt_time(r.try_get(8)?)?,
            denied_at: opt_time(r.try_get(9)?)?,
            redeemed_at: opt_time(r.try_get(10)?)?,
            approval,
        })
    }

    /// Where it stands, for the domain's polling rule.
    pub fn state(&self) -> DeviceState {
        DeviceState {
            expires_at: self.expires_at,
            interval: self.interval,
            last_poll_at: self.last_poll_at,
            approved: self.approved_at.is_some(),
            denied: self.denied_at.is_some(),
            redeemed: self.redeemed_at.is_some(),
        }
    }
}

impl Store {
    pub async fn put_device_code(&self, d: &DeviceCode) -> Result<()> {
        sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code_hash, client_id, scope, \
             created_at, expires_at, interval_secs) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&d.device_code_hash)
        .bind(&d.user_code_hash)
        .bind(d.client_id.to_string())
        .bind(&d.scope)
        .bind(micros(d.created_at))
        .bind(micros(d.expires_at))
        .bind(d.interval.whole_seconds())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn device_code_where(&self, column: &str, hash: &str) -> Result<Option<DeviceCode>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM device_codes WHERE {column} = $1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(DeviceCode::from_row).transpose()
    }

    /// The authorization a device polls with.
    pub async fn device_code(&self, device_code_hash: &str) -> Result<Option<DeviceCode>> {
        self.device_code_where("device_code_hash", device_code_hash)
            .await
    }

    /// The authorization a person's typed user code names.
    pub async fn device_code_by_user_code(
        &self,
        user_code_hash: &str,
    ) -> Result<Option<DeviceCode>> {
        self.device_code_where("user_code_hash", user_code_hash)
            .await
    }

    /// Notes a poll at `now`, with the interval the device must keep from now on.
    pub async fn record_device_poll(
        &self,
        device_code_hash: &str,
        now: OffsetDateTime,
        interval: Duration,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE device_codes SET last_poll_at = $2, interval_secs = $3 \
             WHERE device_code_hash = $1",
        )
        .bind(device_code_hash)
        .bind(micros(now))
        .bind(interval.whole_seconds())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Approves (with `approval`) or denies (`None`) a pending, unexpired authorization, once,
    /// with its audit record. False when it was decided already, expired or gone.
    pub async fn decide_device_code(
        &self,
        user_code_hash: &str,
        approval: Option<&DeviceApproval>,
        now: OffsetDateTime,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let pending = "user_code_hash = $1 AND approved_at IS NULL AND denied_at IS NULL \
                       AND expires_at > $2";
        let res = match approval {
            Some(a) => {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE device_codes SET approved_at = $2, user_id = $3, tap_id = $4, \
                     amr = $5, auth_time = $6 WHERE {pending}"
                )))
                .bind(user_code_hash)
                .bind(micros(now))
                .bind(a.user_id.to_string())
                .bind(a.tap_id.map(|t| t.to_string()))
                .bind(a.amr.clone())
                .bind(micros(a.auth_time))
                .execute(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE device_codes SET denied_at = $2 WHERE {pending}"
                )))
                .bind(user_code_hash)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?
            }
        };
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Takes an approved authorization for its tokens: true for exactly one of any number of
    /// concurrent redemptions.
    pub async fn redeem_device_code(
        &self,
        device_code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let res = sqlx::query(
            "UPDATE device_codes SET redeemed_at = $2 WHERE device_code_hash = $1 \
             AND redeemed_at IS NULL AND approved_at IS NOT NULL AND expires_at > $2",
        )
        .bind(device_code_hash)
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }
}
