//! Answering an authorization request once the browser has a session: a code sent back to
//! the application's redirect URI, or the refusal — on tapd's own page when there is nowhere
//! safe to send it, else back to the application (RFC 6749 §4.1.2.1).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tapd_store::WebSession;

use super::render::{error_message, internal_page};
use crate::service::code_flow::{self, AuthorizeRequest, Refusal, with_params};
use crate::service::oauth::{self, CodeRequest};
use crate::service::{Ctx, ServiceError};
use crate::state::AppState;

pub fn refused_page(state: &AppState, message: &str) -> Response {
    error_message(
        state,
        StatusCode::BAD_REQUEST,
        "Sign-in request refused",
        message,
    )
}

pub fn back_to_app(
    redirect_uri: &str,
    app_state: Option<&str>,
    params: &[(&str, &str)],
) -> Response {
    let mut params = params.to_vec();
    if let Some(s) = app_state {
        params.push(("state", s));
    }
    Redirect::to(&with_params(redirect_uri, &params)).into_response()
}

pub fn refusal_response(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => refused_page(state, &message),
        Refusal::Redirect {
            redirect_uri,
            state: app_state,
            error,
            description,
        } => {
            let params = [
                ("error", error),
                ("error_description", description.as_str()),
            ];
            back_to_app(&redirect_uri, app_state.as_deref(), &params)
        }
    }
}

/// Issues a code for `session` and sends the browser back to the application.
pub async fn issue_code(
    state: &AppState,
    ctx: &Ctx,
    req: &AuthorizeRequest,
    session: &WebSession,
) -> Response {
    let code_request = CodeRequest {
        app: &req.app,
        redirect_uri: &req.redirect_uri,
        scope: &req.scope,
        nonce: req.nonce.as_deref(),
        code_challenge: req.code_challenge.as_deref(),
    };
    match oauth::issue_code(&state.svc, ctx, &code_request, session).await {
        Ok(code) => back_to_app(&req.redirect_uri, req.state.as_deref(), &[("code", &code)]),
        // The user's tenant is known to the app's, which doesn't trust it: a page that says so.
        Err(ServiceError::Domain(tapd_core::DomainError::AccessDenied(message))) => {
            error_message(state, StatusCode::FORBIDDEN, "Sign-in refused", &message)
        }
        Err(ServiceError::OAuth(refusal, description)) => {
            let params = [
                ("error", refusal.code()),
                ("error_description", description.as_str()),
            ];
            back_to_app(&req.redirect_uri, req.state.as_deref(), &params)
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store an authorization code");
            let params = [
                ("error", "server_error"),
                ("error_description", "An internal error occurred."),
            ];
            back_to_app(&req.redirect_uri, req.state.as_deref(), &params)
        }
    }
}

/// After a sign-in on the pages: the authorization request it was for, answered.
pub async fn continue_after_sign_in(
    state: &AppState,
    ctx: &Ctx,
    authz: &str,
    session: &WebSession,
) -> Response {
    match code_flow::check(&state.svc, authz).await {
        Ok(Ok(req)) => issue_code(state, ctx, &req, session).await,
        Ok(Err(refusal)) => refusal_response(state, refusal),
        Err(_) => internal_page(state),
    }
}
