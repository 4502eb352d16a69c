//! What wraps every request: its id (echoed as `request-id`, carried by every error and log
//! line), a time bound, one access-log line and its metrics; and the Graph-shaped answers for
//! unknown routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, REQUEST_ID, current_request_id};
use crate::state::SharedState;
use crate::telemetry;

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

/// The route template a request matched (`/v1.0/users/{id}`), carried out on its response for
/// the access log and the metrics: never the path itself, which may name a user.
#[derive(Clone)]
pub struct Route(Arc<str>);

/// Records the matched route on the response (a route layer: it runs only on a match).
pub async fn record_route(matched: MatchedPath, req: Request, next: Next) -> Response {
    let route = Route(matched.as_str().into());
    let mut response = next.run(req).await;
    response.extensions_mut().insert(route);
    response
}

/// Gives every request an id, echoes it as `request-id`, bounds its time, and logs one
/// access-log line per request (target `tapd::access`: method, route template, status,
/// latency, request id, client address — never the path's values, the query or the body).
pub async fn request_id(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let id = request_id_of(&req);
    let method = req.method().clone();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| state.trusted_proxies.client_of(peer.ip(), req.headers()));
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
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| &r.0)
        .to_string();
    telemetry::request(method.as_str(), &route, status, elapsed);
    let client = client.map(|ip| ip.to_string()).unwrap_or_default();
    let elapsed_ms = (elapsed * 1000.0 * 1000.0).round() / 1000.0;
    if status >= 500 {
        tracing::warn!(target: "tapd::access", request_id = %id, %method, %route, status, elapsed_ms, %client, "request failed");
    } else {
        tracing::info!(target: "tapd::access", request_id = %id, %method, %route, status, elapsed_ms, %client, "request");
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("request-id", v);
    }
    response
}
