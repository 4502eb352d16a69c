//! Rendering: templates into responses with tapd's security headers, the message page, and the
//! one mapping of a service error to what a page shows.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::cookies::Csrf;
use crate::service::ServiceError;
use crate::state::AppState;

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

/// Adds a `Set-Cookie` to a response.
pub fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
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

/// A page that says one thing (an error, or that something is done).
pub struct Message<'a> {
    pub status: StatusCode,
    pub title: &'a str,
    pub text: &'a str,
    pub is_error: bool,
}

pub fn message_page(
    state: &AppState,
    m: Message<'_>,
    signed_in: Option<(&str, &Csrf)>,
) -> Response {
    let page = MessagePage {
        title: m.title,
        message: m.text,
        is_error: m.is_error,
        signed_in_as: signed_in.map(|(upn, _)| upn),
        csrf: signed_in.map(|(_, c)| c.token(state)).unwrap_or_default(),
    };
    html(m.status, render(&page), None)
}

/// An error page with `status`.
pub fn error_message(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    let m = Message {
        status,
        title,
        text,
        is_error: true,
    };
    message_page(state, m, None)
}

pub fn internal_page(state: &AppState) -> Response {
    error_message(
        state,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "An internal error occurred. Try again in a moment.",
    )
}

/// The answer to a form whose CSRF token did not check.
pub fn csrf_refused(state: &AppState) -> Response {
    error_message(
        state,
        StatusCode::FORBIDDEN,
        "Please try again",
        "This form has expired or was sent from another site. Reload the page and try again.",
    )
}

/// The status a page answers a service error with.
pub fn status_of(e: &ServiceError) -> StatusCode {
    use tapd_core::DomainError as D;
    match e {
        ServiceError::Domain(D::BadRequest(_)) | ServiceError::OAuth(..) => StatusCode::BAD_REQUEST,
        ServiceError::Domain(D::AccessDenied(_)) => StatusCode::FORBIDDEN,
        ServiceError::Domain(D::NotFound(_)) => StatusCode::NOT_FOUND,
        ServiceError::Domain(D::Conflict(_)) => StatusCode::CONFLICT,
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::TooManyRequests | ServiceError::Throttled { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        ServiceError::Store(_) | ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ServiceError::MailNotSent(_) => StatusCode::BAD_GATEWAY,
    }
}

/// Whether a service error is the person's to read and fix (not tapd's failure).
pub fn is_refusal(e: &ServiceError) -> bool {
    status_of(e).is_client_error()
}

/// A refused operation as a page: its message, with its status. The one mapping of a service
/// error to a page.
pub fn error_page(state: &AppState, e: &ServiceError) -> Response {
    if !is_refusal(e) {
        tracing::error!(request_id = %crate::http::error::current_request_id(), error = %e, "page failed");
        return internal_page(state);
    }
    error_message(state, status_of(e), "Not available", &e.public_message())
}
