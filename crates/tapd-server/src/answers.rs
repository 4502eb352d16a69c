//! The last word on every response: errors in their edge's shape and the headers every answer
//! carries. An error that reaches the client as plain text — an extractor's rejection (a path
//! that is not UTF-8, a form missing a field, a body too large or of the wrong type), an unknown
//! route, a method not allowed — becomes Graph's JSON envelope on the API and an HTML message
//! page on the pages. Every answer gets `X-Content-Type-Options: nosniff`, `Cache-Control:
//! no-store` unless it says otherwise (tokens, passes and secrets are never cached),
//! `Retry-After` with a 429, and `Strict-Transport-Security` when the public URL is https.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;
use crate::state::SharedState;
use crate::web::render::error_message;

/// Largest plain-text rejection read back to be reshaped; axum's are one line.
const REJECTION_LIMIT: usize = 4 * 1024;

/// Whether a path is answered in JSON (the API, OAuth, the pages' fetch calls) rather than
/// HTML.
pub fn is_api_path(path: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "/v1.0",
        "/api/",
        "/oauth2/",
        "/oidc/",
        "/.well-known/",
        "/discovery/",
        "/healthz",
        "/metrics",
    ];
    PREFIXES.iter().any(|p| path.starts_with(p))
        || path.starts_with("/signin/passkey/")
        || ["/oauth2/", "/discovery/", "/v2.0/"]
            .iter()
            .any(|p| path[1..].contains(p))
}

/// Unknown routes and methods answer plain text here; [`shape`] gives them their edge's form.
pub async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "The requested resource does not exist.",
    )
        .into_response()
}

pub async fn method_not_allowed() -> Response {
    let message = "The HTTP method is not allowed on this resource.";
    (StatusCode::METHOD_NOT_ALLOWED, message).into_response()
}

fn is_plain_text(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"))
}

fn graph_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "itemNotFound",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "accessDenied",
        StatusCode::TOO_MANY_REQUESTS => "tooManyRequests",
        s if s.is_server_error() => "generalException",
        _ => "badRequest",
    }
}

/// A plain-text error as the edge answers errors.
async fn reshaped(state: &SharedState, api: bool, response: Response) -> Response {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), REJECTION_LIMIT)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("The request failed."),
        m => m,
    };
    if api {
        ApiError::new(status, graph_code(status), message).into_response()
    } else {
        let title = status.canonical_reason().unwrap_or("Not available");
        error_message(state, status, title, message)
    }
}

/// Reshapes plain-text errors and adds the headers every answer carries.
pub async fn shape(State(state): State<SharedState>, req: Request<Body>, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let mut response = next.run(req).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && is_plain_text(&response) {
        response = reshaped(&state, api, response).await;
    }
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if status == StatusCode::TOO_MANY_REQUESTS && !h.contains_key(header::RETRY_AFTER) {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if state.public_url.starts_with("https://") {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_answers_json_and_the_pages_html() {
        for api in [
            "/v1.0/users",
            "/api/signin/tap",
            "/oauth2/v2.0/token",
            "/0b1c/oauth2/v2.0/token",
            "/tapd.test/v2.0/.well-known/openid-configuration",
            "/signin/passkey/finish",
            "/healthz",
        ] {
            assert!(is_api_path(api), "{api}");
        }
        for page in [
            "/",
            "/signin",
            "/signin/tap",
            "/admin/users/x",
            "/mysecurityinfo",
            "/nope",
        ] {
            assert!(!is_api_path(page), "{page}");
        }
    }
}
