//! Users, invitations of external guests, and `/me`, as Graph shapes them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_store::UserRecord;
use uuid::Uuid;

use super::{collection, parse_top, url_with_query};
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{GraphJson, GraphQuery};
use crate::service::users::{self, Invitation, NewUser, UserChanges, UserQuery};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/me", get(me))
        .route("/invitations", post(invite))
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

pub fn user_json(u: &UserRecord) -> Value {
    json!({
        "id": u.id,
        "userPrincipalName": u.upn,
        "displayName": u.display_name,
        "givenName": u.given_name,
        "surname": u.surname,
        "mail": u.mail,
        "accountEnabled": u.account_enabled,
        "userType": u.user_type.as_str(),
        "creationType": u.creation_type,
        "externalUserState": u.external_user_state,
        "createdDateTime": format_time(u.created_at),
    })
}

/// Parses `userPrincipalName eq 'value'`, the filter Graph clients use to look a user up.
fn parse_upn_filter(filter: &str) -> ApiResult<String> {
    let unsupported = || {
        ApiError::bad_request(format!(
            "Unsupported $filter '{filter}': tapd supports userPrincipalName eq 'value'."
        ))
    };
    let rest = filter.trim();
    let (field, rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    let (op, value) = rest
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if !field.eq_ignore_ascii_case("userPrincipalName") || !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value = value.trim();
    let inner = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(unsupported)?;
    Ok(inner.replace("''", "'"))
}

async fn list_users(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphQuery(q): GraphQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let upn = q.filter.as_deref().map(parse_upn_filter).transpose()?;
    let top = parse_top(q.top.as_deref(), 100)?;
    let query = UserQuery {
        upn: upn.as_deref(),
        after: q.skiptoken.as_deref(),
        top,
    };
    let page = users::list(&state.svc, &ctx, query).await?;
    let mut body = collection(&state, "users", page.users.iter().map(user_json).collect());
    if let Some(after) = page.next {
        let mut params = vec![("$top", top.to_string()), ("$skiptoken", after)];
        if let Some(f) = q.filter {
            params.push(("$filter", f));
        }
        body["@odata.nextLink"] = json!(url_with_query(&state, "/v1.0/users", &params));
    }
    Ok(Json(body))
}

async fn get_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(&users::get(&state.svc, &ctx, &id).await?)))
}

async fn me(State(state): State<SharedState>, Caller(ctx, _): Caller) -> ApiResult<Json<Value>> {
    let mut body = user_json(ctx.user()?);
    body["@odata.context"] = json!(format!("{}/v1.0/$metadata#users/$entity", state.public_url));
    Ok(Json(body))
}

async fn create_user(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = users::create(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

async fn update_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<UserChanges>,
) -> ApiResult<StatusCode> {
    users::update(&state.svc, &ctx, &id, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    users::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites an external guest (SPEC §8): a `Guest` user whose credentials live elsewhere.
async fn invite(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<Invitation>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = users::invite(&state.svc, &ctx, &req).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "@odata.type": "#microsoft.graph.invitation",
            "id": Uuid::new_v4(),
            "invitedUserEmailAddress": user.mail,
            "invitedUserDisplayName": user.display_name,
            "inviteRedirectUrl": req.invite_redirect_url,
            "inviteRedeemUrl": format!("{}/signin", state.public_url),
            "status": "PendingAcceptance",
            "invitedUser": {"id": user.id},
            "invitedUserType": "Guest",
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_filters_parse() {
        assert_eq!(
            parse_upn_filter("userPrincipalName eq 'a@b.c'").unwrap(),
            "a@b.c"
        );
        assert_eq!(
            parse_upn_filter("userprincipalname  EQ 'o''b@b.c'").unwrap(),
            "o'b@b.c"
        );
        assert!(parse_upn_filter("displayName eq 'x'").is_err());
        assert!(parse_upn_filter("userPrincipalName eq x").is_err());
    }
}
