//! Who is calling: the bearer token turned into a `Caller` whose roles (or app permissions) are
//! read from the database on every request, so a removed role or a deleted pass takes effect at
//! once. Authorization itself is `tapd_core::authorize`, called by each handler with its target.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use serde_json::{Value, json};
use tapd_core::{Action, Principal};
use tapd_store::{AppRecord, UserRecord};
use uuid::Uuid;

use crate::SharedState;
use crate::error::{ApiError, ApiResult};
use crate::tokens::Claims;

pub enum Identity {
    User(UserRecord),
    App(AppRecord),
}

pub struct Caller {
    pub identity: Identity,
    pub principal: Principal,
    pub claims: Claims,
    pub ip: Option<IpAddr>,
}

impl Caller {
    pub fn authorize(&self, action: Action) -> ApiResult<()> {
        tapd_core::authorize(&self.principal, &action).map_err(ApiError::from)
    }

    /// The signed-in user, for `/me`; apps have none.
    pub fn user(&self) -> ApiResult<&UserRecord> {
        match &self.identity {
            Identity::User(u) => Ok(u),
            Identity::App(_) => Err(ApiError::bad_request(
                "/me request is only valid with delegated authentication flow.",
            )),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match &self.identity {
            Identity::User(u) => Some(u.id),
            Identity::App(_) => None,
        }
    }

    /// The `initiatedBy` of an audit record.
    pub fn initiated_by(&self) -> Value {
        match &self.identity {
            Identity::User(u) => user_initiator(u, self.ip),
            Identity::App(a) => json!({
                "user": null,
                "app": {"appId": a.client_id, "displayName": a.display_name, "servicePrincipalId": a.id},
            }),
        }
    }
}

/// The `initiatedBy` of an audit record for a change a user made.
pub fn user_initiator(u: &UserRecord, ip: Option<IpAddr>) -> Value {
    json!({
        "user": {"id": u.id, "userPrincipalName": u.upn, "displayName": u.display_name, "ipAddress": ip.map(|ip| ip.to_string())},
        "app": null,
    })
}

pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Caller> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::unauthenticated("Access token is empty."))?;
        let invalid = || {
            ApiError::unauthenticated("Access token validation failure. Invalid or expired token.")
        };
        state.refresh_keys().await.map_err(|e| {
            tracing::error!(error = %e, "could not read the signing keys");
            ApiError::internal()
        })?;
        let claims = state
            .signer
            .verify(token, state.now())
            .ok_or_else(invalid)?;
        let id = Uuid::parse_str(&claims.sub).map_err(|_| invalid())?;
        let ip = client_ip(parts);
        let (identity, principal) = match claims.idtyp.as_str() {
            "user" => {
                let user = state
                    .store
                    .find_user(&id.to_string())
                    .await?
                    .filter(|u| u.account_enabled)
                    .ok_or_else(invalid)?;
                if let Some(tap) = claims.tap
                    && !state.store.tap_exists(tap).await?
                {
                    return Err(ApiError::unauthenticated(
                        "The session has ended: the Temporary Access Pass it was opened with was deleted.",
                    ));
                }
                let roles = state.store.roles_of(user.id).await?;
                (Identity::User(user), Principal::User { id, roles })
            }
            "app" => {
                let app = state.store.app(id).await?.ok_or_else(invalid)?;
                let permissions = app.permissions.clone();
                (Identity::App(app), Principal::App { id, permissions })
            }
            _ => return Err(invalid()),
        };
        Ok(Caller {
            identity,
            principal,
            claims,
            ip,
        })
    }
}
