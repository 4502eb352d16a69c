//! Users, invitations of external guests, and `/me`, as Graph shapes them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_core::odata::USERS;
use tapd_store::UserRecord;
use uuid::Uuid;

use super::query::{OData, Rendered, count_text, page_json};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::service::users::{self, Invitation, NewUser, UserChanges};
use crate::state::SharedState;

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/$count", get(count_users))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/me", get(me))
        .route("/invitations", post(invite))
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

async fn list_users(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Json<Value>> {
    let q = odata.query(&USERS, 100)?;
    let page = users::list(&state.svc, &ctx, &q).await?;
    let at = Rendered {
        context: "users",
        path: "/v1.0/users",
    };
    Ok(Json(page_json(&state, &odata, &q, &page, at, user_json)))
}

async fn count_users(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&USERS)?;
    Ok(count_text(&users::list(&state.svc, &ctx, &q).await?))
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
