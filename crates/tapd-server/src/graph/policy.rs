//! The authentication methods policy: the whole of it, and its TAP (SPEC §3) and FIDO2
//! method configurations.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::{Fido2Policy, TapPolicy, format_time};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::collection;
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::{JsonBytes, parse_body};
use crate::openapi::shapes;
use crate::service::fido2::{self, FIDO2_CONFIG_ID, MethodsPolicy, is_fido2};
use crate::service::policy::{self, TAP_CONFIG_ID};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(get_methods_policy))
        .routes(routes!(list_configurations))
        .routes(routes!(get_policy, patch_policy, reset_policy))
}

pub fn policy_json(p: &TapPolicy) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
    v["@odata.type"] =
        json!("#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration");
    v["id"] = json!(TAP_CONFIG_ID);
    v
}

pub fn fido2_json(p: &Fido2Policy) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
    v["@odata.type"] = json!("#microsoft.graph.fido2AuthenticationMethodConfiguration");
    v["id"] = json!(FIDO2_CONFIG_ID);
    v["keyRestrictions"]["@odata.type"] = json!("#microsoft.graph.fido2KeyRestrictions");
    v
}

fn configurations(p: &MethodsPolicy) -> Vec<Value> {
    vec![policy_json(&p.tap), fido2_json(&p.fido2)]
}

#[utoipa::path(get, path = "/policies/authenticationMethodsPolicy", tag = "policy",
    responses((status = 200, description = "The whole policy.", body = shapes::AuthenticationMethodsPolicy)))]
async fn get_methods_policy(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let p = fido2::methods_policy(&state.svc, &ctx).await?;
    Ok(Json(json!({
        "@odata.context": format!(
            "{}/v1.0/$metadata#policies/authenticationMethodsPolicy",
            state.public_url
        ),
        "@odata.type": "#microsoft.graph.authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are \
            allowed in the tenant, authentication method registration requirements, and \
            self-service password reset settings",
        "lastModifiedDateTime": p.last_modified.map(format_time),
        "policyVersion": "1.5",
        "policyMigrationState": "migrationComplete",
        "reconfirmationInDays": 0,
        "registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 1,
                "enforceRegistrationAfterAllowedSnoozes": true,
                "state": "disabled",
                "excludeTargets": [],
                "includeTargets": [],
            }
        },
        "authenticationMethodConfigurations": configurations(&p),
    })))
}

#[utoipa::path(get, path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations", tag = "policy",
    responses((status = 200, description = "The TAP and FIDO2 configurations.", body = shapes::MethodConfigurationCollection)))]
async fn list_configurations(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let p = fido2::methods_policy(&state.svc, &ctx).await?;
    Ok(Json(collection(
        &state,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        configurations(&p),
    )))
}

#[utoipa::path(get, path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}", tag = "policy", params(("id" = String, Path, description = "`TemporaryAccessPass` or `Fido2`.")),
    responses((status = 200, description = "The configuration.", body = shapes::MethodConfiguration)))]
async fn get_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    if is_fido2(&id) {
        return Ok(Json(fido2_json(&fido2::get(&state.svc, &ctx).await?)));
    }
    let policy = policy::get_config(&state.svc, &ctx, &id).await?;
    Ok(Json(policy_json(&policy)))
}

#[utoipa::path(patch, path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}", tag = "policy", params(("id" = String, Path, description = "`TemporaryAccessPass` or `Fido2`.")),
    request_body(content = Option<shapes::MethodConfigurationPatch>, description = "Only the properties to change."),
    responses((status = 204, description = "Changed.")))]
async fn patch_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<StatusCode> {
    if is_fido2(&id) {
        fido2::patch(&state.svc, &ctx, parse_body(&body)?).await?;
    } else {
        policy::patch(&state.svc, &ctx, &id, parse_body(&body)?).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}", tag = "policy", params(("id" = String, Path, description = "`TemporaryAccessPass` or `Fido2`.")),
    responses((status = 204, description = "Back to tapd's defaults.")))]
async fn reset_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    if is_fido2(&id) {
        fido2::reset(&state.svc, &ctx).await?;
    } else {
        policy::reset(&state.svc, &ctx, &id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
