//! Application registrations (SPEC §6.4): redirect URIs per platform (`web` is confidential,
//! `spa` and `publicClient` are public and use PKCE), client secrets shown once and stored
//! hashed, and application permissions (granted by the operator only).

use serde::Deserialize;
use tapd_core::odata::Query;
use tapd_core::{
    Action, DomainError, MAX_REDIRECT_URIS, Permission, Platform, check_instant,
    validate_redirect_uri,
};
use tapd_store::{AppRecord, AppSecret, AuditRecord, Page};
use time::OffsetDateTime;
use uuid::Uuid;

use super::audit::{self, Change};
use super::{Ctx, ServiceError, ServiceResult, Services, parse_id};
use crate::keys::new_opaque_token;

/// How long a client secret is valid by default: two years, as Entra's longest recommended.
pub const SECRET_LIFETIME: time::Duration = time::Duration::days(730);

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedirectUris {
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebSettings {
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// Accepted for compatibility; tapd issues no tokens from the authorize endpoint.
    #[serde(default)]
    pub implicit_grant_settings: Option<ImplicitGrant>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImplicitGrant {
    pub enable_access_token_issuance: Option<bool>,
    pub enable_id_token_issuance: Option<bool>,
}

/// A registration or its changes, as Graph's `application` body.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppChanges {
    pub display_name: Option<String>,
    pub sign_in_audience: Option<String>,
    pub web: Option<WebSettings>,
    pub spa: Option<RedirectUris>,
    pub public_client: Option<RedirectUris>,
}

/// A new client secret's name and validity (both ends optional).
pub struct NewSecret {
    pub display_name: Option<String>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
}

/// What the operator registers with `tapd app create`.
#[derive(Default)]
pub struct AppSpec {
    pub name: String,
    pub permissions: Vec<Permission>,
    pub web_redirect_uris: Vec<String>,
    pub spa_redirect_uris: Vec<String>,
    pub public_redirect_uris: Vec<String>,
}

/// A new application; its secret (if it has one) is shown once and stored hashed.
pub struct NewApp {
    pub id: Uuid,
    pub client_id: Uuid,
    pub client_secret: Option<String>,
}

fn app_change(
    ctx: &Ctx,
    activity: &str,
    operation: &str,
    app: &AppRecord,
    details: Vec<(&str, String)>,
) -> AuditRecord {
    audit::change(
        ctx,
        Change {
            category: "ApplicationManagement",
            activity,
            operation,
            targets: vec![audit::target("Application", app.id, &app.display_name)],
            details,
        },
    )
}

fn app_not_found(id: &str) -> ServiceError {
    ServiceError::not_found(format!(
        "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
    ))
}

async fn find(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<AppRecord> {
    let id = parse_id("Application", id)?;
    svc.store
        .app(ctx.tenant, id)
        .await?
        .ok_or_else(|| app_not_found(&id.to_string()))
}

pub async fn list(svc: &Services, ctx: &Ctx, q: &Query) -> ServiceResult<Page<AppRecord>> {
    ctx.authorize(Action::ReadApplications)?;
    Ok(svc.store.list_apps(ctx.tenant, q).await?)
}

pub async fn get(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<AppRecord> {
    ctx.authorize(Action::ReadApplications)?;
    find(svc, ctx, id).await
}

pub async fn create(svc: &Services, ctx: &Ctx, body: AppChanges) -> ServiceResult<AppRecord> {
    ctx.authorize(Action::WriteApplications)?;
    if body.display_name.is_none() {
        return Err(ServiceError::bad_request(
            "Property 'displayName' is required.",
        ));
    }
    let mut app = AppRecord {
        id: Uuid::new_v4(),
        tenant: ctx.tenant,
        client_id: Uuid::new_v4(),
        display_name: String::new(),
        permissions: vec![],
        web_redirect_uris: vec![],
        spa_redirect_uris: vec![],
        public_redirect_uris: vec![],
        created_at: ctx.now,
        secrets: vec![],
    };
    apply(&mut app, body)?;
    let record = app_change(ctx, "Add application", "Add", &app, vec![]);
    svc.store.create_app(&app, &record).await?;
    Ok(app)
}

pub async fn update(svc: &Services, ctx: &Ctx, id: &str, body: AppChanges) -> ServiceResult<()> {
    ctx.authorize(Action::WriteApplications)?;
    let mut app = find(svc, ctx, id).await?;
    apply(&mut app, body)?;
    let record = app_change(ctx, "Update application", "Update", &app, vec![]);
    if !svc.store.update_app(&app, &record).await? {
        return Err(ServiceError::not_found(format!(
            "Application '{id}' does not exist."
        )));
    }
    Ok(())
}

pub async fn delete(svc: &Services, ctx: &Ctx, id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteApplications)?;
    let app = find(svc, ctx, id).await?;
    let record = app_change(ctx, "Delete application", "Delete", &app, vec![]);
    if !svc.store.delete_app(app.id, &record).await? {
        return Err(ServiceError::not_found(format!(
            "Application '{id}' does not exist."
        )));
    }
    Ok(())
}

/// Applies a create or update body to `app`, validating everything first.
fn apply(app: &mut AppRecord, body: AppChanges) -> ServiceResult<()> {
    if let Some(name) = body.display_name {
        app.display_name = checked_name(&name)?;
    }
    if let Some(audience) = body.sign_in_audience
        && audience != "AzureADMyOrg"
    {
        return Err(ServiceError::bad_request(format!(
            "Invalid value for property 'signInAudience': '{audience}'. tapd serves one directory: use AzureADMyOrg."
        )));
    }
    if let Some(web) = body.web {
        if let Some(implicit) = web.implicit_grant_settings
            && (implicit.enable_access_token_issuance == Some(true)
                || implicit.enable_id_token_issuance == Some(true))
        {
            return Err(ServiceError::bad_request(
                "The implicit grant is not supported: use the authorization code flow with PKCE.",
            ));
        }
        if let Some(uris) = web.redirect_uris {
            app.web_redirect_uris = uris;
        }
    }
    if let Some(uris) = body.spa.and_then(|s| s.redirect_uris) {
        app.spa_redirect_uris = uris;
    }
    if let Some(uris) = body.public_client.and_then(|s| s.redirect_uris) {
        app.public_redirect_uris = uris;
    }
    validate_redirect_uris(
        &app.web_redirect_uris,
        &app.spa_redirect_uris,
        &app.public_redirect_uris,
    )?;
    Ok(())
}

fn checked_name(name: &str) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(ServiceError::bad_request(
            "Invalid value for property 'displayName': it must be 1 to 256 printable characters.",
        ));
    }
    Ok(name.to_string())
}

/// Checks every redirect URI of a registration.
pub fn validate_redirect_uris(
    web: &[String],
    spa: &[String],
    public: &[String],
) -> Result<(), DomainError> {
    for (platform, uris) in [
        (Platform::Web, web),
        (Platform::Spa, spa),
        (Platform::PublicClient, public),
    ] {
        if uris.len() > MAX_REDIRECT_URIS {
            return Err(DomainError::BadRequest(format!(
                "At most {MAX_REDIRECT_URIS} redirect URIs per platform."
            )));
        }
        for uri in uris {
            validate_redirect_uri(platform, uri)?;
        }
    }
    Ok(())
}

/// A new client secret and what the store keeps of it (argon2 hash, off the async threads).
async fn new_secret(
    svc: &Services,
    display_name: Option<String>,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> ServiceResult<(String, AppSecret)> {
    let secret = new_opaque_token();
    let hash = {
        let secret = secret.clone();
        svc.hash(move |_| crate::keys::hash_password(&secret))
            .await?
    };
    let stored = AppSecret {
        key_id: Uuid::new_v4(),
        display_name,
        hint: secret.chars().take(3).collect(),
        secret_hash: hash,
        start_at: start,
        end_at: end,
    };
    Ok((secret, stored))
}

/// Adds a client secret; the answer is the only place its text ever appears.
pub async fn add_secret(
    svc: &Services,
    ctx: &Ctx,
    id: &str,
    req: NewSecret,
) -> ServiceResult<(String, AppSecret)> {
    ctx.authorize(Action::WriteApplications)?;
    let app = find(svc, ctx, id).await?;
    let start = match req.start {
        Some(start) => check_instant("startDateTime", start)?,
        None => ctx.now,
    };
    let end = match req.end {
        Some(end) => check_instant("endDateTime", end)?,
        None => start.saturating_add(SECRET_LIFETIME),
    };
    if end <= start {
        return Err(ServiceError::bad_request(
            "Invalid value for property 'endDateTime': it must be after startDateTime.",
        ));
    }
    if let Some(name) = &req.display_name
        && (name.len() > 256 || name.chars().any(char::is_control))
    {
        return Err(ServiceError::bad_request(
            "Invalid value for property 'displayName': at most 256 printable characters.",
        ));
    }
    let (secret, stored) = new_secret(svc, req.display_name, start, end).await?;
    let activity = "Update application – Certificates and secrets management";
    let record = app_change(
        ctx,
        activity,
        "Update",
        &app,
        vec![("keyId", stored.key_id.to_string())],
    );
    svc.store.add_app_secret(app.id, &stored, &record).await?;
    Ok((secret, stored))
}

pub async fn remove_secret(svc: &Services, ctx: &Ctx, id: &str, key_id: &str) -> ServiceResult<()> {
    ctx.authorize(Action::WriteApplications)?;
    let app = find(svc, ctx, id).await?;
    let key_id = Uuid::parse_str(key_id.trim()).map_err(|_| {
        ServiceError::bad_request(format!(
            "Invalid value for property 'keyId': '{key_id}' is not a GUID."
        ))
    })?;
    let activity = "Update application – Certificates and secrets management";
    let record = app_change(
        ctx,
        activity,
        "Update",
        &app,
        vec![("keyId", key_id.to_string())],
    );
    if !svc.store.remove_app_secret(app.id, key_id, &record).await? {
        return Err(ServiceError::not_found(format!(
            "No password credential with keyId '{key_id}' on application '{}'.",
            app.id
        )));
    }
    Ok(())
}

/// Registers an application from the command line, with application permissions. It gets a
/// secret when it is confidential: when it has application permissions, `web` redirect URIs,
/// or no redirect URI at all.
pub async fn register(svc: &Services, ctx: &Ctx, spec: &AppSpec) -> ServiceResult<NewApp> {
    ctx.authorize(Action::WriteApplications)?;
    let name = spec.name.trim();
    if name.is_empty() || name.len() > 256 {
        return Err(ServiceError::bad_request(
            "the application name must be 1 to 256 characters",
        ));
    }
    validate_redirect_uris(
        &spec.web_redirect_uris,
        &spec.spa_redirect_uris,
        &spec.public_redirect_uris,
    )?;
    let public_only = spec.permissions.is_empty()
        && spec.web_redirect_uris.is_empty()
        && !(spec.spa_redirect_uris.is_empty() && spec.public_redirect_uris.is_empty());
    let secret = if public_only {
        None
    } else {
        Some(
            new_secret(
                svc,
                Some("tapd app create".into()),
                ctx.now,
                ctx.now.saturating_add(SECRET_LIFETIME),
            )
            .await?,
        )
    };
    let app = AppRecord {
        id: Uuid::new_v4(),
        tenant: ctx.tenant,
        client_id: Uuid::new_v4(),
        display_name: name.to_string(),
        permissions: spec.permissions.clone(),
        web_redirect_uris: spec.web_redirect_uris.clone(),
        spa_redirect_uris: spec.spa_redirect_uris.clone(),
        public_redirect_uris: spec.public_redirect_uris.clone(),
        created_at: ctx.now,
        secrets: secret.iter().map(|(_, s)| s.clone()).collect(),
    };
    let permissions: Vec<&str> = spec.permissions.iter().map(|p| p.as_str()).collect();
    let details = vec![("detail", format!("permissions: {}", permissions.join(" ")))];
    let record = app_change(ctx, "Add application", "Add", &app, details);
    svc.store.create_app(&app, &record).await?;
    Ok(NewApp {
        id: app.id,
        client_id: app.client_id,
        client_secret: secret.map(|(s, _)| s),
    })
}
