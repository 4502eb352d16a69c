//! Groups and their members (users), as Graph shapes them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_core::odata::{GROUPS, USERS};
use tapd_store::GroupRecord;

use super::query::{OData, Rendered, count_text, page_json};
use super::users::user_json;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{GraphJson, JsonBytes};
use crate::service::groups::{self, NewGroup};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", get(get_group).delete(delete_group))
        .route("/groups/$count", get(count_groups))
        .route("/groups/{id}/members", get(list_members))
        .route("/groups/{id}/members/$count", get(count_members))
        .route("/groups/{id}/members/$ref", post(add_member))
        .route("/groups/{id}/members/{member}/$ref", delete(remove_member))
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

async fn count_groups(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&GROUPS)?;
    Ok(count_text(&groups::list(&state.svc, &ctx, &q).await?))
}

async fn get_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(group_json(&groups::get(&state.svc, &ctx, &id).await?)))
}

async fn create_group(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewGroup>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let group = groups::create(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(group_json(&group))))
}

async fn delete_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    groups::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    let reference = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("@odata.id"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request("The request body must be {\"@odata.id\": \"https://…/v1.0/directoryObjects/{id}\"}.")
        })?;
    let last = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("");
    Ok(last.to_string())
}

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

async fn remove_member(
    State(state): State<SharedState>,
    Path((id, member)): Path<(String, String)>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    groups::remove_member(&state.svc, &ctx, &id, &member).await?;
    Ok(StatusCode::NO_CONTENT)
}
