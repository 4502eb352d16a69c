//! The passkey endpoints (SPEC §6.3): registering one from a signed-in session (browser or
//! bearer token) and signing in with one, for the JSON API and for the pages. The ceremonies
//! themselves are in `service::passkeys`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::graph::fido2_json;
use crate::http::caller::{Caller, client_ip};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::GraphJson;
use crate::openapi::shapes;
use crate::service::passkeys as ceremonies;
use crate::service::{Ctx, Initiator, sessions};
use crate::state::SharedState;
use crate::web;
use crate::web::cookies::csrf_ok;
use crate::web::session::{current_session, open_session};

pub use crate::service::passkeys::RelyingParty;

/// The JSON API's routes, described in the OpenAPI document, and the pages' own finish (a
/// browser's CSRF-bound call, not described).
pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(register_start))
        .routes(routes!(register_finish))
        .routes(routes!(sign_in_start))
        .routes(routes!(sign_in_finish))
        .route("/signin/passkey/finish", post(web_sign_in_finish))
}

/// A browser's request without its CSRF token (`X-CSRF-Token`).
fn missing_csrf() -> ApiError {
    ApiError::access_denied(
        "The X-CSRF-Token header is missing or does not match this browser. Reload the page and try again.",
    )
}

/// Who registers a passkey: the user of a bearer token, or of the browser's session, whose
/// requests must then carry the CSRF token in `X-CSRF-Token`.
struct Registrant(Ctx);

impl FromRequestParts<SharedState> for Registrant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Registrant> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let Caller(ctx, _) = Caller::from_request_parts(parts, state).await?;
            ctx.user()?;
            return Ok(Registrant(ctx));
        }
        let Ok((session, user)) = current_session(state, &parts.headers).await? else {
            return Err(ApiError::unauthenticated(
                "Sign in first: the request carries no session and no access token.",
            ));
        };
        if !csrf_ok(state, &parts.headers, "") {
            return Err(missing_csrf());
        }
        let initiator = sessions::user_initiator(&state.svc, user, session.tap_id).await?;
        Ok(Registrant(state.ctx(initiator, client_ip(parts))))
    }
}

#[utoipa::path(post, path = "/api/passkeys/register/start", tag = "passkeys",
    responses((status = 200, description = "The WebAuthn creation options for the signed-in user.", body = shapes::CeremonyOptions)))]
/// Starts registering a passkey for the signed-in user.
async fn register_start(
    State(state): State<SharedState>,
    Registrant(ctx): Registrant,
) -> ApiResult<Json<Value>> {
    let options = ceremonies::register_start(&state.svc, &state.passkeys, &ctx).await?;
    Ok(Json(json!({ "options": options })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RegisterFinish {
    display_name: String,
    credential: Value,
}

#[utoipa::path(post, path = "/api/passkeys/register/finish", tag = "passkeys", request_body = RegisterFinish,
    responses((status = 201, description = "The registered passkey.", body = shapes::Fido2Method)))]
async fn register_finish(
    State(state): State<SharedState>,
    Registrant(ctx): Registrant,
    GraphJson(req): GraphJson<RegisterFinish>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let passkey = ceremonies::register_finish(
        &state.svc,
        &state.passkeys,
        &ctx,
        &req.display_name,
        &req.credential,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(fido2_json(&passkey))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInStart {
    #[serde(default)]
    username: Option<String>,
}

#[utoipa::path(post, path = "/api/signin/passkey/start", tag = "passkeys", request_body = Option<SignInStart>, security(()),
    responses((status = 200, description = "The WebAuthn request options (username-less without a username).", body = shapes::CeremonyOptions)))]
async fn sign_in_start(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<SignInStart>,
) -> ApiResult<Json<Value>> {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    let limiter = &state.sessions.limiter;
    let username = req.username.as_deref();
    let options =
        ceremonies::sign_in_start(&state.svc, limiter, &state.passkeys, &ctx, username).await?;
    Ok(Json(json!({ "options": options })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SignInFinish {
    credential: Value,
}

#[utoipa::path(post, path = "/api/signin/passkey/finish", tag = "passkeys", request_body = SignInFinish, security(()),
    responses((status = 200, description = "Signed in: tokens for tapd.", body = shapes::Session)))]
/// Finishes a passkey sign-in with tokens, as `/api/signin/tap` answers.
async fn sign_in_finish(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    GraphJson(req): GraphJson<SignInFinish>,
) -> ApiResult<Json<Value>> {
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    let limiter = &state.sessions.limiter;
    let verified =
        ceremonies::verify(&state.svc, limiter, &state.passkeys, &ctx, &req.credential).await?;
    crate::api::api_session(&state, &ctx, &verified).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebSignInFinish {
    credential: Value,
    /// The authorization request the sign-in continues (the sign-in page's `authz`), if any.
    #[serde(default)]
    authz: String,
    /// A local page to return to (the sign-in page's `next`), if any.
    #[serde(default)]
    next: String,
}

/// Finishes a passkey sign-in on the pages: opens the browser session (cookie) and answers
/// `{"redirect": …}`: the authorization request's continuation, or `next`, or My Security Info.
async fn web_sign_in_finish(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    GraphJson(req): GraphJson<WebSignInFinish>,
) -> ApiResult<Response> {
    if !csrf_ok(&state, &headers, "") {
        return Err(missing_csrf());
    }
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    let limiter = &state.sessions.limiter;
    let verified =
        ceremonies::verify(&state.svc, limiter, &state.passkeys, &ctx, &req.credential).await?;
    let (session, cookie) = open_session(&state, &ctx, &verified).await?;
    let redirect = if req.authz.is_empty() {
        Some(
            web::local_path(&req.next)
                .unwrap_or("/mysecurityinfo")
                .to_string(),
        )
    } else {
        web::continue_after_sign_in(&state, &ctx, &req.authz, &session)
            .await
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string)
    };
    let mut response = match redirect {
        Some(to) => Json(json!({ "redirect": to })).into_response(),
        None => ApiError::bad_request(
            "You are signed in, but the application's sign-in request is not valid.",
        )
        .into_response(),
    };
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}
