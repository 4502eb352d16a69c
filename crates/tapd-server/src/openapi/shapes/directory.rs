//! Directory objects as Graph shapes them: users, groups, applications, roles, the audit logs,
//! the registration report, references and batches.
#![allow(dead_code)]

use utoipa::ToSchema;
use uuid::Uuid;

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

/// Graph's `domain`: one of the tenant's names for its users' UPNs.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct Domain {
    /// The domain's name, e.g. `contoso.com`.
    pub id: String,
    /// `Managed` (users authenticate here) or `Federated` (at the domain's federated provider).
    pub authentication_type: Option<String>,
    pub is_default: Option<bool>,
    pub is_initial: Option<bool>,
    pub is_root: Option<bool>,
    /// Always true: a domain is verified by the administrator's act of adding it.
    pub is_verified: Option<bool>,
    pub is_admin_managed: Option<bool>,
    pub supported_services: Option<Vec<String>>,
}

/// Graph's `internalDomainFederation`, over OpenID Connect, with tapd's extension properties.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct InternalDomainFederation {
    #[schema(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: Uuid,
    pub display_name: Option<String>,
    /// The provider's OpenID Connect issuer.
    pub issuer_uri: Option<String>,
    pub passive_sign_in_uri: Option<String>,
    pub sign_out_uri: Option<String>,
    /// `acceptIfMfaDoneByFederatedIdp`, `enforceMfaByFederatedIdp` or `rejectMfaByFederatedIdp`.
    pub federated_idp_mfa_behavior: Option<String>,
    /// Always null: tapd federates over OpenID Connect.
    pub preferred_authentication_protocol: Option<String>,
    /// tapd: the client id tapd is registered with at the provider.
    pub tapd_client_id: Option<String>,
    /// tapd: write-only, always null in answers.
    pub tapd_client_secret: Option<String>,
    /// tapd: the redirect URI to register at the provider.
    pub tapd_redirect_uri: Option<String>,
}

/// Graph's `crossTenantAccessPolicyConfigurationPartner`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CrossTenantPartner {
    pub tenant_id: Uuid,
    pub is_service_provider: Option<bool>,
    pub is_in_multi_tenant_organization: Option<bool>,
    pub inbound_trust: Option<CrossTenantInboundTrust>,
}

/// Graph's `crossTenantAccessPolicyInboundTrust`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
pub struct CrossTenantInboundTrust {
    pub is_mfa_accepted: Option<bool>,
    pub is_compliant_device_accepted: Option<bool>,
    #[schema(rename = "isHybridAzureADJoinedDeviceAccepted")]
    pub is_hybrid_azure_ad_joined_device_accepted: Option<bool>,
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

/// A reference to a directory object, as `…/$ref` takes it.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// `https://…/v1.0/directoryObjects/{id}` (or `/users/{id}`).
    #[schema(rename = "@odata.id")]
    pub odata_id: String,
}

/// A reference as `GET …/$ref` answers it.
#[derive(ToSchema)]
pub struct ReferenceAnswer {
    #[schema(rename = "@odata.context")]
    pub odata_context: String,
    /// `https://…/v1.0/users/{id}`.
    #[schema(rename = "@odata.id")]
    pub odata_id: String,
}
