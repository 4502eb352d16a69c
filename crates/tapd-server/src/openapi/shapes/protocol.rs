//! tapd's own JSON sign-in API and the OpenID Connect endpoints.
#![allow(dead_code)]

use utoipa::ToSchema;
use uuid::Uuid;

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    /// `ok`, or `database unreachable` (with 503).
    pub status: String,
}

/// The methods `/api/signin/start` offers, in order of preference.
#[derive(ToSchema)]
pub struct SignInOffer {
    pub username: String,
    /// Any of `temporaryAccessPass`, `passkey`, `password`.
    pub methods: Vec<String>,
}

/// The tokens of a session for tapd itself (the JSON sign-in API).
#[derive(ToSchema)]
pub struct Session {
    pub token_type: String,
    pub access_token: String,
    pub expires_in: i64,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub refresh_token: Option<String>,
    #[schema(format = DateTime)]
    pub refresh_token_expires_at: Option<String>,
    pub amr: Vec<String>,
    pub user: SessionUser,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
}

/// A WebAuthn ceremony's options (`publicKey` as the browser's `navigator.credentials` takes
/// them) and the id of the ceremony to finish.
#[derive(ToSchema)]
pub struct CeremonyOptions {
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// The answer of the OAuth 2.0 token endpoint (RFC 6749 §5.1).
#[derive(ToSchema)]
pub struct TokenResponse {
    pub token_type: String,
    pub access_token: String,
    pub expires_in: i64,
    pub ext_expires_in: Option<i64>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub refresh_token_expires_in: Option<i64>,
    pub id_token: Option<String>,
}

/// The device authorization endpoint's answer (RFC 8628 §3.2).
#[derive(ToSchema)]
pub struct DeviceAuthorization {
    pub device_code: String,
    /// What the person types at `verification_uri`: eight letters, `BCDF-GHJK`.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    /// Seconds.
    pub expires_in: i64,
    /// Seconds to wait between two polls of the token endpoint.
    pub interval: i64,
    pub message: String,
}

/// Token introspection (RFC 7662): `{"active": false}` for anything not valid here.
#[derive(ToSchema)]
pub struct Introspection {
    pub active: bool,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
    pub amr: Option<Vec<String>>,
}

/// OpenID Connect userinfo.
#[derive(ToSchema)]
pub struct UserInfo {
    pub sub: Uuid,
    pub oid: Uuid,
    pub name: String,
    pub preferred_username: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
}

/// OpenID Connect discovery (OpenID Connect Discovery 1.0 §3).
#[derive(ToSchema)]
pub struct OpenIdConfiguration {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    /// RFC 8628's device authorization endpoint.
    pub device_authorization_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    pub request_uri_parameter_supported: bool,
    pub frontchannel_logout_supported: bool,
    pub tenant_region_scope: Option<String>,
}

/// The signing keys (RFC 7517), current and recently retired.
#[derive(ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: Option<String>,
    pub x: Option<String>,
    pub kid: String,
    #[schema(rename = "use")]
    pub use_: Option<String>,
    pub alg: Option<String>,
}
