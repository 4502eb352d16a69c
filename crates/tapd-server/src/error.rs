//! The one error type of the HTTP layer and its Graph envelope (SPEC §7):
//! `{"error":{"code","message","innerError":{"request-id","date"}}}`, always JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tapd_core::DomainError;
use tapd_store::StoreError;
use time::OffsetDateTime;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware so that every error
    /// body and log line can carry it.
    pub static REQUEST_ID: String;
}

pub fn current_request_id() -> String {
    REQUEST_ID
        .try_with(|id| id.clone())
        .unwrap_or_else(|_| "none".into())
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "itemNotFound", message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "accessDenied", message)
    }

    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            "Too many requests from this client. Wait a moment and try again.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An internal error occurred. Quote the request id when reporting it.",
        )
    }

    pub fn user_not_found(id: &str) -> Self {
        Self::not_found(format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => {
                tracing::error!(request_id = %current_request_id(), error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "request-id": current_request_id(),
                    "date": crate::graph::format_time(OffsetDateTime::now_utc()),
                }
            }
        });
        (self.status, axum::Json(body)).into_response()
    }
}
