//! Directory role assignments (`/roleManagement/directory/roleAssignments`) and the built-in
//! role definitions, with Graph's template ids.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_store::RoleAssignment;
use uuid::Uuid;

use super::collection;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{GraphJson, GraphQuery};
use crate::service::roles::{self, NewAssignment};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/roleManagement/directory/roleDefinitions",
            get(list_definitions),
        )
        .route(
            "/roleManagement/directory/roleAssignments",
            get(list_assignments).post(create_assignment),
        )
        .route(
            "/roleManagement/directory/roleAssignments/{id}",
            get(get_assignment).delete(delete_assignment),
        )
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
}

fn assignment_json(a: &RoleAssignment) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
        "id": a.id,
        "principalId": a.principal_id,
        "roleDefinitionId": a.role.template_id(),
        "directoryScopeId": "/",
    })
}

async fn list_definitions(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let value = roles::definitions(&ctx)?
        .iter()
        .map(|r| {
            json!({
                "id": r.template_id(),
                "templateId": r.template_id(),
                "displayName": r.display_name(),
                "isBuiltIn": true,
                "isEnabled": true,
            })
        })
        .collect();
    Ok(Json(collection(
        &state,
        "roleManagement/directory/roleDefinitions",
        value,
    )))
}

/// `principalId eq '…'`, the filter scripts use to read one user's roles.
fn principal_filter(filter: &str) -> ApiResult<Uuid> {
    let bad = || {
        ApiError::bad_request(format!(
            "Unsupported $filter '{filter}': tapd supports principalId eq 'id'."
        ))
    };
    let parts: Vec<&str> = filter.split_whitespace().collect();
    match parts.as_slice() {
        [field, op, value]
            if field.eq_ignore_ascii_case("principalId") && op.eq_ignore_ascii_case("eq") =>
        {
            let v = value
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .ok_or_else(bad)?;
            Uuid::parse_str(v).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

async fn list_assignments(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphQuery(q): GraphQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let principal = q.filter.as_deref().map(principal_filter).transpose()?;
    let assignments = roles::list(&state.svc, &ctx, principal).await?;
    Ok(Json(collection(
        &state,
        "roleManagement/directory/roleAssignments",
        assignments.iter().map(assignment_json).collect(),
    )))
}

async fn get_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let a = roles::get(&state.svc, &ctx, &id).await?;
    Ok(Json(assignment_json(&a)))
}

async fn create_assignment(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewAssignment>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let assignment = roles::assign(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&assignment))))
}

async fn delete_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    roles::remove(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
