//! Groups and their members (users).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::Action;
use tapd_store::GroupRecord;
use uuid::Uuid;

use super::{change_record, collection, format_time, parse_id, target, target_user, user_json};
use crate::SharedState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{GraphJson, JsonBytes};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/groups", get(list_groups).post(create_group))
        .route("/groups/{id}", get(get_group).delete(delete_group))
        .route("/groups/{id}/members", get(list_members))
        .route("/groups/{id}/members/$ref", post(add_member))
        .route("/groups/{id}/members/{member}/$ref", delete(remove_member))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateGroup {
    display_name: String,
    description: Option<String>,
    mail_enabled: Option<bool>,
    mail_nickname: Option<String>,
    security_enabled: Option<bool>,
    group_types: Option<Vec<String>>,
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

async fn find_group(state: &SharedState, id: &str) -> ApiResult<GroupRecord> {
    let id = parse_id("Group", id)?;
    state
        .store
        .group(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("Group '{id}' does not exist.")))
}

async fn list_groups(State(state): State<SharedState>, caller: Caller) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadGroups)?;
    let groups = state.store.list_groups().await?;
    Ok(Json(collection(
        &state,
        "groups",
        groups.iter().map(group_json).collect(),
    )))
}

async fn get_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadGroups)?;
    Ok(Json(group_json(&find_group(&state, &id).await?)))
}

async fn create_group(
    State(state): State<SharedState>,
    caller: Caller,
    GraphJson(req): GraphJson<CreateGroup>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.authorize(Action::WriteGroups)?;
    let name = req.display_name.trim();
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "Invalid value for property 'displayName': it must be 1 to 256 printable characters.",
        ));
    }
    let _ = (
        req.mail_enabled,
        req.mail_nickname,
        req.security_enabled,
        req.group_types,
    );
    let group = GroupRecord {
        id: Uuid::new_v4(),
        display_name: name.to_string(),
        description: req.description,
        created_at: state.now(),
    };
    let record = change_record(
        &state,
        &caller,
        "GroupManagement",
        "Add group",
        "Add",
        vec![target("Group", group.id, &group.display_name)],
        vec![],
    );
    state.store.create_group(&group, &record).await?;
    Ok((StatusCode::CREATED, Json(group_json(&group))))
}

async fn delete_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteGroups)?;
    let group = find_group(&state, &id).await?;
    let record = change_record(
        &state,
        &caller,
        "GroupManagement",
        "Delete group",
        "Delete",
        vec![target("Group", group.id, &group.display_name)],
        vec![],
    );
    state.store.delete_group(group.id, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_members(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.authorize(Action::ReadGroups)?;
    let group = find_group(&state, &id).await?;
    let members = state.store.group_members(group.id).await?;
    let value = members
        .iter()
        .map(|u| {
            let mut v = user_json(u);
            v["@odata.type"] = json!("#microsoft.graph.user");
            v
        })
        .collect();
    Ok(Json(collection(&state, "directoryObjects", value)))
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
    caller: Caller,
    JsonBytes(body): JsonBytes,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteGroups)?;
    let member = referenced_id(&body)?;
    let group = find_group(&state, &id).await?;
    let user = state.store.find_user(&member).await?.ok_or_else(|| {
        ApiError::bad_request(format!("The referenced object '{member}' does not exist."))
    })?;
    let record = change_record(
        &state,
        &caller,
        "GroupManagement",
        "Add member to group",
        "Assign",
        vec![
            target("Group", group.id, &group.display_name),
            target_user(&user),
        ],
        vec![],
    );
    state.store.add_member(group.id, user.id, &record).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_member(
    State(state): State<SharedState>,
    Path((id, member)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    caller.authorize(Action::WriteGroups)?;
    let group = find_group(&state, &id).await?;
    let user = super::find_user(&state, &member).await?;
    let record = change_record(
        &state,
        &caller,
        "GroupManagement",
        "Remove member from group",
        "Unassign",
        vec![
            target("Group", group.id, &group.display_name),
            target_user(&user),
        ],
        vec![],
    );
    if !state
        .store
        .remove_member(group.id, user.id, &record)
        .await?
    {
        return Err(ApiError::not_found(format!(
            "'{member}' is not a member of group '{id}'."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
