//! The TAP method configuration of the authentication methods policy (SPEC §3).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tapd_core::{ALL_USERS, Action, PolicyPatch, TapPolicy, TargetType};

use super::{change_record, collection};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::GraphJson;

const TAP_CONFIG_ID: &str = "TemporaryAccessPass";

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
    let mut v = serde_json::to_value(p).expect("policy serializes");
    v["@odata.type"] =
        json!("#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration");
    v["id"] = json!(TAP_CONFIG_ID);
    v
}

fn check_id(id: &str) -> ApiResult<()> {
    if id.eq_ignore_ascii_case(TAP_CONFIG_ID) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "Authentication method configuration '{id}' does not exist; tapd manages '{TAP_CONFIG_ID}'."
        )))
    }
}

async fn get_methods_policy(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadPolicy)?;
    let policy = state.store.policy().await?;
    Ok(Json(json!({
        "@odata.type": "#microsoft.graph.authenticationMethodsPolicy",
        "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "authenticationMethodConfigurations": [policy_json(&policy)],
    })))
}

async fn list_configurations(
    State(state): State<SharedState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadPolicy)?;
    let policy = state.store.policy().await?;
    Ok(Json(collection(
        &state,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        vec![policy_json(&policy)],
    )))
}

async fn get_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadPolicy)?;
    check_id(&id)?;
    Ok(Json(policy_json(&state.store.policy().await?)))
}

async fn patch_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
    GraphJson(patch): GraphJson<PolicyPatch>,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WritePolicy)?;
    check_id(&id)?;
    let current = state.store.policy().await?;
    let next = current.apply(patch)?;
    check_targets_exist(&state, &next).await?;
    let record = change_record(
        &state,
        &caller,
        "Policy",
        "Update authentication methods policy",
        "Update",
        vec![super::target(
            "Policy",
            TAP_CONFIG_ID,
            "Temporary Access Pass",
        )],
        vec![("newValue", serde_json::to_string(&next).unwrap_or_default())],
    );
    state.store.set_policy(&next, state.now(), &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn reset_policy(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WritePolicy)?;
    check_id(&id)?;
    let record = change_record(
        &state,
        &caller,
        "Policy",
        "Reset authentication methods policy",
        "Delete",
        vec![super::target(
            "Policy",
            TAP_CONFIG_ID,
            "Temporary Access Pass",
        )],
        vec![],
    );
    state
        .store
        .set_policy(&TapPolicy::default(), state.now(), &record)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Include and exclude targets must name users and groups that exist.
async fn check_targets_exist(state: &SharedState, policy: &TapPolicy) -> ApiResult<()> {
    for t in policy.include_targets.iter().chain(&policy.exclude_targets) {
        let exists = match t.target_type {
            TargetType::Group if t.id == ALL_USERS => true,
            TargetType::Group => match uuid::Uuid::parse_str(&t.id) {
                Ok(id) => state.store.group(id).await?.is_some(),
                Err(_) => false,
            },
            TargetType::User => {
                uuid::Uuid::parse_str(&t.id).is_ok()
                    && state.store.find_user(&t.id).await?.is_some()
            }
        };
        if !exists {
            return Err(ApiError::bad_request(format!(
                "Invalid policy target: no {} with id '{}'.",
                match t.target_type {
                    TargetType::Group => "group",
                    TargetType::User => "user",
                },
                t.id
            )));
        }
    }
    Ok(())
}
