//! Users, invitations of external guests, and `/me`, as Graph shapes them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_core::odata::USERS;
use tapd_store::UserRecord;
use uuid::Uuid;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::query::{
    Consistency, CountOptions, ListOptions, OData, Rendered, count_text, page_json,
};
use crate::http::caller::Caller;
use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::users::{self, Invitation, NewUser, UserChanges};
use crate::state::SharedState;

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(count_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(me))
        .routes(routes!(invite))
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

#[utoipa::path(get, path = "/users", tag = "users", params(ListOptions, Consistency),
    responses((status = 200, description = "A page of users.", body = shapes::UserCollection)))]
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

#[utoipa::path(get, path = "/users/$count", tag = "users", params(CountOptions, Consistency),
    responses((status = 200, description = "How many users match.", body = i64, content_type = "text/plain")))]
async fn count_users(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    odata: OData,
) -> ApiResult<Response> {
    let q = odata.count_query(&USERS)?;
    Ok(count_text(&users::list(&state.svc, &ctx, &q).await?))
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    responses((status = 200, description = "The user.", body = shapes::User)))]
async fn get_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<Json<Value>> {
    Ok(Json(user_json(&users::get(&state.svc, &ctx, &id).await?)))
}

#[utoipa::path(get, path = "/me", tag = "users",
    responses((status = 200, description = "The signed-in user.", body = shapes::User)))]
async fn me(State(state): State<SharedState>, Caller(ctx, _): Caller) -> ApiResult<Json<Value>> {
    let mut body = user_json(ctx.user()?);
    body["@odata.context"] = json!(format!("{}/v1.0/$metadata#users/$entity", state.public_url));
    Ok(Json(body))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, description = "The new user.", body = shapes::User)))]
async fn create_user(
    State(state): State<SharedState>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let user = users::create(&state.svc, &ctx, req).await?;
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    request_body = Option<UserChanges>, responses((status = 204, description = "Changed.")))]
async fn update_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
    GraphJson(req): GraphJson<UserChanges>,
) -> ApiResult<StatusCode> {
    users::update(&state.svc, &ctx, &id, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = String, Path, description = "The user's id or userPrincipalName.")),
    responses((status = 204, description = "Deleted, with the user's passes, passkeys, sessions and role assignments.")))]
async fn delete_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    Caller(ctx, _): Caller,
) -> ApiResult<StatusCode> {
    users::delete(&state.svc, &ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/invitations", tag = "users", request_body = Invitation,
    responses((status = 201, description = "The guest was created.", body = shapes::Invitation)))]
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
