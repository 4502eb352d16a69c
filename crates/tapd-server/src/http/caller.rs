//! Who is calling the API: the bearer token turned into the service [`Ctx`], with the user's
//! roles (or the app's permissions) read from the database on every request, so a removed role
//! or a deleted pass takes effect at once. Authorization itself happens in the service.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::http::error::{ApiError, ApiResult};
use crate::keys::Claims;
use crate::service::sessions;
use crate::state::SharedState;

pub use crate::service::Ctx;

/// The caller's context and its token's claims.
pub struct Caller(pub Ctx, pub Claims);

pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn invalid() -> ApiError {
    ApiError::unauthenticated(sessions::INVALID_TOKEN)
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Caller> {
        let token =
            bearer(parts).ok_or_else(|| ApiError::unauthenticated("Access token is empty."))?;
        state.refresh_keys().await.map_err(|e| {
            tracing::error!(error = %e, "could not read the signing keys");
            ApiError::internal()
        })?;
        let claims = state
            .sessions
            .signer
            .verify(token, state.now())
            .ok_or_else(invalid)?;
        let initiator = sessions::initiator_of(&state.svc, &claims).await?;
        let ctx = state.ctx(initiator, client_ip(parts));
        Ok(Caller(ctx, claims))
    }
}
