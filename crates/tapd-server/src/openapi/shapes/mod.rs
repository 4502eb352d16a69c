//! What the handlers answer, described for the OpenAPI document. The handlers render Graph
//! JSON directly; these types only describe it. The API suite (`tests/api/openapi.rs`) checks
//! real answers against them and refuses any property they don't name, so the two can't drift.
//!
//! Graph's properties are nullable and `$select` leaves any of them out, so every property of a
//! directory object but `id` is optional here.
#![allow(dead_code)]

use utoipa::ToSchema;

mod directory;
mod methods;
mod protocol;

pub use directory::*;
pub use methods::*;
pub use protocol::*;

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
collection!(DomainCollection, Domain, "The tenant's domains.");
collection!(
    PartnerCollection,
    CrossTenantPartner,
    "The tenant's cross-tenant access partners."
);
collection!(
    FederationCollection,
    InternalDomainFederation,
    "A domain's federation configuration: none or one."
);
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
