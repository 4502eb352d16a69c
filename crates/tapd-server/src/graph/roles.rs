//! Directory role assignments (`/roleManagement/directory/roleAssignments`) and the built-in
//! role definitions, with Graph's template ids.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::{Action, Role};
use tapd_store::RoleAssignment;
use uuid::Uuid;

use super::{change_record, collection, parse_id, target_user};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{GraphJson, GraphQuery};

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
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateAssignment {
    principal_id: String,
    role_definition_id: String,
    directory_scope_id: Option<String>,
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
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadRoleAssignments)?;
    let value = Role::ALL
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
    caller: Caller,
    GraphQuery(q): GraphQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadRoleAssignments)?;
    let principal = q.filter.as_deref().map(principal_filter).transpose()?;
    let assignments = state.store.role_assignments(principal).await?;
    Ok(Json(collection(
        &state,
        "roleManagement/directory/roleAssignments",
        assignments.iter().map(assignment_json).collect(),
    )))
}

async fn get_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadRoleAssignments)?;
    let id = parse_id("Role assignment", &id)?;
    let a =
        state.store.role_assignment(id).await?.ok_or_else(|| {
            ApiError::not_found(format!("Role assignment '{id}' does not exist."))
        })?;
    Ok(Json(assignment_json(&a)))
}

async fn create_assignment(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateAssignment>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.authorize(Action::WriteRoleAssignments)?;
    let role = Role::from_template_id(&req.role_definition_id).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Unknown roleDefinitionId '{}': use a built-in role template id.",
            req.role_definition_id
        ))
    })?;
    if req.directory_scope_id.as_deref().is_some_and(|s| s != "/") {
        return Err(ApiError::bad_request(
            "Only the directory scope '/' is supported.",
        ));
    }
    let user = match Uuid::parse_str(&req.principal_id) {
        Ok(id) => state.store.find_user(&id.to_string()).await?,
        Err(_) => None,
    }
    .ok_or_else(|| {
        ApiError::bad_request(format!(
            "The principal '{}' does not exist.",
            req.principal_id
        ))
    })?;
    let assignment = RoleAssignment {
        id: Uuid::new_v4(),
        principal_id: user.id,
        role,
        created_at: state.now(),
    };
    let record = change_record(
        &state,
        &caller,
        "RoleManagement",
        "Add member to role",
        "Assign",
        vec![target_user(&user)],
        vec![("role", role.display_name().into())],
    );
    state.store.assign_role(&assignment, &record).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&assignment))))
}

async fn delete_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteRoleAssignments)?;
    let id = parse_id("Role assignment", &id)?;
    let a =
        state.store.role_assignment(id).await?.ok_or_else(|| {
            ApiError::not_found(format!("Role assignment '{id}' does not exist."))
        })?;
    let user = state.store.find_user(&a.principal_id.to_string()).await?;
    let targets = user.iter().map(target_user).collect();
    let record = change_record(
        &state,
        &caller,
        "RoleManagement",
        "Remove member from role",
        "Unassign",
        targets,
        vec![("role", a.role.display_name().into())],
    );
    state.store.delete_role_assignment(id, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}
