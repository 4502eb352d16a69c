//! Application registrations, as Graph's `application`: redirect URIs per platform and
//! `passwordCredentials` (client secrets, shown once by `addPassword`). Application permissions
//! are granted with `tapd app create --permission`, not here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::odata::APPLICATIONS;
use tapd_core::{format_time, parse_time};
use tapd_store::{AppRecord, AppSecret};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{
    Consistency, CountOptions, ListOptions, OData, Rendered, count_text, page_json,
};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::apps::{self, AppChanges, NewSecret};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(count))
        .routes(routes!(get_one, update, remove))
        .routes(routes!(add_password))
        .routes(routes!(remove_password))
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

#[utoipa::path(get, path = "/applications", tag = "applications", params(ListOptions, Consistency),
    responses((status = 200, description = "A page of applications.", body = shapes::ApplicationCollection)))]
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

#[utoipa::path(get, path = "/applications/$count", tag = "applications", params(CountOptions, Consistency),
    responses((status = 200, description = "How many applications match.", body = i64, content_type = "text/plain")))]
async fn count(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&APPLICATIONS)?;
    Ok(count_text(&apps::list(&state.svc, &ctx, &q).await?))
}

#[utoipa::path(get, path = "/applications/{id}", tag = "applications", params(("id" = String, Path, description = "The application's object id or appId.")),
    responses((status = 200, description = "The application.", body = shapes::Application)))]
async fn get_one(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(app_json(&apps::get(&state.svc, &ctx, &id).await?)))
}

#[utoipa::path(post, path = "/applications", tag = "applications", request_body = AppChanges,
    responses((status = 201, description = "The new registration.", body = shapes::Application)))]
async fn create(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<AppChanges>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let app = apps::create(&state.svc, &ctx, body).await?;
    Ok((StatusCode::CREATED, Json(app_json(&app))))
}

#[utoipa::path(patch, path = "/applications/{id}", tag = "applications", params(("id" = String, Path, description = "The application's object id or appId.")), request_body = Option<AppChanges>,
    responses((status = 204, description = "Changed.")))]
async fn update(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<AppChanges>,
) -> ApiResult<StatusCode> {
    apps::update(&state.svc, &ctx, &id, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/applications/{id}", tag = "applications", params(("id" = String, Path, description = "The application's object id or appId.")),
    responses((status = 204, description = "Deleted, with its secrets and grants.")))]
async fn remove(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    apps::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddPassword {
    #[serde(default)]
    password_credential: Option<PasswordCredential>,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PasswordCredential {
    display_name: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

#[utoipa::path(post, path = "/applications/{id}/addPassword", tag = "applications", params(("id" = String, Path, description = "The application's object id or appId.")), request_body = Option<AddPassword>,
    responses((status = 200, description = "The new secret, its text shown this once.", body = shapes::PasswordCredential)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RemovePassword {
    key_id: String,
}

#[utoipa::path(post, path = "/applications/{id}/removePassword", tag = "applications", params(("id" = String, Path, description = "The application's object id or appId.")), request_body = RemovePassword,
    responses((status = 204, description = "Removed.")))]
async fn remove_password(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(body): GraphJson<RemovePassword>,
) -> ApiResult<StatusCode> {
    apps::remove_secret(&state.svc, &ctx, &id, &body.key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
