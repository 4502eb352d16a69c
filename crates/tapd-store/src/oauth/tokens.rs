//! Authorization codes and refresh tokens, known to the store only by their hashes. Each is
//! redeemed once with a conditional UPDATE; presenting one a second time revokes every refresh
//! token of its family (the tokens rotated from one sign-in).

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::oauth::Redeemed;
use crate::sql::{Value, Writer, column_count, from_micros, micros, opt_uuid, rows_of, uuid_of};
use crate::{Result, Store};

/// An authorization code, known by its hash.
#[derive(Clone, Debug)]
pub struct AuthCode {
    pub code_hash: String,
    pub client_id: Uuid,
    pub redirect_uri: String,
    pub user_id: Uuid,
    pub tap_id: Option<Uuid>,
    pub amr: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)), when the client sent one.
    pub code_challenge: Option<String>,
    pub auth_time: OffsetDateTime,
    /// The refresh-token family this code starts.
    pub family_id: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A refresh token, known to the store only by its hash.
#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub token_hash: String,
    pub user_id: Uuid,
    /// The pass that opened this session, whose deletion ends it.
    pub tap_id: Option<Uuid>,
    /// Space-separated authentication method references.
    pub amr: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Every token rotated from one sign-in shares the family; a reuse revokes all of them.
    pub family_id: String,
    /// The application it was issued to; `None` for tapd's own sign-in API.
    pub client_id: Option<Uuid>,
    pub scope: String,
    pub auth_time: OffsetDateTime,
}

const REFRESH_COLUMNS: &str = "token_hash, user_id, tap_id, amr, created_at, expires_at, \
                               family_id, client_id, scope, auth_time";

const CODE_COLUMNS: &str = "code_hash, client_id, redirect_uri, user_id, tap_id, amr, scope, \
                            nonce, code_challenge, auth_time, family_id, created_at, expires_at";

impl RefreshToken {
    /// The `REFRESH_COLUMNS` values, in order.
    fn values(&self, out: &mut Vec<Value>) {
        out.extend([
            self.token_hash.as_str().into(),
            self.user_id.to_string().into(),
            self.tap_id.map(|t| t.to_string()).into(),
            self.amr.as_str().into(),
            micros(self.created_at).into(),
            micros(self.expires_at).into(),
            self.family_id.as_str().into(),
            self.client_id.map(|c| c.to_string()).into(),
            self.scope.as_str().into(),
            micros(self.auth_time).into(),
        ]);
    }

    fn from_row(r: &AnyRow) -> Result<RefreshToken> {
        Ok(RefreshToken {
            token_hash: r.try_get(0)?,
            user_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            tap_id: opt_uuid(r.try_get(2)?)?,
            amr: r.try_get(3)?,
            created_at: from_micros(r.try_get(4)?)?,
            expires_at: from_micros(r.try_get(5)?)?,
            family_id: r.try_get(6)?,
            client_id: opt_uuid(r.try_get(7)?)?,
            scope: r.try_get(8)?,
            auth_time: from_micros(r.try_get(9)?)?,
        })
    }
}

impl AuthCode {
    fn from_row(r: &AnyRow) -> Result<AuthCode> {
        Ok(AuthCode {
            code_hash: r.try_get(0)?,
            client_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            redirect_uri: r.try_get(2)?,
            user_id: uuid_of(&r.try_get::<String, _>(3)?)?,
            tap_id: opt_uuid(r.try_get(4)?)?,
            amr: r.try_get(5)?,
            scope: r.try_get(6)?,
            nonce: r.try_get(7)?,
            code_challenge: r.try_get(8)?,
            auth_time: from_micros(r.try_get(9)?)?,
            family_id: r.try_get(10)?,
            created_at: from_micros(r.try_get(11)?)?,
            expires_at: from_micros(r.try_get(12)?)?,
        })
    }
}

impl Store {
    // ----- authorization codes -----

    pub async fn put_auth_code(&self, code: &AuthCode) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO auth_codes ({CODE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )))
        .bind(&code.code_hash)
        .bind(code.client_id.to_string())
        .bind(&code.redirect_uri)
        .bind(code.user_id.to_string())
        .bind(code.tap_id.map(|t| t.to_string()))
        .bind(&code.amr)
        .bind(&code.scope)
        .bind(code.nonce.clone())
        .bind(code.code_challenge.clone())
        .bind(micros(code.auth_time))
        .bind(&code.family_id)
        .bind(micros(code.created_at))
        .bind(micros(code.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Redeems a code once. A second redemption revokes the tokens the first one obtained
    /// (RFC 6749 §4.1.2).
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Redeemed<AuthCode>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE auth_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL \
             RETURNING {CODE_COLUMNS}"
        )))
        .bind(code_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok(Redeemed::Fresh(AuthCode::from_row(&row)?));
        }
        self.revoke_reused("auth_codes", "code_hash", code_hash)
            .await
    }

    /// The family of a used code or token, revoked; or `Unknown`.
    async fn revoke_reused<T>(&self, table: &str, key: &str, hash: &str) -> Result<Redeemed<T>> {
        let family: Option<String> = sqlx::query(AssertSqlSafe(format!(
            "SELECT family_id FROM {table} WHERE {key} = $1"
        )))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        match family {
            Some(family) => {
                self.revoke_family(&family).await?;
                Ok(Redeemed::Reused)
            }
            None => Ok(Redeemed::Unknown),
        }
    }

    // ----- refresh tokens -----

    /// Takes a refresh token (rotation: each is used once). A reused token revokes its family.
    pub async fn redeem_refresh(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Redeemed<RefreshToken>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
             RETURNING {REFRESH_COLUMNS}"
        )))
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            return Ok(Redeemed::Fresh(RefreshToken::from_row(&row)?));
        }
        self.revoke_reused("refresh_tokens", "token_hash", token_hash)
            .await
    }

    /// A refresh token that has not been used, for introspection.
    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshToken>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NULL"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(RefreshToken::from_row).transpose()
    }

    pub async fn put_refresh(&self, refresh: &RefreshToken) -> Result<()> {
        let mut tx = self.write_tx().await?;
        insert_refreshes(&mut tx, &[refresh]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a sign-in's every refresh token.
    pub async fn revoke_family(&self, family_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM refresh_tokens WHERE family_id = $1")
            .bind(family_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Inserts refresh tokens with one statement.
pub(crate) async fn insert_refreshes(
    tx: &mut impl Writer,
    refreshes: &[&RefreshToken],
) -> Result<()> {
    if refreshes.is_empty() {
        return Ok(());
    }
    let columns = column_count(REFRESH_COLUMNS);
    let sql = format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES {}",
        rows_of(tx.dialect(), refreshes.len(), columns)
    );
    let mut args = Vec::with_capacity(refreshes.len() * columns);
    for r in refreshes {
        r.values(&mut args);
    }
    tx.execute(&sql, args).await?;
    Ok(())
}
