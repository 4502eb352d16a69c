//! What wraps every request: its id (echoed as `request-id`, carried by every error and log
//! line), a time bound, one log line; and the Graph-shaped answers for unknown routes.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, REQUEST_ID, current_request_id};

/// How long a request may take before it is answered 503 (a transient error clients retry).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest request URI served. hyper refuses longer than 64 KiB itself, with an empty 414
/// that no layer sees; below that, a URI longer than any tapd writes is answered here, so that
/// the refusal reaches the client in its edge's shape.
pub const MAX_URI: usize = 16 * 1024;

/// Refuses a URI longer than [`MAX_URI`] (plain text here, given its edge's shape outside).
pub async fn uri_limit(req: Request, next: Next) -> Response {
    let len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if len > MAX_URI {
        let message = format!("The request URI is too long: at most {MAX_URI} bytes.");
        return (StatusCode::URI_TOO_LONG, message).into_response();
    }
    next.run(req).await
}

/// The client's `client-request-id` when it is a sane one (as Graph does), else a new one.
fn request_id_of(req: &Request) -> String {
    req.headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Gives every request an id, echoes it as `request-id`, bounds its time, and logs one line
/// per request, without query or body.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = request_id_of(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = std::time::Instant::now();
    // The handler runs in its own task so that a panic, should one ever happen, is answered
    // like any internal error (a 500 in the envelope) instead of dropping the connection.
    let handler = tokio::spawn(REQUEST_ID.scope(id.clone(), next.run(req)));
    let mut response = REQUEST_ID
        .scope(id.clone(), async {
            match tokio::time::timeout(REQUEST_TIMEOUT, handler).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    tracing::error!(request_id = %current_request_id(), error = %e, "handler panicked");
                    ApiError::internal().into_response()
                }
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "generalException",
                    "The request took too long. Try again.",
                )
                .into_response(),
            }
        })
        .await;
    let status = response.status();
    if status.is_server_error() {
        tracing::warn!(request_id = %id, %method, %path, status = status.as_u16(), "request failed");
    } else {
        tracing::debug!(request_id = %id, %method, %path, status = status.as_u16(), elapsed_us = started.elapsed().as_micros() as u64, "request");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", v);
    }
    response
}
