//! Application registrations, as Graph's `application`: redirect URIs per platform and
//! `passwordCredentials` (client secrets, shown once by `addPassword`). Application permissions
//! are granted with `tapd app create --permission`, not here.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::odata::APPLICATIONS;
use tapd_core::{format_time, parse_time};
use tapd_store::{AppRecord, AppSecret};

use super::query::{OData, Rendered, count_text, page_json};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::service::apps::{self, AppChanges, NewSecret};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/applications", get(list).post(create))
        .route("/applications/$count", get(count))
        .route(
            "/applications/{id}",
            get(get_one).patch(update).delete(remove),
        )
        .route("/applications/{id}/addPassword", post(add_password))
        .route("/applications/{id}/removePassword", post(remove_password))
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

async fn list(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let q = odata.query(&APPLICATIONS, 100)?;
    let page = apps::list(&state.svc, &ctx, &q).await?;
    let at = Rendered {
        context: "applications",
        path: "/v1.0/applications",
    };
    Ok(Json(page_json(&state, &odata, &q, &page, at, app_json)))
}

async fn count(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&APPLICATIONS)?;
    Ok(count_text(&apps::list(&state.svc, &ctx, &q).await?))
}

async fn get_one(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(app_json(&apps::get(&state.svc, &ctx, &id).await?)))
}

async fn create(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<AppChanges>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let app = apps::create(&state.svc, &ctx, body).await?;
    Ok((StatusCode::CREATED, Json(app_json(&app))))
}

async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<AppChanges>,
) -> ApiResult<StatusCode> {
    apps::update(&state.svc, &ctx, &id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    apps::delete(&state.svc, &ctx, &id).await?;
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
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<AddPassword>,
) -> ApiResult<Json<Value>> {
    let cred = body.password_credential.unwrap_or_default();
    let time = |field, s: &Option<String>| s.as_deref().map(|s| parse_time(field, s)).transpose();
    let req = NewSecret {
        display_name: cred.display_name,
        start: time("startDateTime", &cred.start_date_time)?,
        end: time("endDateTime", &cred.end_date_time)?,
    };
    let (secret, stored) = apps::add_secret(&state.svc, &ctx, &id, req).await?;
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
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<RemovePassword>,
) -> ApiResult<StatusCode> {
    apps::remove_secret(&state.svc, &ctx, &id, &body.key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
