//! Authentication methods and the methods policy as Graph shapes them.
#![allow(dead_code)]

use utoipa::ToSchema;
use uuid::Uuid;

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
    /// tapd: how the pass was delivered, when the issuer asked (`tapdDelivery`).
    pub tapd_delivery: Option<String>,
    /// tapd: the one-time link that shows the pass once (delivery `link`).
    pub tapd_one_time_link: Option<String>,
    /// tapd: when the one-time link ends.
    #[schema(format = DateTime)]
    pub tapd_one_time_link_expires_date_time: Option<String>,
    /// tapd: where the link was mailed (`emailToUser`, `emailToManager`).
    pub tapd_delivered_to: Option<String>,
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

/// A PATCH of a method configuration: the TAP's or FIDO2's properties.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MethodConfigurationPatch {
    TemporaryAccessPass(tapd_core::PolicyPatch),
    Fido2(tapd_core::Fido2Patch),
}
