//! The TAP method configuration of the authentication methods policy (SPEC §3).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tapd_core::{PolicyPatch, TapPolicy};

use super::collection;
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::service::policy::{self, TAP_CONFIG_ID};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/policies/authenticationMethodsPolicy",
            get(get_methods_policy),
        )
        .route(
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
            get(list_configurations),
        )
        .route(
            "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/{id}",
            get(get_policy).patch(patch_policy).delete(reset_policy),
        )
}

pub fn policy_json(p: &TapPolicy) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_else(|_| json!({}));
    v["@odata.type"] =
        json!("#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration");
    v["id"] = json!(TAP_CONFIG_ID);
    v
}

async fn get_methods_policy(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let policy = policy::get(&state.svc, &ctx).await?;
    Ok(Json(json!({
        "@odata.type": "#microsoft.graph.authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "authenticationMethodConfigurations": [policy_json(&policy)],
    })))
}

async fn list_configurations(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let policy = policy::get(&state.svc, &ctx).await?;
    Ok(Json(collection(
        &state,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        vec![policy_json(&policy)],
    )))
}

async fn get_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let policy = policy::get_config(&state.svc, &ctx, &id).await?;
    Ok(Json(policy_json(&policy)))
}

async fn patch_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(patch): GraphJson<PolicyPatch>,
) -> ApiResult<StatusCode> {
    policy::patch(&state.svc, &ctx, &id, patch).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    policy::reset(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
