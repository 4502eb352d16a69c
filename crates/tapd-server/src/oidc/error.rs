//! OAuth 2.0's error answer (RFC 6749 §5.2): `{"error","error_description","correlation_id"}`.
//! A service error becomes an OAuth error here and only here.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::error::current_request_id;
use crate::service::ServiceError;
use crate::service::oauth::Refusal;

#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Seconds a client should wait, for `Retry-After` on a 429.
    retry_after: Option<u64>,
}

pub type OAuthResult<T> = Result<T, OAuthError>;

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error,
            description: description.into(),
            retry_after: None,
        }
    }

    pub fn invalid_request(why: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", why)
    }

    pub fn unknown_tenant(tenant: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            format!("Tenant '{tenant}' not found. Use the tenant's id or one of its domains."),
        )
    }

    pub fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(request_id = %current_request_id(), error = %e, "token endpoint failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "An internal error occurred.",
        )
    }
}

impl From<ServiceError> for OAuthError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::OAuth(Refusal::InvalidClient, m) => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_client", m)
            }
            ServiceError::OAuth(kind, m) => Self::new(StatusCode::BAD_REQUEST, kind.code(), m),
            ServiceError::TooManyRequests => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "slow_down",
                "Too many requests from this client.",
            ),
            ServiceError::Throttled { retry_after } => OAuthError {
                retry_after: Some(retry_after),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", e.to_string())
            },
            ServiceError::Domain(d) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_request", d.to_string())
            }
            ServiceError::Unauthenticated(m) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_grant", m)
            }
            other @ (ServiceError::Store(_)
            | ServiceError::Internal(_)
            | ServiceError::MailNotSent(_)) => Self::server(other),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({
                "error": self.error,
                "error_description": self.description,
                "correlation_id": current_request_id(),
            })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"tapd\""),
            );
        }
        response
    }
}
