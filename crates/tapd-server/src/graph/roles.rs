//! Directory role assignments (`/roleManagement/directory/roleAssignments`) and the built-in
//! role definitions, with Graph's template ids.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use tapd_core::odata::ROLE_ASSIGNMENTS;
use tapd_store::RoleAssignment;

use super::collection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{ListOptions, OData, Rendered, page_json};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::roles::{self, NewAssignment};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_definitions))
        .routes(routes!(list_assignments, create_assignment))
        .routes(routes!(get_assignment, delete_assignment))
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

#[utoipa::path(get, path = "/roleManagement/directory/roleDefinitions", tag = "roles",
    responses((status = 200, description = "The built-in roles.", body = shapes::RoleDefinitionCollection)))]
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

#[utoipa::path(get, path = "/roleManagement/directory/roleAssignments", tag = "roles", params(ListOptions),
    responses((status = 200, description = "A page of role assignments.", body = shapes::RoleAssignmentCollection)))]
async fn list_assignments(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let q = odata.query(&ROLE_ASSIGNMENTS, 100)?;
    let page = roles::list(&state.svc, &ctx, &q).await?;
    let at = Rendered {
        context: "roleManagement/directory/roleAssignments",
        path: "/v1.0/roleManagement/directory/roleAssignments",
    };
    Ok(Json(page_json(
        &state,
        &odata,
        &q,
        &page,
        at,
        assignment_json,
    )))
}

#[utoipa::path(get, path = "/roleManagement/directory/roleAssignments/{id}", tag = "roles", params(("id" = String, Path, description = "The assignment's id.")),
    responses((status = 200, description = "The assignment.", body = shapes::RoleAssignment)))]
async fn get_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    let a = roles::get(&state.svc, &ctx, &id).await?;
    Ok(Json(assignment_json(&a)))
}

#[utoipa::path(post, path = "/roleManagement/directory/roleAssignments", tag = "roles", request_body = NewAssignment,
    responses((status = 201, description = "The new assignment.", body = shapes::RoleAssignment)))]
async fn create_assignment(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewAssignment>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let assignment = roles::assign(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&assignment))))
}

#[utoipa::path(delete, path = "/roleManagement/directory/roleAssignments/{id}", tag = "roles", params(("id" = String, Path, description = "The assignment's id.")),
    responses((status = 204, description = "Removed.")))]
async fn delete_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    roles::remove(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
