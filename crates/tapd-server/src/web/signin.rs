//! The sign-in pages: name yourself, then the methods worth offering (a usable pass first),
//! then the session — and back to the page or the application that asked. Every form works
//! without JavaScript; the passkey button is in `passkeys`.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::cookies::{Csrf, csrf_ok};
use super::render::{
    csrf_refused, html, internal_page, is_refusal, render, status_of, with_cookie,
};
use super::session::{ENDED_BY_PASS, end_session, open_session};
use crate::service::Initiator;
use crate::service::code_flow::{self, AuthorizeRequest, origin_of};
use crate::service::signin::{self, Credential, Method};
use crate::state::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/signin", get(signin_page).post(signin_username))
        .route("/signin/tap", post(signin_tap))
        .route("/signin/password", post(signin_password))
        .route("/signout", post(signout))
}

/// What a person is told on the sign-in page when a deleted pass ended their session.
pub const PASS_DELETED_NOTICE: &str =
    "Your Temporary Access Pass was deleted, so you were signed out. Sign in with your passkey.";

/// Where to go after signing in: a local path only (never another site).
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    ok.then_some(next)
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    csrf: String,
    /// A local page to return to after signing in.
    next: &'a str,
    /// The authorization request this sign-in continues (its query string), or empty.
    authz: &'a str,
    app_name: Option<&'a str>,
    login_hint: &'a str,
    /// Empty on the first step (name yourself); then the methods step.
    username: &'a str,
    offer_tap: bool,
    offer_password: bool,
    /// Where a federated domain's user signs in instead, with the link there.
    federation: Option<FederationLink>,
    notice: Option<&'a str>,
    error: Option<&'a str>,
}

/// The sign-in page's pointer to a federated domain's provider.
struct FederationLink {
    name: String,
    /// The provider's address, so the person sees where they are being sent.
    issuer: String,
    href: String,
}

/// One sign-in step to render.
#[derive(Default)]
pub struct Step<'a> {
    pub next: &'a str,
    /// The authorization request's query string, or empty.
    pub authz: &'a str,
    pub login_hint: &'a str,
    pub username: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The authorization request a step continues, if it is (still) a good one.
async fn request_of(state: &AppState, authz: &str) -> Option<AuthorizeRequest> {
    if authz.is_empty() {
        return None;
    }
    code_flow::check(&state.svc, authz).await.ok()?.ok()
}

/// Renders a sign-in step.
pub async fn signin_step(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    step: Step<'_>,
) -> Response {
    let request = request_of(state, step.authz).await;
    let (offer_tap, offer_password, federation) = if step.username.is_empty() {
        (false, true, None)
    } else {
        let ctx = state.ctx(Initiator::Anonymous, None);
        match signin::methods_for(&state.svc, &ctx, step.username).await {
            Ok(o) => {
                let federation = o.federation.map(|f| FederationLink {
                    name: f.display_name,
                    issuer: f.issuer_uri,
                    href: super::federation::start_link(
                        step.username,
                        if request.is_some() { step.authz } else { "" },
                        local_path(step.next).unwrap_or(""),
                    ),
                });
                (
                    o.methods.contains(&Method::TemporaryAccessPass),
                    o.password,
                    federation,
                )
            }
            Err(_) => return internal_page(state),
        }
    };
    let csrf = Csrf::of(state, headers);
    let page = SignInPage {
        csrf: csrf.token(state),
        next: local_path(step.next).unwrap_or(""),
        authz: if request.is_some() { step.authz } else { "" },
        app_name: request.as_ref().map(|r| r.app.display_name.as_str()),
        login_hint: step.login_hint,
        username: step.username,
        offer_tap,
        offer_password,
        federation,
        notice: step.notice,
        error: step.error,
    };
    let form_target = request.as_ref().and_then(|r| origin_of(&r.redirect_uri));
    with_cookie(
        html(status, render(&page), form_target.as_deref()),
        csrf.set,
    )
}

async fn signin_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let value = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // `/signin?next=/page`, or `/signin?<authorize parameters>` to restart an authorization.
    if let Some(next) = value("next") {
        let notice = (value("ended") == Some(ENDED_BY_PASS)).then_some(PASS_DELETED_NOTICE);
        let step = Step {
            next,
            notice,
            ..Step::default()
        };
        return signin_step(&state, &headers, StatusCode::OK, step).await;
    }
    if value("ended") == Some(ENDED_BY_PASS) {
        let step = Step {
            notice: Some(PASS_DELETED_NOTICE),
            ..Step::default()
        };
        return signin_step(&state, &headers, StatusCode::OK, step).await;
    }
    let authz = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&query)
        .finish();
    let step = Step {
        authz: &authz,
        ..Step::default()
    };
    signin_step(&state, &headers, StatusCode::OK, step).await
}

#[derive(Deserialize)]
struct UsernameForm {
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    authz: String,
    username: String,
}

async fn signin_username(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Form(form): Form<UsernameForm>,
) -> Response {
    if !csrf_ok(&state, &headers, &form.csrf) {
        return csrf_refused(&state);
    }
    let username = form.username.trim();
    let (status, error) = if username.is_empty() {
        let error = "Enter your user name, for example alice@contoso.com.";
        (StatusCode::BAD_REQUEST, Some(error))
    } else {
        (StatusCode::OK, None)
    };
    let step = Step {
        next: &form.next,
        authz: &form.authz,
        username,
        error,
        ..Step::default()
    };
    signin_step(&state, &headers, status, step).await
}

#[derive(Deserialize)]
struct CredentialForm {
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    authz: String,
    username: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn signin_tap(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CredentialForm>,
) -> Response {
    let credential = Credential::Tap(form.code.clone());
    finish_signin(&state, peer, &headers, form, credential).await
}

async fn signin_password(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<CredentialForm>,
) -> Response {
    let credential = Credential::Password(form.password.clone());
    finish_signin(&state, peer, &headers, form, credential).await
}

/// Checks the credential, opens the session, then continues the authorization request (if
/// any) or goes home.
async fn finish_signin(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: CredentialForm,
    credential: Credential,
) -> Response {
    if !csrf_ok(state, headers, &form.csrf) {
        return csrf_refused(state);
    }
    let username = form.username.trim();
    let ctx = state.ctx(Initiator::Anonymous, Some(peer.ip()));
    let opened = match signin::verify(
        &state.svc,
        &state.sessions.limiter,
        &ctx,
        username,
        credential,
    )
    .await
    {
        Ok(verified) => open_session(state, &ctx, &verified).await,
        Err(e) => Err(e),
    };
    let (session, cookie) = match opened {
        Ok(s) => s,
        Err(e) if is_refusal(&e) => {
            let message = e.public_message();
            let step = Step {
                next: &form.next,
                authz: &form.authz,
                username,
                error: Some(&message),
                ..Step::default()
            };
            return signin_step(state, headers, status_of(&e), step).await;
        }
        Err(_) => return internal_page(state),
    };
    let next = if form.authz.is_empty() {
        Redirect::to(local_path(&form.next).unwrap_or("/mysecurityinfo")).into_response()
    } else {
        super::code_flow::continue_after_sign_in(state, &ctx, &form.authz, &session).await
    };
    with_cookie(next, Some(cookie))
}

#[derive(Deserialize)]
struct SignOutForm {
    csrf: String,
}

async fn signout(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    if !csrf_ok(&state, &headers, &form.csrf) {
        return csrf_refused(&state);
    }
    end_session(&state, &headers, Redirect::to("/signin").into_response()).await
}
