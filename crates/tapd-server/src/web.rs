//! The browser side: cookie sessions, CSRF protection and the server-rendered pages. Every form
//! works without JavaScript. A session opened with a pass ends no later than the pass, and ends
//! when the pass is deleted.
//!
//! CSRF: a random `tapd_csrf` cookie; each form carries a keyed hash of it, checked in constant
//! time on every POST (double submit, signed). Cookies are HttpOnly, SameSite=Lax, and Secure
//! when the public URL is https.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use tapd_store::{Grant, UserRecord, WebSession};

use crate::authorize::{self, AuthorizeRequest};
use crate::error::ApiError;
use crate::secrets::new_opaque_token;
use crate::signin::{Credential, Verified, methods_for, verify};
use crate::{AppState, SharedState};

pub const SESSION_COOKIE: &str = "tapd_session";
pub const CSRF_COOKIE: &str = "tapd_csrf";

/// How long a browser session lasts (capped at the pass that opened it).
pub const WEB_SESSION_TTL: time::Duration = time::Duration::hours(8);

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin_page).post(signin_username))
        .route("/signin/tap", post(signin_tap))
        .route("/signin/password", post(signin_password))
        .route("/signout", post(signout))
        .route("/static/tapd.css", get(css))
        .route("/static/tapd.js", get(js))
}

// ----- cookies and CSRF -----

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are base64url")
}

/// The browser's CSRF cookie, and the header that sets it when it had none.
pub struct Csrf {
    cookie: String,
    /// The header that sets the cookie, when the browser had none.
    pub set: Option<HeaderValue>,
}

impl Csrf {
    pub fn of(state: &AppState, headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE) {
            Some(c) => Csrf {
                cookie: c.to_string(),
                set: None,
            },
            None => {
                let c = new_opaque_token();
                Csrf {
                    set: Some(set_cookie(state, CSRF_COOKIE, &c, 400 * 24 * 3600)),
                    cookie: c,
                }
            }
        }
    }

    /// The token forms carry.
    pub fn token(&self, state: &AppState) -> String {
        URL_SAFE_NO_PAD.encode(state.keys.mac("tapd-csrf-v1", self.cookie.as_bytes()))
    }
}

/// Checks a form's (or a fetch's `X-CSRF-Token`) token against the browser's cookie.
pub fn csrf_ok(state: &AppState, headers: &HeaderMap, sent: &str) -> bool {
    let expected = cookie(headers, CSRF_COOKIE)
        .map(|c| URL_SAFE_NO_PAD.encode(state.keys.mac("tapd-csrf-v1", c.as_bytes())));
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(sent);
    expected.is_some_and(|e| subtle::ConstantTimeEq::ct_eq(e.as_bytes(), sent.as_bytes()).into())
}

/// The answer to a form whose CSRF token did not check.
pub fn csrf_refused(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::FORBIDDEN,
        "Please try again",
        "This form has expired or was sent from another site. Reload the page and try again.",
        true,
        None,
        None,
    )
}

// ----- sessions -----

/// The browser's live session: unexpired, its user enabled, its pass (if any) still there and
/// unexpired.
pub async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(WebSession, UserRecord)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .web_session(&state.keys.token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    let now = state.now();
    if now >= session.expires_at {
        return Ok(None);
    }
    if let Some(tap) = session.tap_id {
        let live = state
            .store
            .tap_of(session.user_id)
            .await?
            .is_some_and(|(p, _)| p.id == tap && now < p.expires_at());
        if !live {
            return Ok(None);
        }
    }
    let user = state
        .store
        .find_user(&session.user_id.to_string())
        .await?
        .filter(|u| u.account_enabled);
    Ok(user.map(|u| (session, u)))
}

/// Commits a verified sign-in as a browser session; returns it and its cookie.
pub(crate) async fn open_session(
    state: &AppState,
    verified: &Verified,
) -> Result<(WebSession, HeaderValue), ApiError> {
    let now = state.now();
    let token = new_opaque_token();
    let session = WebSession {
        token_hash: state.keys.token_hash(&token),
        user_id: verified.user.id,
        tap_id: verified.pass.as_ref().map(|p| p.id),
        amr: verified.amr.to_string(),
        auth_time: now,
        created_at: now,
        expires_at: tapd_core::capped_expiry(now, WEB_SESSION_TTL, verified.cap()),
    };
    verified
        .commit(state, now, Grant::Web(session.clone()))
        .await?;
    let max_age = (session.expires_at - now).whole_seconds().max(0);
    Ok((session, set_cookie(state, SESSION_COOKIE, &token, max_age)))
}

// ----- pages -----

/// A rendered page with tapd's security headers. `form_target` is an extra origin forms may
/// lead to (the application a sign-in returns to).
pub fn html(status: StatusCode, body: String, form_target: Option<&str>) -> Response {
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         connect-src 'self'; form-action 'self'{}; frame-ancestors 'none'; base-uri 'none'",
        form_target.map(|t| format!(" {t}")).unwrap_or_default()
    );
    let mut response = (status, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

pub fn render(t: &impl Template) -> String {
    t.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "template failed");
        "<!doctype html><title>tapd</title><p>An internal error occurred.</p>".into()
    })
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    is_error: bool,
    signed_in_as: Option<&'a str>,
    csrf: String,
}

pub fn message_page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    is_error: bool,
    signed_in_as: Option<&str>,
    csrf: Option<&Csrf>,
) -> Response {
    let page = MessagePage {
        title,
        message,
        is_error,
        signed_in_as,
        csrf: csrf.map(|c| c.token(state)).unwrap_or_default(),
    };
    html(status, render(&page), None)
}

fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub fn internal_page(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "An internal error occurred. Try again in a moment.",
        true,
        None,
        None,
    )
}

/// A refused Graph call on a page: its message, with its status.
pub fn error_page(state: &AppState, e: &ApiError) -> Response {
    let status = if e.status.is_client_error() {
        e.status
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    message_page(state, status, "Not available", &e.message, true, None, None)
}

async fn home(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    match current_session(&state, &headers).await {
        Ok(Some(_)) => Redirect::to("/mysecurityinfo").into_response(),
        Ok(None) => Redirect::to("/signin").into_response(),
        Err(_) => internal_page(&state),
    }
}

/// Where to go after signing in: a local path only (never another site).
pub(crate) fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    ok.then_some(next)
}

#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage<'a> {
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
    error: Option<&'a str>,
}

/// What a sign-in page needs to know about the request it serves.
struct Step {
    request: Option<AuthorizeRequest>,
}

impl Step {
    async fn of(state: &AppState, authz: &str) -> Step {
        let request = if authz.is_empty() {
            None
        } else {
            authorize::parse(state, authz).await.ok()
        };
        Step { request }
    }

    fn app_name(&self) -> Option<&str> {
        self.request.as_ref().map(|r| r.app.display_name.as_str())
    }

    fn form_target(&self) -> Option<String> {
        self.request
            .as_ref()
            .and_then(|r| authorize::origin_of(&r.redirect_uri))
    }
}

/// Renders a sign-in step.
#[allow(clippy::too_many_arguments)]
async fn signin_step(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    authz: &str,
    login_hint: &str,
    username: &str,
    error: Option<&str>,
) -> Response {
    let step = Step::of(state, authz).await;
    let offer_tap = if username.is_empty() {
        false
    } else {
        match methods_for(state, username).await {
            Ok(m) => m.contains(&"temporaryAccessPass"),
            Err(_) => return internal_page(state),
        }
    };
    let csrf = Csrf::of(state, headers);
    let page = SignInPage {
        csrf: csrf.token(state),
        next: local_path(next).unwrap_or(""),
        authz: if step.request.is_some() { authz } else { "" },
        app_name: step.app_name(),
        login_hint,
        username,
        offer_tap,
        error,
    };
    with_cookie(
        html(status, render(&page), step.form_target().as_deref()),
        csrf.set,
    )
}

/// The first page of a sign-in; `/oauth2/v2.0/authorize` renders it too.
pub async fn signin_for(
    state: &AppState,
    headers: &HeaderMap,
    authz: &str,
    login_hint: &str,
) -> Response {
    signin_step(
        state,
        headers,
        StatusCode::OK,
        "",
        authz,
        login_hint,
        "",
        None,
    )
    .await
}

async fn signin_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    // `/signin?next=/page`, or `/signin?<authorize parameters>` to restart an authorization.
    if let Some((_, next)) = query.iter().find(|(k, _)| k == "next") {
        return signin_step(&state, &headers, StatusCode::OK, next, "", "", "", None).await;
    }
    let authz = serde_urlencoded_pairs(&query);
    signin_for(&state, &headers, &authz, "").await
}

fn serde_urlencoded_pairs(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
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
    if username.is_empty() {
        return signin_step(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &form.next,
            &form.authz,
            "",
            "",
            Some("Enter your user name, for example alice@contoso.com."),
        )
        .await;
    }
    signin_step(
        &state,
        &headers,
        StatusCode::OK,
        &form.next,
        &form.authz,
        "",
        username,
        None,
    )
    .await
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
    let opened = match verify(state, username, credential, peer.ip()).await {
        Ok(verified) => open_session(state, &verified).await,
        Err(e) => Err(e),
    };
    let (session, cookie) = match opened {
        Ok(s) => s,
        Err(e) if e.status.is_client_error() => {
            return signin_step(
                state,
                headers,
                e.status,
                &form.next,
                &form.authz,
                "",
                username,
                Some(&e.message),
            )
            .await;
        }
        Err(_) => return internal_page(state),
    };
    let next = if form.authz.is_empty() {
        Redirect::to(local_path(&form.next).unwrap_or("/mysecurityinfo")).into_response()
    } else {
        authorize::continue_after_sign_in(state, &form.authz, &session).await
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

/// Ends the browser's session (row and cookie), then answers `next`.
pub async fn end_session(state: &AppState, headers: &HeaderMap, next: Response) -> Response {
    if let Some(token) = cookie(headers, SESSION_COOKIE)
        && let Err(e) = state
            .store
            .end_web_session(&state.keys.token_hash(token))
            .await
    {
        tracing::error!(error = %e, "could not end a session");
        return internal_page(state);
    }
    with_cookie(next, Some(set_cookie(state, SESSION_COOKIE, "", 0)))
}

async fn css() -> Response {
    static_file(
        "text/css; charset=utf-8",
        include_str!("../static/tapd.css"),
    )
}

async fn js() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        include_str!("../static/tapd.js"),
    )
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
