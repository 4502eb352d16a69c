//! tapd's own JSON sign-in API for the CLI and scripts (SPEC §6.1): `start` tells which
//! methods to offer, `tap` and `password` sign in and answer tokens for tapd itself.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tapd_core::format_time;
use tapd_store::UserRecord;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::error::ApiResult;
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::Initiator;
use crate::service::sessions::Tokens;
use crate::service::signin::{self, Credential, Verified, check_rate};
use crate::state::{AppState, SharedState};

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(tap_sign_in))
        .routes(routes!(password_sign_in))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    username: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TapRequest {
    username: String,
    code: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordRequest {
    username: String,
    password: String,
}

#[utoipa::path(post, path = "/api/signin/start", tag = "signin", request_body = StartRequest, security(()),
    responses((status = 200, description = "The methods to offer; an unknown user is offered what a real one would be.", body = shapes::SignInOffer)))]
/// Which methods to offer, in order of preference.
async fn start(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<StartRequest>,
) -> ApiResult<Json<Value>> {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    check_rate(&state.sessions.limiter, ctx.ip)?;
    let offer = signin::methods_for(&state.svc, &ctx, &req.username).await?;
    let methods: Vec<&str> = offer.methods.iter().map(|m| m.as_str()).collect();
    Ok(Json(
        json!({"username": req.username.trim(), "methods": methods}),
    ))
}

/// The JSON sign-in API's answer: the tokens a session was opened (or refreshed) with.
pub(crate) fn session_json(t: &Tokens, user: &UserRecord, amr: &str, now: OffsetDateTime) -> Value {
    json!({
        "token_type": "Bearer",
        "access_token": t.access_token,
        "expires_in": (t.access_expires - now).whole_seconds().max(0),
        "expires_at": format_time(t.access_expires),
        "refresh_token": t.refresh.as_ref().map(|(token, _)| token),
        "refresh_token_expires_at": t.refresh.as_ref().map(|(_, r)| format_time(r.expires_at)),
        "amr": amr.split_whitespace().collect::<Vec<_>>(),
        "user": {"id": user.id, "userPrincipalName": user.upn, "displayName": user.display_name},
    })
}

/// Commits a verified sign-in as tokens for tapd itself.
pub(crate) async fn api_session(
    state: &AppState,
    ctx: &crate::service::Ctx,
    verified: &Verified,
) -> ApiResult<Json<Value>> {
    let tokens = state
        .sessions
        .open_api_session(&state.svc, ctx, verified)
        .await?;
    Ok(Json(session_json(
        &tokens,
        &verified.user,
        verified.amr,
        ctx.now,
    )))
}

async fn sign_in(
    state: &AppState,
    peer: SocketAddr,
    username: &str,
    credential: Credential,
) -> ApiResult<Json<Value>> {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    let verified = signin::verify(
        &state.svc,
        &state.sessions.limiter,
        &ctx,
        username,
        credential,
    )
    .await?;
    api_session(state, &ctx, &verified).await
}

#[utoipa::path(post, path = "/api/signin/tap", tag = "signin", request_body = TapRequest, security(()),
    responses((status = 200, description = "Signed in: tokens for tapd, ending no later than the pass.", body = shapes::Session)))]
async fn tap_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<TapRequest>,
) -> ApiResult<Json<Value>> {
    sign_in(&state, peer, &req.username, Credential::Tap(req.code)).await
}

#[utoipa::path(post, path = "/api/signin/password", tag = "signin", request_body = PasswordRequest, security(()),
    responses((status = 200, description = "Signed in: tokens for tapd.", body = shapes::Session)))]
async fn password_sign_in(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<PasswordRequest>,
) -> ApiResult<Json<Value>> {
    sign_in(
        &state,
        peer,
        &req.username,
        Credential::Password(req.password),
    )
    .await
}
