//! Application registrations, as Graph's `application`: redirect URIs per platform (`web` is
//! confidential, `spa` and `publicClient` are public and use PKCE) and `passwordCredentials`
//! (client secrets, shown once by `addPassword`). Application permissions are granted with
//! `tapd app create --permission`, not here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::Action;
use tapd_store::{AppRecord, AppSecret};
use uuid::Uuid;

use super::{change_record, collection, format_time, parse_id, parse_time, target};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::GraphJson;
use crate::ops::{SECRET_LIFETIME, new_app_secret, validate_redirect_uris};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/applications", get(list).post(create))
        .route(
            "/applications/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/applications/{id}/addPassword", post(add_password))
        .route("/applications/{id}/removePassword", post(remove_password))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RedirectUris {
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebSettings {
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    /// Accepted for compatibility; tapd issues no tokens from the authorize endpoint.
    #[serde(default)]
    implicit_grant_settings: Option<ImplicitGrant>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImplicitGrant {
    enable_access_token_issuance: Option<bool>,
    enable_id_token_issuance: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ApplicationBody {
    display_name: Option<String>,
    sign_in_audience: Option<String>,
    web: Option<WebSettings>,
    spa: Option<RedirectUris>,
    public_client: Option<RedirectUris>,
}

fn app_json(app: &AppRecord) -> Value {
    json!({
        "id": app.id,
        "appId": app.client_id,
        "displayName": app.display_name,
        "createdDateTime": format_time(app.created_at),
        "signInAudience": "AzureADMyOrg",
        "isFallbackPublicClient": false,
        "web": {
            "redirectUris": app.web_redirect_uris,
            "homePageUrl": null,
            "logoutUrl": null,
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
        },
        "spa": {"redirectUris": app.spa_redirect_uris},
        "publicClient": {"redirectUris": app.public_redirect_uris},
        "passwordCredentials": app.secrets.iter().map(|s| secret_json(s, None)).collect::<Vec<_>>(),
        "keyCredentials": [],
        "requiredResourceAccess": [],
        "tags": [],
    })
}

fn secret_json(s: &AppSecret, secret_text: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": format_time(s.end_at),
        "hint": s.hint,
        "keyId": s.key_id,
        "secretText": secret_text,
        "startDateTime": format_time(s.start_at),
    })
}

async fn find_app(state: &SharedState, id: &str) -> ApiResult<AppRecord> {
    let id = parse_id("Application", id)?;
    state.store.app(id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))
    })
}

/// Applies a create or update body to `app`, validating everything first.
fn apply(app: &mut AppRecord, body: ApplicationBody) -> ApiResult<()> {
    if let Some(name) = body.display_name {
        let name = name.trim();
        if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "Invalid value for property 'displayName': it must be 1 to 256 printable characters.",
            ));
        }
        app.display_name = name.to_string();
    }
    if let Some(audience) = body.sign_in_audience
        && audience != "AzureADMyOrg"
    {
        return Err(ApiError::bad_request(format!(
            "Invalid value for property 'signInAudience': '{audience}'. tapd serves one directory: use AzureADMyOrg."
        )));
    }
    if let Some(web) = body.web {
        if let Some(implicit) = web.implicit_grant_settings
            && (implicit.enable_access_token_issuance == Some(true)
                || implicit.enable_id_token_issuance == Some(true))
        {
            return Err(ApiError::bad_request(
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

async fn list(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadApplications)?;
    let apps = state.store.list_apps().await?;
    Ok(Json(collection(
        &state,
        "applications",
        apps.iter().map(app_json).collect(),
    )))
}

async fn get_one(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadApplications)?;
    Ok(Json(app_json(&find_app(&state, &id).await?)))
}

async fn create(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(body): GraphJson<ApplicationBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.authorize(Action::WriteApplications)?;
    if body.display_name.is_none() {
        return Err(ApiError::bad_request("Property 'displayName' is required."));
    }
    let mut app = AppRecord {
        id: Uuid::new_v4(),
        client_id: Uuid::new_v4(),
        display_name: String::new(),
        permissions: vec![],
        web_redirect_uris: vec![],
        spa_redirect_uris: vec![],
        public_redirect_uris: vec![],
        created_at: state.now(),
        secrets: vec![],
    };
    apply(&mut app, body)?;
    let record = change_record(
        &state,
        &caller,
        "ApplicationManagement",
        "Add application",
        "Add",
        vec![target("Application", app.id, &app.display_name)],
        vec![],
    );
    state.store.create_app(&app, &record).await?;
    Ok((StatusCode::CREATED, Json(app_json(&app))))
}

async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
    GraphJson(body): GraphJson<ApplicationBody>,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteApplications)?;
    let mut app = find_app(&state, &id).await?;
    apply(&mut app, body)?;
    let record = change_record(
        &state,
        &caller,
        "ApplicationManagement",
        "Update application",
        "Update",
        vec![target("Application", app.id, &app.display_name)],
        vec![],
    );
    if !state.store.update_app(&app, &record).await? {
        return Err(ApiError::not_found(format!(
            "Application '{id}' does not exist."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteApplications)?;
    let app = find_app(&state, &id).await?;
    let record = change_record(
        &state,
        &caller,
        "ApplicationManagement",
        "Delete application",
        "Delete",
        vec![target("Application", app.id, &app.display_name)],
        vec![],
    );
    if !state.store.delete_app(app.id, &record).await? {
        return Err(ApiError::not_found(format!(
            "Application '{id}' does not exist."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddPassword {
    #[serde(default)]
    password_credential: Option<PasswordCredential>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordCredential {
    display_name: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

/// Adds a client secret; the answer is the only place its text ever appears.
async fn add_password(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
    GraphJson(body): GraphJson<AddPassword>,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::WriteApplications)?;
    let app = find_app(&state, &id).await?;
    let cred = body.password_credential.unwrap_or_default();
    let now = state.now();
    let start = match &cred.start_date_time {
        Some(s) => parse_time("startDateTime", s)?,
        None => now,
    };
    let end = match &cred.end_date_time {
        Some(s) => parse_time("endDateTime", s)?,
        None => start + SECRET_LIFETIME,
    };
    if end <= start {
        return Err(ApiError::bad_request(
            "Invalid value for property 'endDateTime': it must be after startDateTime.",
        ));
    }
    if let Some(name) = &cred.display_name
        && (name.len() > 256 || name.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            "Invalid value for property 'displayName': at most 256 printable characters.",
        ));
    }
    let (secret, stored) = new_app_secret(cred.display_name.clone(), start, end)
        .await
        .map_err(|_| ApiError::internal())?;
    let record = change_record(
        &state,
        &caller,
        "ApplicationManagement",
        "Update application – Certificates and secrets management",
        "Update",
        vec![target("Application", app.id, &app.display_name)],
        vec![("keyId", stored.key_id.to_string())],
    );
    state.store.add_app_secret(app.id, &stored, &record).await?;
    Ok(Json(secret_json(&stored, Some(&secret))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RemovePassword {
    key_id: String,
}

async fn remove_password(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
    GraphJson(body): GraphJson<RemovePassword>,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteApplications)?;
    let app = find_app(&state, &id).await?;
    let key_id = Uuid::parse_str(body.key_id.trim()).map_err(|_| {
        ApiError::bad_request(format!(
            "Invalid value for property 'keyId': '{}' is not a GUID.",
            body.key_id
        ))
    })?;
    let record = change_record(
        &state,
        &caller,
        "ApplicationManagement",
        "Update application – Certificates and secrets management",
        "Update",
        vec![target("Application", app.id, &app.display_name)],
        vec![("keyId", key_id.to_string())],
    );
    if !state
        .store
        .remove_app_secret(app.id, key_id, &record)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "No password credential with keyId '{key_id}' on application '{}'.",
            app.id
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
