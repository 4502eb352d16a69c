//! The objects tapd's API answers with, as Graph (and tapd's sign-in API) spell them.
//!
//! Fields are declared in the order the server writes them, and every field the server sends is
//! kept, so that a value serialized back (the CLI's `--json`) reads as the server's answer. Dates
//! are `OffsetDateTime`, read and written as RFC 3339; ids stay strings, as Graph has them.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tapd_core::{PolicyState, PolicyTarget, TapPolicy, UsabilityReason};
use time::OffsetDateTime;

/// A page of a Graph collection: `value`, and `@odata.nextLink` while more pages follow.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Collection<T> {
    #[serde(
        rename = "@odata.context",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_context: Option<String>,
    pub value: Vec<T>,
    #[serde(
        rename = "@odata.nextLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_link: Option<String>,
}

impl<T> Collection<T> {
    /// A collection of `value` alone, without context or next link.
    pub fn of(value: Vec<T>) -> Collection<T> {
        Collection {
            odata_context: None,
            value,
            next_link: None,
        }
    }
}

/// Graph's `user`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: bool,
    /// `Member` or `Guest`.
    pub user_type: String,
    /// `Invitation` for an invited (external) guest.
    pub creation_type: Option<String>,
    pub external_user_state: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// Set when the user is listed among directory objects (a group's members).
    #[serde(
        rename = "@odata.type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_type: Option<String>,
    /// Set on `/me`.
    #[serde(
        rename = "@odata.context",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_context: Option<String>,
}

/// `passwordProfile` of a new user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordProfile {
    pub password: String,
    pub force_change_password_next_sign_in: bool,
}

/// The body that creates a user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub account_enabled: bool,
    pub display_name: String,
    pub user_principal_name: String,
    pub mail_nickname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_profile: Option<PasswordProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

impl NewUser {
    /// An enabled member named `display_name`, its mail nickname the UPN's local part.
    pub fn new(upn: &str, display_name: &str) -> NewUser {
        NewUser {
            account_enabled: true,
            display_name: display_name.to_string(),
            user_principal_name: upn.to_string(),
            mail_nickname: upn.split('@').next().unwrap_or(upn).to_string(),
            password_profile: None,
            user_type: None,
        }
    }

    /// With a password that need not be changed at the first sign-in.
    pub fn with_password(mut self, password: &str) -> NewUser {
        self.password_profile = Some(PasswordProfile {
            password: password.to_string(),
            force_change_password_next_sign_in: false,
        });
        self
    }

    /// An internal guest.
    pub fn guest(mut self) -> NewUser {
        self.user_type = Some("Guest".into());
        self
    }
}

/// Graph's `invitation`, as `POST /invitations` answers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    pub invited_user_email_address: String,
    pub invited_user_display_name: String,
    pub invite_redirect_url: String,
    pub invite_redeem_url: String,
    pub status: String,
    pub invited_user: DirectoryObjectRef,
    pub invited_user_type: String,
}

/// `{"id": …}`: a directory object named by its id alone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DirectoryObjectRef {
    pub id: String,
}

/// Graph's `group`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub security_enabled: bool,
    pub mail_enabled: bool,
    pub group_types: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

/// Graph's `unifiedRoleAssignment`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    pub principal_id: String,
    /// The role's template id.
    pub role_definition_id: String,
    pub directory_scope_id: String,
}

/// Graph's `unifiedRoleDefinition` of a built-in role.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub id: String,
    pub template_id: String,
    pub display_name: String,
    pub is_built_in: bool,
    pub is_enabled: bool,
}

/// Graph's `temporaryAccessPassAuthenticationMethod`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryAccessPass {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    /// The code: only in the answer that issues the pass, `null` in every read.
    pub temporary_access_pass: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    pub lifetime_in_minutes: u32,
    pub is_usable_once: bool,
    pub is_usable: bool,
    pub method_usability_reason: UsabilityReason,
    /// Set on the answer that issues the pass.
    #[serde(
        rename = "@odata.context",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub odata_context: Option<String>,
    /// tapd: how the pass was delivered, when the issuer asked (`tapdDelivery`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tapd_delivery: Option<String>,
    /// tapd: the one-time link that shows the pass once, instead of the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tapd_one_time_link: Option<String>,
    /// tapd: when the one-time link ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tapd_one_time_link_expires_date_time: Option<String>,
    /// tapd: where the link was mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tapd_delivered_to: Option<String>,
}

/// The body that issues a pass; what is left out, the policy decides.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NewTemporaryAccessPass {
    /// RFC 3339 with any offset, passed on as given: the server parses and checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_usable_once: Option<bool>,
}

/// Graph's `passwordAuthenticationMethod` (the password itself is always `null`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordMethod {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
    pub password: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_date_time: Option<OffsetDateTime>,
}

/// Graph's `fido2AuthenticationMethod`: a passkey.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Method {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    /// The credential id, base64url.
    pub id: String,
    pub display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    pub aa_guid: String,
    pub model: Option<String>,
    pub attestation_level: String,
    pub attestation_certificates: Vec<String>,
}

pub const PASSWORD_METHOD_TYPE: &str = "#microsoft.graph.passwordAuthenticationMethod";
pub const TAP_METHOD_TYPE: &str = "#microsoft.graph.temporaryAccessPassAuthenticationMethod";
pub const FIDO2_METHOD_TYPE: &str = "#microsoft.graph.fido2AuthenticationMethod";

/// One item of `/authentication/methods`, told apart by its `@odata.type`.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(untagged)]
pub enum AuthenticationMethod {
    Password(PasswordMethod),
    TemporaryAccessPass(TemporaryAccessPass),
    Fido2(Fido2Method),
}

impl AuthenticationMethod {
    pub fn odata_type(&self) -> &str {
        match self {
            AuthenticationMethod::Password(m) => &m.odata_type,
            AuthenticationMethod::TemporaryAccessPass(m) => &m.odata_type,
            AuthenticationMethod::Fido2(m) => &m.odata_type,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            AuthenticationMethod::Password(m) => &m.id,
            AuthenticationMethod::TemporaryAccessPass(m) => &m.id,
            AuthenticationMethod::Fido2(m) => &m.id,
        }
    }
}

impl<'de> Deserialize<'de> for AuthenticationMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let kind = value
            .get("@odata.type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let method = match kind.as_str() {
            PASSWORD_METHOD_TYPE => serde_json::from_value(value).map(Self::Password),
            TAP_METHOD_TYPE => serde_json::from_value(value).map(Self::TemporaryAccessPass),
            FIDO2_METHOD_TYPE => serde_json::from_value(value).map(Self::Fido2),
            _ => {
                return Err(D::Error::custom(format!(
                    "unknown authentication method type {kind:?}"
                )));
            }
        };
        method.map_err(D::Error::custom)
    }
}

/// The TAP method configuration, as Graph returns it: the policy beside `@odata.type` and `id`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PolicyConfiguration {
    #[serde(flatten)]
    pub policy: TapPolicy,
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: String,
}

pub const POLICY_CONFIGURATION_TYPE: &str =
    "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration";

/// A PATCH of the TAP policy: only the fields that are set change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyChanges {
    /// Graph clients always send it; the server ignores it.
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PolicyState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_lifetime_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_lifetime_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_lifetime_in_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_usable_once: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_targets: Option<Vec<PolicyTarget>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_targets: Option<Vec<PolicyTarget>>,
}

impl Default for PolicyChanges {
    fn default() -> Self {
        PolicyChanges {
            odata_type: POLICY_CONFIGURATION_TYPE.into(),
            state: None,
            minimum_lifetime_in_minutes: None,
            maximum_lifetime_in_minutes: None,
            default_lifetime_in_minutes: None,
            is_usable_once: None,
            default_length: None,
            include_targets: None,
            exclude_targets: None,
        }
    }
}

/// Graph's `directoryAudit`: one change, who made it and to what.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAudit {
    pub id: String,
    pub category: String,
    pub correlation_id: String,
    pub result: String,
    pub result_reason: String,
    pub activity_display_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub activity_date_time: OffsetDateTime,
    pub logged_by_service: String,
    pub operation_type: String,
    pub initiated_by: InitiatedBy,
    pub target_resources: Vec<TargetResource>,
    pub additional_details: Vec<KeyValue>,
}

/// Who made a change: a user or an app (the other is `null`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InitiatedBy {
    pub user: Option<UserIdentity>,
    pub app: Option<AppIdentity>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub ip_address: Option<String>,
}

/// An app that made a change; the command line on the database has no app id.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    pub display_name: String,
    pub app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<String>,
}

/// What a change touched.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: String,
    pub display_name: String,
    /// `User`, `Group`, `Policy`, `Application`.
    #[serde(rename = "type")]
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// Graph's `signIn`: one attempt, successful or not.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// What was typed when no such user exists.
    pub user_principal_name: String,
    pub user_id: Option<String>,
    pub user_display_name: Option<String>,
    pub app_display_name: String,
    pub ip_address: String,
    pub client_app_used: String,
    pub correlation_id: String,
    pub is_interactive: bool,
    pub authentication_methods_used: Vec<String>,
    pub status: SignInStatus,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SignInStatus {
    /// 0 on success.
    pub error_code: i64,
    pub failure_reason: Option<String>,
}

/// The first step of a sign-in: the methods worth offering the user.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignInStart {
    pub username: String,
    pub methods: Vec<String>,
}

/// A session of tapd's sign-in API (`/api/signin/...`, and its refresh).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Session {
    pub token_type: String,
    pub access_token: String,
    /// Seconds.
    pub expires_in: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub refresh_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub refresh_token_expires_at: OffsetDateTime,
    /// How the user signed in: `tap`, `pwd`, `fido`.
    pub amr: Vec<String>,
    pub user: SessionUser,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
}

/// An OAuth token endpoint answer (client credentials, or an app's code flow).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TokenResponse {
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Seconds.
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The device authorization endpoint's answer (RFC 8628 §3.2).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    /// Seconds.
    pub expires_in: i64,
    /// Seconds between two polls.
    pub interval: i64,
    pub message: String,
}
