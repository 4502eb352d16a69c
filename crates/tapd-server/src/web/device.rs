//! `/device`: where a person approves a device's sign-in (RFC 8628) — signed in with the usual
//! pages, they type the user code the device shows, see which client asks, and approve or deny.
//! The rules (which code, how many wrong ones, what the device then gets) are the service's.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::render::{Message, error_page, message_page, render};
use super::session::{Visitor, to_signin};
use super::view::Nav;
use crate::service::device::{self, CodeRefusal, Pending};
use crate::state::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/device", get(device_page).post(enter_code))
        .route("/device/approve", post(approve))
        .route("/device/deny", post(deny))
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    nav: Nav,
    /// The code typed (or from the link); on the confirmation step, the request's code.
    user_code: &'a str,
    /// Set on the confirmation step: the client that asks.
    app_name: Option<&'a str>,
    scope: &'a str,
    error: Option<&'a str>,
}

fn page(v: &Visitor, status: StatusCode, p: DevicePage<'_>) -> Response {
    let mut response = v.page(render(&p));
    *response.status_mut() = status;
    response
}

fn entry(
    state: &AppState,
    v: &Visitor,
    code: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let p = DevicePage {
        nav: Nav::of(state, v, "device"),
        user_code: code,
        app_name: None,
        scope: "",
        error,
    };
    page(v, status, p)
}

#[derive(Deserialize)]
struct DeviceQuery {
    user_code: Option<String>,
}

/// The code entry form, prefilled from `verification_uri_complete`; sign in first if need be
/// (and come back here with the code).
async fn device_page(
    State(state): State<SharedState>,
    Query(query): Query<DeviceQuery>,
    visitor: Result<Visitor, Response>,
) -> Response {
    let code = query.user_code.unwrap_or_default();
    let code = if code.len() <= 64 {
        code
    } else {
        String::new()
    };
    let v = match visitor {
        Ok(v) => v,
        Err(_) => {
            let mut back = form_urlencoded::Serializer::new(String::new());
            if !code.is_empty() {
                back.append_pair("user_code", &code);
            }
            let back = back.finish();
            let path = if back.is_empty() {
                "/device".to_string()
            } else {
                format!("/device?{back}")
            };
            return to_signin(&path, None);
        }
    };
    entry(&state, &v, &code, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    #[serde(default)]
    user_code: String,
}

/// The pending request the code names, or the entry form again with why not.
async fn pending_or_refusal(
    state: &AppState,
    v: &Visitor,
    form: &CodeForm,
) -> Result<Pending, Response> {
    let refused = |status, why: &str| entry(state, v, &form.user_code, status, Some(why));
    match device::pending(&state.svc, &v.ctx, &form.user_code).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(CodeRefusal::Malformed)) => Err(refused(
            StatusCode::BAD_REQUEST,
            "Enter the eight-letter code your device shows, for example BCDF-GHJK.",
        )),
        Ok(Err(CodeRefusal::Unknown)) => Err(refused(
            StatusCode::BAD_REQUEST,
            "That code is not valid: it may be mistyped, expired or already used. Check the code your device shows.",
        )),
        Ok(Err(CodeRefusal::Throttled(secs))) => Err(refused(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many wrong codes. Try again in {secs} seconds."),
        )),
        Err(e) => Err(error_page(state, &e)),
    }
}

async fn enter_code(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let pending = match pending_or_refusal(&state, &v, &form).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let p = DevicePage {
        nav: Nav::of(&state, &v, "device"),
        user_code: &pending.user_code,
        app_name: Some(&pending.app.display_name),
        scope: &pending.scope,
        error: None,
    };
    page(&v, StatusCode::OK, p)
}

async fn approve(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<CodeForm>,
) -> Response {
    decide(&state, v, form, true).await
}

async fn deny(
    State(state): State<SharedState>,
    v: Visitor,
    Form(form): Form<CodeForm>,
) -> Response {
    decide(&state, v, form, false).await
}

async fn decide(state: &AppState, v: Visitor, form: CodeForm, approve: bool) -> Response {
    if let Some(refused) = v.refuses(state, &form.csrf) {
        return refused;
    }
    let pending = match pending_or_refusal(state, &v, &form).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let decided = match device::decide(&state.svc, &v.ctx, &pending, &v.session, approve).await {
        Ok(d) => d,
        Err(e) => return error_page(state, &e),
    };
    let app = &pending.app.display_name;
    let (status, title, text) = match (decided, approve) {
        (false, _) => (
            StatusCode::CONFLICT,
            "Request no longer pending",
            "This request was already answered or has expired. Start the sign-in again on your device.".to_string(),
        ),
        (true, true) => (
            StatusCode::OK,
            "Device signed in",
            format!("You have signed in to {app} on your device. You can close this window."),
        ),
        (true, false) => (
            StatusCode::OK,
            "Request denied",
            format!("The sign-in to {app} was denied; the device gets nothing."),
        ),
    };
    let m = Message {
        status,
        title,
        text: &text,
        is_error: !decided,
    };
    message_page(state, m, Some((v.user.upn.as_str(), &v.csrf)))
}
