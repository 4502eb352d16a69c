//! The OpenID Connect provider's back channel, what applications call (SPEC §6.4): discovery
//! and keys here; the token endpoint, revocation, introspection and userinfo in `token`. Each
//! parses the protocol's request, calls the service, and answers in the protocol's shape
//! (errors per RFC 6749 §5.2, mapped in `error`). The browser-facing authorization and logout
//! endpoints are pages, in `web::oidc`.

mod error;
mod token;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use self::error::OAuthError;
use crate::openapi::shapes;
use crate::state::{AppState, SharedState};

pub fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(discovery))
        .routes(routes!(tenant_discovery))
        .routes(routes!(jwks))
        .routes(routes!(tenant_jwks))
        .merge(token::routes())
}

/// The tenant `/{tenant}/…` names (its id or one of its domains), or the error to answer.
pub(crate) async fn path_tenant(state: &AppState, name: &str) -> Result<Uuid, OAuthError> {
    match crate::service::tenant_named(&state.svc, name).await {
        Ok(Some(tenant)) => Ok(tenant.id),
        Ok(None) => Err(OAuthError::unknown_tenant(name)),
        Err(e) => Err(OAuthError::server(e)),
    }
}

fn discovery_document(state: &AppState, tenant: Uuid) -> Value {
    let base = &state.public_url;
    json!({
        "issuer": state.sessions.signer.issuer(tenant),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2/v2.0/logout"),
        "revocation_endpoint": format!("{base}/oauth2/v2.0/revoke"),
        "introspection_endpoint": format!("{base}/oauth2/v2.0/introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
            token::DEVICE_CODE_GRANT],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "amr",
            "tid", "oid", "sid", "preferred_username", "name", "email", "ver"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "tenant_region_scope": null,
    })
}

fn cacheable(body: Value) -> Response {
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(body)).into_response()
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc", security(()),
    responses((status = 200, description = "OpenID Connect discovery.", body = shapes::OpenIdConfiguration)))]
async fn discovery(State(state): State<SharedState>) -> Response {
    cacheable(discovery_document(&state, state.default_tenant.id))
}

#[utoipa::path(get, path = "/{tenant}/v2.0/.well-known/openid-configuration", tag = "oidc", params(("tenant" = String, Path, description = "The tenant id, or `organizations` / `common`.")), security(()),
    responses((status = 200, description = "OpenID Connect discovery of the tenant's issuer.", body = shapes::OpenIdConfiguration)))]
async fn tenant_discovery(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
) -> Response {
    match path_tenant(&state, &tenant).await {
        Ok(tenant) => cacheable(discovery_document(&state, tenant)),
        Err(e) => e.into_response(),
    }
}

#[utoipa::path(get, path = "/discovery/v2.0/keys", tag = "oidc", security(()),
    responses((status = 200, description = "The signing keys.", body = shapes::Jwks)))]
async fn jwks(State(state): State<SharedState>) -> Response {
    if let Err(e) = state.refresh_keys().await {
        return OAuthError::server(e).into_response();
    }
    cacheable(state.sessions.signer.jwks(state.now()))
}

#[utoipa::path(get, path = "/{tenant}/discovery/v2.0/keys", tag = "oidc", params(("tenant" = String, Path, description = "The tenant id, or `organizations` / `common`.")), security(()),
    responses((status = 200, description = "The signing keys.", body = shapes::Jwks)))]
async fn tenant_jwks(State(state): State<SharedState>, Path(tenant): Path<String>) -> Response {
    if let Err(e) = path_tenant(&state, &tenant).await {
        return e.into_response();
    }
    jwks(State(state)).await
}
