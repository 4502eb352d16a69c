//! The Graph API's error and its envelope (SPEC §7):
//! `{"error":{"code","message","innerError":{"request-id","date"}}}`, always JSON. A service
//! error becomes a Graph error here and only here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tapd_core::{DomainError, format_time};
use time::OffsetDateTime;

use crate::service::ServiceError;

pub use crate::state::{REQUEST_ID, current_request_id};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds a client should wait, for `Retry-After` on a 429.
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
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
        let (status, code) = match &e {
            DomainError::BadRequest(_) => (StatusCode::BAD_REQUEST, "badRequest"),
            DomainError::AccessDenied(_) => (StatusCode::FORBIDDEN, "accessDenied"),
            DomainError::NotFound(_) => (StatusCode::NOT_FOUND, "itemNotFound"),
            DomainError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::Unauthenticated(m) => ApiError::unauthenticated(m),
            ServiceError::TooManyRequests => ApiError::too_many_requests(),
            ServiceError::Throttled { retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "tooManyRequests",
                    e.to_string(),
                )
            },
            ServiceError::OAuth(_, m) => ApiError::bad_request(m),
            ServiceError::MailNotSent(m) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "generalException", m)
            }
            ServiceError::Store(_) | ServiceError::Internal(_) => {
                tracing::error!(request_id = %current_request_id(), error = %e, "request failed");
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
                    "date": format_time(OffsetDateTime::now_utc()),
                }
            }
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_domain_error_maps_to_its_graph_code_and_status() {
        let cases = [
            (DomainError::BadRequest("b".into()), "badRequest", 400),
            (DomainError::AccessDenied("a".into()), "accessDenied", 403),
            (DomainError::NotFound("n".into()), "itemNotFound", 404),
            (DomainError::Conflict("c".into()), "conflict", 409),
        ];
        for (error, code, status) in cases {
            let e = ApiError::from(error.clone());
            assert_eq!((e.code, e.status.as_u16()), (code, status), "{error:?}");
            assert_eq!(e.message, error.to_string());
        }
    }

    #[test]
    fn internal_failures_say_nothing_internal() {
        let e = ApiError::from(ServiceError::internal("disk on fire at /var/lib/tapd"));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("disk"), "{}", e.message);
    }
}
