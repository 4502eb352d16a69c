//! The browser's round trip to a federated domain's provider: `/federation/start` sends the
//! person there (the sign-in page links to it, saying where), `/federation/callback` takes the
//! answer, opens the session and continues what the sign-in was for. The sign-in in flight is
//! sealed in a cookie, so a provider that is down or answers wrong leaves nothing behind.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::cookies::{cookie, set_cookie_at};
use super::render::{error_message, internal_page, with_cookie};
use super::session::open_session;
use super::signin::local_path;
use crate::service::Initiator;
use crate::service::federation::signin::{
    self as federated, Answer, Failure, PENDING_TTL, Pending,
};
use crate::state::{AppState, SharedState};

const PENDING_COOKIE: &str = "tapd_federation";
const COOKIE_PATH: &str = "/federation";
const SEAL_CONTEXT: &str = "tapd-federation-pending-v1";

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/federation/start", get(start))
        .route("/federation/callback", get(callback))
}

/// Where the sign-in page sends a federated user: tapd's start of the round trip.
pub fn start_link(username: &str, authz: &str, next: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", username)
        .append_pair("authz", authz)
        .append_pair("next", next)
        .finish();
    format!("/federation/start?{query}")
}

#[derive(Deserialize)]
struct StartQuery {
    username: String,
    #[serde(default)]
    authz: String,
    #[serde(default)]
    next: String,
}

fn failure_page(state: &AppState, failure: Failure) -> Response {
    let (status, title, text) = match failure {
        Failure::Provider(t) => (
            StatusCode::BAD_GATEWAY,
            "Your organization's sign-in is unavailable",
            t,
        ),
        Failure::Stale(t) => (StatusCode::BAD_REQUEST, "Sign-in expired", t),
        Failure::Refused(t) => (StatusCode::FORBIDDEN, "Sign-in refused", t),
    };
    error_message(state, status, title, &text)
}

fn seal(state: &AppState, pending: &Pending) -> String {
    let json = serde_json::to_vec(pending).expect("a pending sign-in serializes");
    URL_SAFE_NO_PAD.encode(state.svc.keys.seal(&json, SEAL_CONTEXT))
}

fn unseal(state: &AppState, headers: &HeaderMap) -> Option<Pending> {
    let sealed = URL_SAFE_NO_PAD
        .decode(cookie(headers, PENDING_COOKIE)?)
        .ok()?;
    let json = state.svc.keys.open(&sealed, SEAL_CONTEXT)?;
    serde_json::from_slice(&json).ok()
}

async fn start(State(state): State<SharedState>, Query(q): Query<StartQuery>) -> Response {
    let username = q.username.trim();
    let federation = match federated::federation_for(&state.svc, username).await {
        Ok(Some(f)) => f,
        Ok(None) => return Redirect::to("/signin").into_response(),
        Err(_) => return internal_page(&state),
    };
    let ctx = state.ctx_in(federation.tenant_id, Initiator::Anonymous, None);
    let next = local_path(&q.next).unwrap_or("");
    match federated::begin(
        &federation,
        &ctx,
        &state.public_url,
        username,
        &q.authz,
        next,
    )
    .await
    {
        Ok((url, pending)) => {
            let value = seal(&state, &pending);
            let max_age = PENDING_TTL.whole_seconds();
            let cookie = set_cookie_at(&state, PENDING_COOKIE, &value, COOKIE_PATH, max_age);
            with_cookie(Redirect::to(&url).into_response(), Some(cookie))
        }
        Err(failure) => failure_page(&state, failure),
    }
}

async fn callback(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Response {
    let gone = set_cookie_at(&state, PENDING_COOKIE, "", COOKIE_PATH, 0);
    let Some(pending) = unseal(&state, &headers) else {
        let failure = Failure::Stale(
            "This sign-in expired or was started in another browser. Start again.".into(),
        );
        return with_cookie(failure_page(&state, failure), Some(gone));
    };
    let ctx = state.ctx(Initiator::Anonymous, None);
    let verified =
        match federated::complete(&state.svc, &ctx, &state.public_url, &pending, &answer).await {
            Ok(Ok(v)) => v,
            Ok(Err(failure)) => return with_cookie(failure_page(&state, failure), Some(gone)),
            Err(_) => return with_cookie(internal_page(&state), Some(gone)),
        };
    let ctx = state.ctx_in(verified.user.tenant, Initiator::Anonymous, None);
    let (session, session_cookie) = match open_session(&state, &ctx, &verified).await {
        Ok(opened) => opened,
        Err(_) => return with_cookie(internal_page(&state), Some(gone)),
    };
    let next = if pending.authz.is_empty() {
        let to = local_path(&pending.next).unwrap_or("/mysecurityinfo");
        Redirect::to(to).into_response()
    } else {
        super::code_flow::continue_after_sign_in(&state, &ctx, &pending.authz, &session).await
    };
    with_cookie(with_cookie(next, Some(session_cookie)), Some(gone))
}
