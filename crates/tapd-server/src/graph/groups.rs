//! Groups and their members (users), as Graph shapes them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_core::odata::{GROUPS, USERS};
use tapd_store::GroupRecord;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{
    Consistency, CountOptions, ListOptions, OData, Rendered, count_text, page_json,
};
use super::users::user_json;
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::{GraphJson, JsonBytes};
use crate::openapi::shapes;
use crate::service::groups::{self, NewGroup};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
        .routes(routes!(count_groups))
        .routes(routes!(list_members))
        .routes(routes!(count_members))
        .routes(routes!(add_member))
        .routes(routes!(remove_member))
}

fn group_json(g: &GroupRecord) -> Value {
    json!({
        "id": g.id,
        "displayName": g.display_name,
        "description": g.description,
        "securityEnabled": true,
        "mailEnabled": false,
        "groupTypes": [],
        "createdDateTime": format_time(g.created_at),
    })
}

#[utoipa::path(get, path = "/groups", tag = "groups", params(ListOptions, Consistency),
    responses((status = 200, description = "A page of groups.", body = shapes::GroupCollection)))]
async fn list_groups(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let q = odata.query(&GROUPS, 100)?;
    let page = groups::list(&state.svc, &ctx, &q).await?;
    let at = Rendered {
        context: "groups",
        path: "/v1.0/groups",
    };
    Ok(Json(page_json(&state, &odata, &q, &page, at, group_json)))
}

#[utoipa::path(get, path = "/groups/$count", tag = "groups", params(CountOptions, Consistency),
    responses((status = 200, description = "How many groups match.", body = i64, content_type = "text/plain")))]
async fn count_groups(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&GROUPS)?;
    Ok(count_text(&groups::list(&state.svc, &ctx, &q).await?))
}

#[utoipa::path(get, path = "/groups/{id}", tag = "groups", params(("id" = String, Path, description = "The group's id.")),
    responses((status = 200, description = "The group.", body = shapes::Group)))]
async fn get_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(group_json(&groups::get(&state.svc, &ctx, &id).await?)))
}

#[utoipa::path(post, path = "/groups", tag = "groups", request_body = NewGroup,
    responses((status = 201, description = "The new group.", body = shapes::Group)))]
async fn create_group(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewGroup>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let group = groups::create(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(group_json(&group))))
}

#[utoipa::path(delete, path = "/groups/{id}", tag = "groups", params(("id" = String, Path, description = "The group's id.")),
    responses((status = 204, description = "Deleted.")))]
async fn delete_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    groups::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/groups/{id}/members", tag = "groups", params(("id" = String, Path, description = "The group's id."), ListOptions, Consistency),
    responses((status = 200, description = "A page of the group's members (users).", body = shapes::UserCollection)))]
async fn list_members(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let q = odata.query(&USERS, 100)?;
    let page = groups::members(&state.svc, &ctx, &id, &q).await?;
    let path = format!("/v1.0/groups/{}/members", tapd_core::percent_encode(&id));
    let at = Rendered {
        context: "directoryObjects",
        path: &path,
    };
    Ok(Json(page_json(&state, &odata, &q, &page, at, |u| {
        let mut v = user_json(u);
        v["@odata.type"] = json!("#microsoft.graph.user");
        v
    })))
}

#[utoipa::path(get, path = "/groups/{id}/members/$count", tag = "groups", params(("id" = String, Path, description = "The group's id."), CountOptions, Consistency),
    responses((status = 200, description = "How many members match.", body = i64, content_type = "text/plain")))]
async fn count_members(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&USERS)?;
    Ok(count_text(
        &groups::members(&state.svc, &ctx, &id, &q).await?,
    ))
}

/// `{"@odata.id": ".../directoryObjects/{id}"}` (or `/users/{id}`), as Graph takes a reference.
fn referenced_id(body: &[u8]) -> ApiResult<String> {
    const SHAPE: &str =
        "The request body must be {\"@odata.id\": \"https://…/v1.0/directoryObjects/{id}\"}.";
    Ok(super::reference(body, SHAPE)?.1)
}

#[utoipa::path(post, path = "/groups/{id}/members/$ref", tag = "groups", params(("id" = String, Path, description = "The group's id.")),
    request_body(content = shapes::Reference, description = "The member, as `{\"@odata.id\": \"…/directoryObjects/{id}\"}`."),
    responses((status = 204, description = "Added.")))]
async fn add_member(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<StatusCode> {
    let member = referenced_id(&body)?;
    groups::add_member(&state.svc, &ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/groups/{id}/members/{member}/$ref", tag = "groups",
    params(("id" = String, Path, description = "The group's id."), ("member" = String, Path, description = "The member's id.")),
    responses((status = 204, description = "Removed.")))]
async fn remove_member(
    State(state): State<SharedState>,
    Path((id, member)): Path<(String, String)>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    groups::remove_member(&state.svc, &ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
