//! My Security Info: a signed-in user's own sign-in methods, with removal (and the passkey
//! registration form, whose ceremony is in `passkeys`).

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::render::{error_page, render};
use super::session::{ENDED_BY_PASS, Visitor, end_session};
use super::view::{MethodView, Nav, method_views, page_time};
use crate::service::passes::{self, Subject};
use crate::service::{ServiceResult, methods};
use crate::state::{AppState, SharedState};

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/mysecurityinfo", get(security_info))
        .route("/mysecurityinfo/delete", post(delete_own_method))
}

#[derive(Template)]
#[template(path = "mysecurityinfo.html")]
struct SecurityInfoPage {
    nav: Nav,
    methods: Vec<MethodView>,
    has_passkey: bool,
    /// After a one-time pass: until when a new method may be registered.
    register_until: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

async fn render_page(
    state: &AppState,
    v: Visitor,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let m = match methods::list(&state.svc, &v.ctx, Subject::Me).await {
        Ok(m) => m,
        Err(e) => return error_page(state, &e),
    };
    // As the registration endpoint counts it: from the pass's consumption.
    let register_until = m
        .pass
        .as_ref()
        .filter(|p| Some(p.pass.id) == v.session.tap_id && p.pass.is_usable_once)
        .map(|p| {
            let signed_in = p.pass.used_at.unwrap_or(v.session.auth_time);
            page_time(signed_in + tapd_core::REGISTRATION_WINDOW)
        });
    let page = SecurityInfoPage {
        nav: Nav::of(state, &v, "security"),
        has_passkey: !m.passkeys.is_empty(),
        methods: method_views(&m),
        register_until,
        message,
        error,
    };
    v.page(render(&page))
}

async fn security_info(State(state): State<SharedState>, v: Visitor) -> Response {
    render_page(&state, v, None, None).await
}

#[derive(Deserialize)]
pub struct DeleteForm {
    pub csrf: String,
    pub kind: String,
    pub id: String,
}

/// Deletes one method of `subject`: a pass or a passkey.
pub async fn delete_method(
    state: &AppState,
    v: &Visitor,
    subject: Subject<'_>,
    form: &DeleteForm,
) -> Option<ServiceResult<()>> {
    match form.kind.as_str() {
        "tap" => Some(passes::delete(&state.svc, &v.ctx, subject, &form.id).await),
        "passkey" => Some(methods::delete_passkey(&state.svc, &v.ctx, subject, &form.id).await),
        _ => None,
    }
}

async fn delete_own_method(
    State(state): State<SharedState>,
    v: Visitor,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = v.refuses(&state, &form.csrf) {
        return refused;
    }
    let ends_session =
        form.kind == "tap" && v.session.tap_id.map(|t| t.to_string()) == Some(form.id.clone());
    match delete_method(&state, &v, Subject::Me, &form).await {
        // Deleting the pass this session was opened with ends the session; the sign-in page
        // says so.
        Some(Ok(())) if ends_session => {
            let to = Redirect::to(&format!("/signin?ended={ENDED_BY_PASS}")).into_response();
            end_session(&state, &headers, to).await
        }
        Some(Ok(())) => render_page(&state, v, Some("Removed.".into()), None).await,
        Some(Err(e)) => render_page(&state, v, None, Some(e.public_message())).await,
        None => {
            let error = "This method can't be removed here.".to_string();
            render_page(&state, v, None, Some(error)).await
        }
    }
}
