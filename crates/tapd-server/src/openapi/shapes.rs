//! What the handlers answer, described for the OpenAPI document. The handlers render Graph
//! JSON directly; these types only describe it, and the tests in this module render sample
//! records and compare their property names with these descriptions, so the two can't drift.
//!
//! Graph's properties are nullable and `$select` leaves any of them out, so every property of a
//! directory object but `id` is optional here.
#![allow(dead_code)]

use utoipa::ToSchema;
use uuid::Uuid;

/// Graph's error envelope (SPEC §7), the body of every error of `/v1.0` and `/api`.
#[derive(ToSchema)]
pub struct GraphError {
    pub error: GraphErrorDetail,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct GraphErrorDetail {
    /// Graph's code, e.g. `badRequest`, `itemNotFound`, `accessDenied`.
    pub code: String,
    /// What was wrong, in words.
    pub message: String,
    pub inner_error: InnerError,
}

#[derive(ToSchema)]
pub struct InnerError {
    #[schema(rename = "request-id")]
    pub request_id: String,
    #[schema(format = DateTime)]
    pub date: String,
}

/// An OAuth 2.0 error (RFC 6749 §5.2) from the token, revocation and introspection endpoints.
#[derive(ToSchema)]
pub struct OAuthError {
    pub error: String,
    pub error_description: Option<String>,
    pub error_codes: Option<Vec<i64>>,
    pub timestamp: Option<String>,
    pub trace_id: Option<String>,
    pub correlation_id: Option<String>,
}

/// Graph's `user`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct User {
    #[schema(rename = "@odata.context")]
    pub odata_context: Option<String>,
    #[schema(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub user_principal_name: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest`.
    pub user_type: Option<String>,
    /// `Invitation` for an external guest.
    pub creation_type: Option<String>,
    pub external_user_state: Option<String>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
}

/// Graph's `invitation`, as `POST /invitations` answers it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Invitation {
    #[schema(rename = "@odata.type")]
    pub odata_type: String,
    pub id: Uuid,
    pub invited_user_email_address: Option<String>,
    pub invited_user_display_name: Option<String>,
    pub invite_redirect_url: String,
    pub invite_redeem_url: String,
    pub status: String,
    pub invited_user: InvitedUser,
    pub invited_user_type: String,
}

#[derive(ToSchema)]
pub struct InvitedUser {
    pub id: Uuid,
}

/// Graph's `group` (tapd's groups are security groups).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Group {
    pub id: Uuid,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub security_enabled: Option<bool>,
    pub mail_enabled: Option<bool>,
    pub group_types: Option<Vec<String>>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
}

/// Graph's `application`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Application {
    pub id: Uuid,
    /// The client id.
    pub app_id: Option<Uuid>,
    pub display_name: Option<String>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
    pub sign_in_audience: Option<String>,
    pub is_fallback_public_client: Option<bool>,
    pub web: Option<WebApplication>,
    pub spa: Option<RedirectUris>,
    pub public_client: Option<RedirectUris>,
    pub password_credentials: Option<Vec<PasswordCredential>>,
    pub key_credentials: Option<Vec<serde_json::Value>>,
    pub required_resource_access: Option<Vec<serde_json::Value>>,
    pub tags: Option<Vec<String>>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct WebApplication {
    pub redirect_uris: Vec<String>,
    pub home_page_url: Option<String>,
    pub logout_url: Option<String>,
    pub implicit_grant_settings: ImplicitGrantSettings,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct ImplicitGrantSettings {
    pub enable_access_token_issuance: bool,
    pub enable_id_token_issuance: bool,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RedirectUris {
    pub redirect_uris: Vec<String>,
}

/// A client secret; `secretText` only in the answer of `addPassword`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    #[schema(format = DateTime)]
    pub end_date_time: String,
    pub hint: Option<String>,
    pub key_id: Uuid,
    pub secret_text: Option<String>,
    #[schema(format = DateTime)]
    pub start_date_time: String,
}

/// Graph's `temporaryAccessPassAuthenticationMethod`; `temporaryAccessPass` (the code) only in
/// the answer that created it.
#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TemporaryAccessPassMethod {
    #[schema(
        rename = "@odata.type",
        pattern = "^#microsoft\\.graph\\.temporaryAccessPassAuthenticationMethod$"
    )]
    pub odata_type: String,
    #[schema(rename = "@odata.context")]
    pub odata_context: Option<String>,
    pub id: Uuid,
    pub temporary_access_pass: Option<String>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
    #[schema(format = DateTime)]
    pub start_date_time: Option<String>,
    pub lifetime_in_minutes: Option<i64>,
    pub is_usable_once: Option<bool>,
    pub is_usable: Option<bool>,
    /// `enabledByPolicy`, `notYetValid`, `expired`, `usedUp`, `lockedOut`, …
    pub method_usability_reason: Option<String>,
}

/// Graph's `fido2AuthenticationMethod`: a passkey; its id is the credential id in base64url.
#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Fido2Method {
    #[schema(
        rename = "@odata.type",
        pattern = "^#microsoft\\.graph\\.fido2AuthenticationMethod$"
    )]
    pub odata_type: String,
    pub id: String,
    pub display_name: Option<String>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
    pub aa_guid: Option<Uuid>,
    pub model: Option<String>,
    pub attestation_level: Option<String>,
    pub attestation_certificates: Option<Vec<String>>,
}

/// Graph's `passwordAuthenticationMethod`; the password itself is never returned.
#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct PasswordMethod {
    #[schema(
        rename = "@odata.type",
        pattern = "^#microsoft\\.graph\\.passwordAuthenticationMethod$"
    )]
    pub odata_type: String,
    pub id: Uuid,
    pub password: Option<String>,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
}

/// One of a user's methods, told apart by `@odata.type`. (Serialize is derived only so that
/// `untagged` can be said.)
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum AuthenticationMethod {
    TemporaryAccessPass(TemporaryAccessPassMethod),
    Fido2(Fido2Method),
    Password(PasswordMethod),
}

/// Graph's `unifiedRoleDefinition` (built-in roles only).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: Uuid,
    pub template_id: Uuid,
    pub display_name: String,
    pub is_built_in: bool,
    pub is_enabled: bool,
}

/// Graph's `unifiedRoleAssignment` (directory scope `/` only).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct RoleAssignment {
    #[schema(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: String,
    pub principal_id: Option<Uuid>,
    pub role_definition_id: Option<Uuid>,
    pub directory_scope_id: Option<String>,
}

/// A directory audit record (Graph's `directoryAudit`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct DirectoryAudit {
    pub id: Uuid,
    pub category: Option<String>,
    pub correlation_id: Option<String>,
    pub result: Option<String>,
    pub result_reason: Option<String>,
    pub activity_display_name: Option<String>,
    #[schema(format = DateTime)]
    pub activity_date_time: Option<String>,
    pub logged_by_service: Option<String>,
    pub operation_type: Option<String>,
    pub initiated_by: Option<serde_json::Value>,
    pub target_resources: Option<Vec<serde_json::Value>>,
    pub additional_details: Option<Vec<serde_json::Value>>,
}

/// A sign-in record (Graph's `signIn`).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SignIn {
    pub id: Uuid,
    #[schema(format = DateTime)]
    pub created_date_time: Option<String>,
    pub user_principal_name: Option<String>,
    pub user_id: Option<Uuid>,
    pub user_display_name: Option<String>,
    pub app_display_name: Option<String>,
    pub ip_address: Option<String>,
    pub client_app_used: Option<String>,
    pub correlation_id: Option<String>,
    pub is_interactive: Option<bool>,
    pub authentication_methods_used: Option<Vec<String>>,
    pub status: Option<SignInStatus>,
}

#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct SignInStatus {
    pub error_code: i64,
    pub failure_reason: Option<String>,
}

/// Graph's `userRegistrationDetails`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct UserRegistrationDetails {
    pub id: Uuid,
    pub user_principal_name: String,
    pub user_display_name: String,
    pub user_type: String,
    pub is_admin: bool,
    pub is_sspr_registered: bool,
    pub is_sspr_enabled: bool,
    pub is_sspr_capable: bool,
    pub is_mfa_registered: bool,
    pub is_mfa_capable: bool,
    pub is_passwordless_capable: bool,
    pub is_system_preferred_authentication_method_enabled: bool,
    pub system_preferred_authentication_methods: Vec<String>,
    pub user_preferred_method_for_secondary_authentication: String,
    pub methods_registered: Vec<String>,
    #[schema(format = DateTime)]
    pub last_updated_date_time: String,
}

/// The TAP method configuration (SPEC §3), as core's `TapPolicy` with Graph's `@odata.type`
/// and `id`.
#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct TapConfiguration {
    #[schema(
        rename = "@odata.type",
        pattern = "^#microsoft\\.graph\\.temporaryAccessPassAuthenticationMethodConfiguration$"
    )]
    pub odata_type: String,
    /// `TemporaryAccessPass`.
    pub id: String,
    pub state: tapd_core::PolicyState,
    pub minimum_lifetime_in_minutes: u32,
    pub maximum_lifetime_in_minutes: u32,
    pub default_lifetime_in_minutes: u32,
    pub is_usable_once: bool,
    pub default_length: u32,
    pub include_targets: Vec<tapd_core::PolicyTarget>,
    pub exclude_targets: Vec<tapd_core::PolicyTarget>,
}

/// The FIDO2 (passkey) method configuration, as core's `Fido2Policy` with Graph's
/// `@odata.type` and `id`.
#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Fido2Configuration {
    #[schema(
        rename = "@odata.type",
        pattern = "^#microsoft\\.graph\\.fido2AuthenticationMethodConfiguration$"
    )]
    pub odata_type: String,
    /// `Fido2`.
    pub id: String,
    pub state: tapd_core::PolicyState,
    pub is_self_service_registration_allowed: bool,
    pub is_attestation_enforced: bool,
    pub key_restrictions: Fido2KeyRestrictions,
    pub include_targets: Vec<tapd_core::PolicyTarget>,
    pub exclude_targets: Vec<tapd_core::PolicyTarget>,
}

#[derive(serde::Serialize, ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Fido2KeyRestrictions {
    #[schema(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub is_enforced: bool,
    pub enforcement_type: tapd_core::EnforcementType,
    pub aa_guids: Vec<Uuid>,
}

/// A method configuration of the policy: the TAP's or FIDO2's, told apart by `@odata.type`.
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum MethodConfiguration {
    TemporaryAccessPass(TapConfiguration),
    Fido2(Fido2Configuration),
}

/// Graph's `authenticationMethodsPolicy`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct AuthenticationMethodsPolicy {
    #[schema(rename = "@odata.context")]
    pub odata_context: String,
    #[schema(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    pub display_name: String,
    pub description: String,
    #[schema(format = DateTime)]
    pub last_modified_date_time: Option<String>,
    pub policy_version: String,
    pub policy_migration_state: String,
    pub reconfirmation_in_days: i64,
    pub registration_enforcement: serde_json::Value,
    pub authentication_method_configurations: Vec<MethodConfiguration>,
}

/// A collection, with the `@odata` annotations Graph puts on it.
macro_rules! collection {
    ($name:ident, $item:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(ToSchema)]
        pub struct $name {
            #[schema(rename = "@odata.context")]
            pub odata_context: String,
            /// With `$count=true`.
            #[schema(rename = "@odata.count")]
            pub odata_count: Option<i64>,
            /// The next page, with the same query options; absent on the last page.
            #[schema(rename = "@odata.nextLink")]
            pub odata_next_link: Option<String>,
            pub value: Vec<$item>,
        }
    };
}

collection!(UserCollection, User, "A page of users.");
collection!(GroupCollection, Group, "A page of groups.");
collection!(
    ApplicationCollection,
    Application,
    "A page of applications."
);
collection!(
    MethodCollection,
    AuthenticationMethod,
    "A user's authentication methods."
);
collection!(
    TemporaryAccessPassCollection,
    TemporaryAccessPassMethod,
    "A user's Temporary Access Pass (at most one)."
);
collection!(Fido2Collection, Fido2Method, "A user's passkeys.");
collection!(
    RoleDefinitionCollection,
    RoleDefinition,
    "The built-in role definitions."
);
collection!(
    RoleAssignmentCollection,
    RoleAssignment,
    "A page of role assignments."
);
collection!(
    DirectoryAuditCollection,
    DirectoryAudit,
    "A page of directory audit records, newest first."
);
collection!(
    SignInCollection,
    SignIn,
    "A page of sign-in records, newest first."
);
collection!(
    UserRegistrationDetailsCollection,
    UserRegistrationDetails,
    "A page of the registration report."
);
collection!(
    MethodConfigurationCollection,
    MethodConfiguration,
    "The policy's method configurations."
);

/// The answer of `POST /$batch`: one answer per request, in the order they were sent.
#[derive(ToSchema)]
pub struct BatchResponse {
    pub responses: Vec<BatchAnswer>,
}

#[derive(ToSchema)]
pub struct BatchAnswer {
    pub id: String,
    pub status: u16,
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    pub body: Option<serde_json::Value>,
}

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

/// A reference to a directory object, as `…/$ref` takes it.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// `https://…/v1.0/directoryObjects/{id}` (or `/users/{id}`).
    #[schema(rename = "@odata.id")]
    pub odata_id: String,
}

/// A PATCH of a method configuration: the TAP's or FIDO2's properties.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MethodConfigurationPatch {
    TemporaryAccessPass(tapd_core::PolicyPatch),
    Fido2(tapd_core::Fido2Patch),
}
