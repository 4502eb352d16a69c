//! What the OpenID Connect provider keeps: signing keys, app registrations and their secrets,
//! authorization codes, refresh-token families and browser sessions. Every secret is stored as
//! a hash or sealed; codes and refresh tokens are consumed with one conditional UPDATE, so
//! exactly one of any number of concurrent redemptions wins, on any replica.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};
use tapd_core::Permission;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::rows::permissions_to_text;
use crate::uuid_of;
use crate::{AuditRecord, Result, Store, StoreError, Tx, finish, from_micros, micros};

/// An Ed25519 signing key; the private half sealed by the server.
#[derive(Clone, Debug)]
pub struct SigningKeyRow {
    pub kid: String,
    pub sealed_pkcs8: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: OffsetDateTime,
    pub activates_at: OffsetDateTime,
}

/// An application registration (Graph's `application`), with its secrets.
#[derive(Clone, Debug)]
pub struct AppRecord {
    pub id: Uuid,
    pub client_id: Uuid,
    pub display_name: String,
    /// Application permissions for client-credentials tokens.
    pub permissions: Vec<Permission>,
    /// Confidential redirect URIs (`web`): the code is redeemed with a secret.
    pub web_redirect_uris: Vec<String>,
    /// Browser apps (`spa`): public, PKCE required.
    pub spa_redirect_uris: Vec<String>,
    /// Mobile and desktop apps (`publicClient`): public, PKCE required.
    pub public_redirect_uris: Vec<String>,
    pub created_at: OffsetDateTime,
    pub secrets: Vec<AppSecret>,
}

/// One of an app's `passwordCredentials`.
#[derive(Clone, Debug)]
pub struct AppSecret {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    /// The secret's first three characters, as Graph shows them.
    pub hint: String,
    /// argon2 PHC string.
    pub secret_hash: String,
    pub start_at: OffsetDateTime,
    pub end_at: OffsetDateTime,
}

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

/// A browser session, known by the hash of its cookie.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub token_hash: String,
    pub user_id: Uuid,
    pub tap_id: Option<Uuid>,
    pub amr: String,
    pub auth_time: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a successful sign-in stores, committed with the pass's consumption.
#[derive(Clone, Debug)]
pub enum Grant {
    Refresh(RefreshToken),
    Web(WebSession),
}

/// The outcome of redeeming a one-time token (a code or a refresh token).
#[derive(Debug)]
pub enum Redeemed<T> {
    Fresh(T),
    /// It was used before: its whole family has now been revoked.
    Reused,
    Unknown,
}

pub(crate) const REFRESH_COLUMNS: &str = "token_hash, user_id, tap_id, amr, created_at, expires_at, \
                                          family_id, client_id, scope, auth_time";

pub(crate) const WEB_SESSION_COLUMNS: &str =
    "token_hash, user_id, tap_id, amr, auth_time, created_at, expires_at";

const CODE_COLUMNS: &str = "code_hash, client_id, redirect_uri, user_id, tap_id, amr, scope, \
                            nonce, code_challenge, auth_time, family_id, created_at, expires_at";

const APP_COLUMNS: &str = "id, client_id, display_name, permissions, web_redirect_uris, \
                           spa_redirect_uris, public_redirect_uris, created_at";

type AnyQuery<'q> = Query<'q, Any, AnyArguments>;

fn opt_uuid(s: Option<String>) -> Result<Option<Uuid>> {
    s.map(|s| uuid_of(&s)).transpose()
}

fn uris_to_text(uris: &[String]) -> String {
    serde_json::to_string(uris).expect("strings serialize")
}

fn uris_of(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl RefreshToken {
    pub(crate) fn bind_to<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.token_hash.clone())
            .bind(self.user_id.to_string())
            .bind(self.tap_id.map(|t| t.to_string()))
            .bind(self.amr.clone())
            .bind(micros(self.created_at))
            .bind(micros(self.expires_at))
            .bind(self.family_id.clone())
            .bind(self.client_id.map(|c| c.to_string()))
            .bind(self.scope.clone())
            .bind(micros(self.auth_time))
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

impl WebSession {
    pub(crate) fn bind_to<'q>(&self, q: AnyQuery<'q>) -> AnyQuery<'q> {
        q.bind(self.token_hash.clone())
            .bind(self.user_id.to_string())
            .bind(self.tap_id.map(|t| t.to_string()))
            .bind(self.amr.clone())
            .bind(micros(self.auth_time))
            .bind(micros(self.created_at))
            .bind(micros(self.expires_at))
    }

    fn from_row(r: &AnyRow) -> Result<WebSession> {
        Ok(WebSession {
            token_hash: r.try_get(0)?,
            user_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            tap_id: opt_uuid(r.try_get(2)?)?,
            amr: r.try_get(3)?,
            auth_time: from_micros(r.try_get(4)?)?,
            created_at: from_micros(r.try_get(5)?)?,
            expires_at: from_micros(r.try_get(6)?)?,
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

impl AppRecord {
    fn from_row(r: &AnyRow, secrets: Vec<AppSecret>) -> Result<AppRecord> {
        let perms: String = r.try_get(3)?;
        Ok(AppRecord {
            id: uuid_of(&r.try_get::<String, _>(0)?)?,
            client_id: uuid_of(&r.try_get::<String, _>(1)?)?,
            display_name: r.try_get(2)?,
            permissions: perms
                .split_whitespace()
                .map(|p| {
                    Permission::parse(p)
                        .ok_or_else(|| StoreError::Corrupt(format!("permission {p}")))
                })
                .collect::<Result<_>>()?,
            web_redirect_uris: uris_of(&r.try_get::<String, _>(4)?)?,
            spa_redirect_uris: uris_of(&r.try_get::<String, _>(5)?)?,
            public_redirect_uris: uris_of(&r.try_get::<String, _>(6)?)?,
            created_at: from_micros(r.try_get(7)?)?,
            secrets,
        })
    }
}

impl AppSecret {
    fn from_row(r: &AnyRow) -> Result<AppSecret> {
        Ok(AppSecret {
            key_id: uuid_of(&r.try_get::<String, _>(0)?)?,
            display_name: r.try_get(1)?,
            hint: r.try_get(2)?,
            secret_hash: r.try_get(3)?,
            start_at: from_micros(r.try_get(4)?)?,
            end_at: from_micros(r.try_get(5)?)?,
        })
    }
}

async fn insert_secret(tx: &mut Tx<'_>, app: Uuid, s: &AppSecret) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_secrets (key_id, app_id, display_name, hint, secret_hash, start_at, end_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.key_id.to_string())
    .bind(app.to_string())
    .bind(s.display_name.clone())
    .bind(&s.hint)
    .bind(&s.secret_hash)
    .bind(micros(s.start_at))
    .bind(micros(s.end_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    // ----- signing keys -----

    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, sealed_pkcs8, public_key, created_at, activates_at FROM signing_keys \
             ORDER BY activates_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get(0)?,
                    sealed_pkcs8: r.try_get(1)?,
                    public_key: r.try_get(2)?,
                    created_at: from_micros(r.try_get(3)?)?,
                    activates_at: from_micros(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    /// Adds a signing key. With `only_if_none`, only into an empty table (the first start;
    /// replicas racing through it add one key). Keys retired before `prune_before` are removed.
    pub async fn add_signing_key(
        &self,
        key: &SigningKeyRow,
        only_if_none: bool,
        prune_before: Option<OffsetDateTime>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let condition = if only_if_none {
            " WHERE NOT EXISTS (SELECT 1 FROM signing_keys)"
        } else {
            ""
        };
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO signing_keys (kid, sealed_pkcs8, public_key, created_at, activates_at) \
             SELECT $1, $2, $3, $4, $5{condition} ON CONFLICT (kid) DO NOTHING"
        )))
        .bind(&key.kid)
        .bind(key.sealed_pkcs8.clone())
        .bind(key.public_key.clone())
        .bind(micros(key.created_at))
        .bind(micros(key.activates_at))
        .execute(&mut *tx)
        .await?;
        if let Some(before) = prune_before {
            // A key is retired when a later key activates; remove those retired long enough ago.
            sqlx::query(
                "DELETE FROM signing_keys WHERE EXISTS (SELECT 1 FROM signing_keys AS n \
                 WHERE n.activates_at > signing_keys.activates_at AND n.activates_at < $1)",
            )
            .bind(micros(before))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ----- applications -----

    pub async fn create_app(&self, app: &AppRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(app.id.to_string())
        .bind(app.client_id.to_string())
        .bind(&app.display_name)
        .bind(permissions_to_text(&app.permissions))
        .bind(uris_to_text(&app.web_redirect_uris))
        .bind(uris_to_text(&app.spa_redirect_uris))
        .bind(uris_to_text(&app.public_redirect_uris))
        .bind(micros(app.created_at))
        .execute(&mut *tx)
        .await?;
        for s in &app.secrets {
            insert_secret(&mut tx, app.id, s).await?;
        }
        finish(tx, true, audit).await.map(|_| ())
    }

    /// Rewrites an app's name and redirect URIs.
    pub async fn update_app(&self, app: &AppRecord, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query(
            "UPDATE apps SET display_name = $2, web_redirect_uris = $3, spa_redirect_uris = $4, \
             public_redirect_uris = $5 WHERE id = $1",
        )
        .bind(app.id.to_string())
        .bind(&app.display_name)
        .bind(uris_to_text(&app.web_redirect_uris))
        .bind(uris_to_text(&app.spa_redirect_uris))
        .bind(uris_to_text(&app.public_redirect_uris))
        .execute(&mut *tx)
        .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    /// Deletes an app, its secrets, and the sessions it holds.
    pub async fn delete_app(&self, id: Uuid, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let app = self.app_in(&mut tx, "id", &id.to_string()).await?;
        let Some(app) = app else {
            tx.rollback().await?;
            return Ok(false);
        };
        for sql in [
            "DELETE FROM refresh_tokens WHERE client_id = $1",
            "DELETE FROM auth_codes WHERE client_id = $1",
        ] {
            sqlx::query(sql)
                .bind(app.client_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM apps WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, true, audit).await
    }

    pub async fn add_app_secret(
        &self,
        app: Uuid,
        secret: &AppSecret,
        audit: &AuditRecord,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        insert_secret(&mut tx, app, secret).await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    pub async fn remove_app_secret(
        &self,
        app: Uuid,
        key_id: Uuid,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query("DELETE FROM app_secrets WHERE app_id = $1 AND key_id = $2")
            .bind(app.to_string())
            .bind(key_id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn app_by_client_id(&self, client_id: Uuid) -> Result<Option<AppRecord>> {
        let mut tx = self.pool.begin().await?;
        let app = self
            .app_in(&mut tx, "client_id", &client_id.to_string())
            .await?;
        tx.commit().await?;
        Ok(app)
    }

    pub async fn app(&self, id: Uuid) -> Result<Option<AppRecord>> {
        let mut tx = self.pool.begin().await?;
        let app = self.app_in(&mut tx, "id", &id.to_string()).await?;
        tx.commit().await?;
        Ok(app)
    }

    async fn app_in(
        &self,
        tx: &mut Tx<'_>,
        column: &str,
        value: &str,
    ) -> Result<Option<AppRecord>> {
        let Some(row) = sqlx::query(AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE {column} = $1"
        )))
        .bind(value)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(None);
        };
        let id: String = row.try_get(0)?;
        let secrets = sqlx::query(
            "SELECT key_id, display_name, hint, secret_hash, start_at, end_at FROM app_secrets \
             WHERE app_id = $1 ORDER BY start_at, key_id",
        )
        .bind(&id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(AppSecret::from_row)
        .collect::<Result<Vec<_>>>()?;
        AppRecord::from_row(&row, secrets).map(Some)
    }

    /// Every app, oldest first.
    pub async fn list_apps(&self) -> Result<Vec<AppRecord>> {
        let ids = sqlx::query("SELECT id FROM apps ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        let mut apps = Vec::with_capacity(ids.len());
        for r in ids {
            let id = uuid_of(&r.try_get::<String, _>(0)?)?;
            if let Some(app) = self.app(id).await? {
                apps.push(app);
            }
        }
        Ok(apps)
    }

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
        let mut tx = self.pool.begin().await?;
        insert_refresh(&mut tx, refresh).await?;
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

    // ----- browser sessions -----

    pub async fn web_session(&self, token_hash: &str) -> Result<Option<WebSession>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {WEB_SESSION_COLUMNS} FROM web_sessions WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(WebSession::from_row).transpose()
    }

    pub async fn end_web_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes what has expired or been used: codes, refresh tokens, sessions, passkey ceremonies.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let mut removed = 0;
        for sql in [
            "DELETE FROM auth_codes WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM web_sessions WHERE expires_at < $1",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
        ] {
            removed += sqlx::query(sql)
                .bind(micros(now))
                .execute(&self.pool)
                .await?
                .rows_affected();
        }
        Ok(removed)
    }
}

pub(crate) async fn insert_refresh(tx: &mut Tx<'_>, r: &RefreshToken) -> Result<()> {
    r.bind_to(sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
