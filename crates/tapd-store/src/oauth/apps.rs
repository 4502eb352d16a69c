//! App registrations (Graph's `application`): who may ask for tokens, where codes may be sent,
//! which application permissions a client-credentials token carries, and the app's secrets
//! (argon2 hashes; Graph shows only a three-character hint).

use std::sync::LazyLock;

use sqlx::{AssertSqlSafe, Row};
use tapd_core::Permission;
use tapd_core::odata::Query;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::audit::{AuditRecord, finish};
use crate::query::{Column, Listing, TENANT_COLUMN};
use crate::read::{Arg, Columns};
use crate::sql::{Tx, column_count, from_micros, micros, uuid_of};
use crate::{Page, Result, Store, StoreError};

/// An application registration (Graph's `application`), with its secrets.
#[derive(Clone, Debug)]
pub struct AppRecord {
    pub id: Uuid,
    /// The tenant the app is registered in.
    pub tenant: Uuid,
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

const APP_COLUMNS: &str = "id, client_id, display_name, permissions, web_redirect_uris, \
                           spa_redirect_uris, public_redirect_uris, created_at, tenant_id";

fn permissions_to_text(p: &[Permission]) -> String {
    p.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
}

fn uris_to_text(uris: &[String]) -> String {
    serde_json::to_string(uris).expect("strings serialize")
}

fn uris_of(text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl AppRecord {
    /// Decodes the `APP_COLUMNS` of a row; the secrets come apart.
    fn from_row<R: Columns + ?Sized>(r: &R, secrets: Vec<AppSecret>) -> Result<AppRecord> {
        let perms = r.text(3)?;
        Ok(AppRecord {
            id: uuid_of(&r.text(0)?)?,
            tenant: uuid_of(&r.text(8)?)?,
            client_id: uuid_of(&r.text(1)?)?,
            display_name: r.text(2)?,
            permissions: perms
                .split_whitespace()
                .map(|p| {
                    Permission::parse(p)
                        .ok_or_else(|| StoreError::Corrupt(format!("permission {p}")))
                })
                .collect::<Result<_>>()?,
            web_redirect_uris: uris_of(&r.text(4)?)?,
            spa_redirect_uris: uris_of(&r.text(5)?)?,
            public_redirect_uris: uris_of(&r.text(6)?)?,
            created_at: from_micros(r.int(7)?)?,
            secrets,
        })
    }
}

impl AppSecret {
    /// Decodes the `SECRET_COLUMNS` that start at column `at`; `None` for a row without one.
    fn from_row_at<R: Columns + ?Sized>(r: &R, at: usize) -> Result<Option<AppSecret>> {
        let Some(key_id) = r.opt_text(at)? else {
            return Ok(None);
        };
        Ok(Some(AppSecret {
            key_id: uuid_of(&key_id)?,
            display_name: r.opt_text(at + 1)?,
            hint: r.text(at + 2)?,
            secret_hash: r.text(at + 3)?,
            start_at: from_micros(r.int(at + 4)?)?,
            end_at: from_micros(r.int(at + 5)?)?,
        }))
    }
}

const SECRET_COLUMNS: &str = "key_id, display_name, hint, secret_hash, start_at, end_at";

/// An app with its secrets, one row per secret (one without any), where `{column} = $1`: one
/// statement, so one snapshot on either database.
fn app_sql(column: &str) -> String {
    format!(
        "SELECT {}, {} FROM apps a LEFT JOIN app_secrets s ON s.app_id = a.id \
         WHERE a.{column} = $1 ORDER BY s.start_at, s.key_id",
        crate::passes::qualified("a", APP_COLUMNS),
        crate::passes::qualified("s", SECRET_COLUMNS),
    )
}

static APP_BY_ID: LazyLock<String> = LazyLock::new(|| app_sql("id"));
static APP_BY_CLIENT_ID: LazyLock<String> = LazyLock::new(|| app_sql("client_id"));

/// The app of [`app_sql`]'s rows, each row decoded as the app and maybe a secret.
fn app_of(rows: Vec<(AppRecord, Option<AppSecret>)>) -> Option<AppRecord> {
    let mut rows = rows.into_iter();
    let (mut app, first) = rows.next()?;
    app.secrets = first
        .into_iter()
        .chain(rows.filter_map(|(_, s)| s))
        .collect();
    Some(app)
}

fn app_row<R: Columns + ?Sized>(r: &R) -> Result<(AppRecord, Option<AppSecret>)> {
    let columns = column_count(APP_COLUMNS);
    Ok((
        AppRecord::from_row(r, Vec::new())?,
        AppSecret::from_row_at(r, columns)?,
    ))
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
    pub async fn create_app(&self, app: &AppRecord, audit: &AuditRecord) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO apps ({APP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(app.id.to_string())
        .bind(app.client_id.to_string())
        .bind(&app.display_name)
        .bind(permissions_to_text(&app.permissions))
        .bind(uris_to_text(&app.web_redirect_uris))
        .bind(uris_to_text(&app.spa_redirect_uris))
        .bind(uris_to_text(&app.public_redirect_uris))
        .bind(micros(app.created_at))
        .bind(app.tenant.to_string())
        .execute(&mut *tx)
        .await?;
        for s in &app.secrets {
            insert_secret(&mut tx, app.id, s).await?;
        }
        finish(tx, true, audit).await.map(|_| ())
    }

    /// Rewrites an app's name and redirect URIs.
    pub async fn update_app(&self, app: &AppRecord, audit: &AuditRecord) -> Result<bool> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
        let app = self.app_in(&mut tx, &id.to_string()).await?;
        let Some(app) = app else {
            tx.rollback().await?;
            return Ok(false);
        };
        for sql in [
            "DELETE FROM refresh_tokens WHERE client_id = $1",
            "DELETE FROM auth_codes WHERE client_id = $1",
            "DELETE FROM device_codes WHERE client_id = $1",
            "DELETE FROM failure_runs WHERE subject = 'client:' || $1",
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
        let mut tx = self.write_tx().await?;
        insert_secret(&mut tx, app, secret).await?;
        finish(tx, true, audit).await.map(|_| ())
    }

    pub async fn remove_app_secret(
        &self,
        app: Uuid,
        key_id: Uuid,
        audit: &AuditRecord,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query("DELETE FROM app_secrets WHERE app_id = $1 AND key_id = $2")
            .bind(app.to_string())
            .bind(key_id.to_string())
            .execute(&mut *tx)
            .await?;
        finish(tx, res.rows_affected() == 1, audit).await
    }

    pub async fn app_by_client_id(&self, client_id: Uuid) -> Result<Option<AppRecord>> {
        let client_id = client_id.to_string();
        let args = [Arg::Text(&client_id)];
        let rows = self.read_rows(&APP_BY_CLIENT_ID, &args, |r| app_row(r));
        Ok(app_of(rows.await?))
    }

    /// An app registered in `tenant`; another tenant's is none.
    pub async fn app(&self, tenant: Uuid, id: Uuid) -> Result<Option<AppRecord>> {
        let app = self.app_anywhere(id).await?;
        Ok(app.filter(|a| a.tenant == tenant))
    }

    /// An app in any tenant: for what a token names, whose tenant the app's record then tells.
    pub async fn app_anywhere(&self, id: Uuid) -> Result<Option<AppRecord>> {
        let id = id.to_string();
        let args = [Arg::Text(&id)];
        let rows = self.read_rows(&APP_BY_ID, &args, |r| app_row(r));
        Ok(app_of(rows.await?))
    }

    /// The app with this id, read inside `tx`.
    async fn app_in(&self, tx: &mut Tx<'_>, id: &str) -> Result<Option<AppRecord>> {
        let rows = sqlx::query(APP_BY_ID.as_str())
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
        let rows = rows.iter().map(app_row).collect::<Result<Vec<_>>>()?;
        Ok(app_of(rows))
    }

    /// A page of apps under Graph's query options, oldest first unless `$orderby` says
    /// otherwise.
    pub async fn list_apps(&self, tenant: Uuid, q: &Query) -> Result<Page<AppRecord>> {
        let listing = Listing {
            select: "id".into(),
            from: "apps",
            columns: |property| {
                Some(match property {
                    "id" => Column::Id("id"),
                    "appId" => Column::Id("client_id"),
                    "displayName" => Column::Text("display_name"),
                    "createdDateTime" => Column::Time("created_at"),
                    _ => return None,
                })
            },
            default_order: "created_at, id",
            tiebreak: "id",
            tenant_scope: TENANT_COLUMN,
        };
        let page = self.page(&listing, tenant, None, q).await?;
        let mut apps = Vec::with_capacity(page.items.len());
        for r in &page.items {
            let id = uuid_of(&r.try_get::<String, _>(0)?)?;
            if let Some(app) = self.app(tenant, id).await? {
                apps.push(app);
            }
        }
        Ok(Page {
            items: apps,
            count: page.count,
            more: page.more,
        })
    }
}
