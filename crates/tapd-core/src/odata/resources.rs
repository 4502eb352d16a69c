//! The collections' resource types: every property the Graph JSON carries, and which of them
//! `$filter`, `$orderby` and `$search` take (what Graph documents for each, where tapd keeps it).

use super::{Kind, Property, Resource};

const USER_TYPES: &[&str] = &["Member", "Guest"];

pub static USERS: Resource = Resource {
    name: "user",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("userPrincipalName", Kind::Text)
            .filter()
            .sort()
            .search(),
        Property::of("displayName", Kind::Text)
            .filter()
            .sort()
            .search(),
        Property::of("givenName", Kind::Text).filter().nullable(),
        Property::of("surname", Kind::Text).filter().nullable(),
        Property::of("mail", Kind::Text)
            .filter()
            .nullable()
            .search(),
        Property::of("accountEnabled", Kind::Bool).filter(),
        Property::of("userType", Kind::Enum(USER_TYPES)).filter(),
        Property::of("creationType", Kind::Text).filter().nullable(),
        Property::of("externalUserState", Kind::Text)
            .filter()
            .nullable(),
        Property::of("createdDateTime", Kind::Time).filter().sort(),
    ],
    directory: true,
    count: true,
};

pub static GROUPS: Resource = Resource {
    name: "group",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("displayName", Kind::Text)
            .filter()
            .sort()
            .search(),
        Property::of("description", Kind::Text)
            .filter()
            .nullable()
            .search(),
        Property::of("securityEnabled", Kind::Bool),
        Property::of("mailEnabled", Kind::Bool),
        Property::of("groupTypes", Kind::Text),
        Property::of("createdDateTime", Kind::Time).filter().sort(),
    ],
    directory: true,
    count: true,
};

pub static APPLICATIONS: Resource = Resource {
    name: "application",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("appId", Kind::Guid).filter(),
        Property::of("displayName", Kind::Text)
            .filter()
            .sort()
            .search(),
        Property::of("createdDateTime", Kind::Time).filter().sort(),
        Property::of("signInAudience", Kind::Text),
        Property::of("isFallbackPublicClient", Kind::Bool),
        Property::of("web", Kind::Text),
        Property::of("spa", Kind::Text),
        Property::of("publicClient", Kind::Text),
        Property::of("passwordCredentials", Kind::Text),
        Property::of("requiredResourceAccess", Kind::Text),
    ],
    directory: true,
    count: true,
};

pub static ROLE_ASSIGNMENTS: Resource = Resource {
    name: "unifiedRoleAssignment",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("principalId", Kind::Guid).filter(),
        Property::of("roleDefinitionId", Kind::Guid).filter(),
        Property::of("directoryScopeId", Kind::Text),
    ],
    directory: false,
    count: true,
};

pub static DIRECTORY_AUDITS: Resource = Resource {
    name: "directoryAudit",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("category", Kind::Text).filter(),
        Property::of("correlationId", Kind::Text).filter(),
        Property::of("result", Kind::Text).filter(),
        Property::of("resultReason", Kind::Text),
        Property::of("activityDisplayName", Kind::Text).filter(),
        Property::of("activityDateTime", Kind::Time).filter().sort(),
        Property::of("loggedByService", Kind::Text).filter(),
        Property::of("operationType", Kind::Text).filter(),
        Property::of("initiatedBy", Kind::Text),
        Property::of("targetResources", Kind::Text),
        Property::of("additionalDetails", Kind::Text),
    ],
    directory: false,
    count: false,
};

pub static SIGN_INS: Resource = Resource {
    name: "signIn",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("createdDateTime", Kind::Time).filter().sort(),
        Property::of("userPrincipalName", Kind::Text).filter(),
        Property::of("userId", Kind::Text).filter().nullable(),
        Property::of("userDisplayName", Kind::Text),
        Property::of("appDisplayName", Kind::Text).filter(),
        Property::of("ipAddress", Kind::Text).filter().nullable(),
        Property::of("clientAppUsed", Kind::Text),
        Property::of("correlationId", Kind::Text).filter(),
        Property::of("isInteractive", Kind::Bool),
        Property::of("authenticationMethodsUsed", Kind::Text),
        Property::of("status", Kind::Text),
    ],
    directory: false,
    count: false,
};

/// A user's authentication methods: a handful each, so only `$select` applies.
pub static METHODS: Resource = Resource {
    name: "authenticationMethod",
    properties: &[
        Property::of("id", Kind::Text),
        Property::of("createdDateTime", Kind::Time),
        Property::of("displayName", Kind::Text),
        Property::of("temporaryAccessPass", Kind::Text),
        Property::of("startDateTime", Kind::Time),
        Property::of("lifetimeInMinutes", Kind::Text),
        Property::of("isUsableOnce", Kind::Bool),
        Property::of("isUsable", Kind::Bool),
        Property::of("methodUsabilityReason", Kind::Text),
        Property::of("aaGuid", Kind::Text),
        Property::of("model", Kind::Text),
        Property::of("attestationLevel", Kind::Text),
        Property::of("attestationCertificates", Kind::Text),
        Property::of("password", Kind::Text),
    ],
    directory: false,
    count: false,
};

/// A tenant's domains: a handful each, so only `$select` applies.
pub static DOMAINS: Resource = Resource {
    name: "domain",
    properties: &[
        Property::of("id", Kind::Text),
        Property::of("authenticationType", Kind::Text),
        Property::of("isDefault", Kind::Bool),
        Property::of("isInitial", Kind::Bool),
        Property::of("isRoot", Kind::Bool),
        Property::of("isVerified", Kind::Bool),
        Property::of("isAdminManaged", Kind::Bool),
        Property::of("supportedServices", Kind::Text),
    ],
    directory: false,
    count: false,
};

/// A domain's federation configuration: one at most, so only `$select` applies.
pub static FEDERATIONS: Resource = Resource {
    name: "internalDomainFederation",
    properties: &[
        Property::of("id", Kind::Text),
        Property::of("displayName", Kind::Text),
        Property::of("issuerUri", Kind::Text),
        Property::of("passiveSignInUri", Kind::Text),
        Property::of("signOutUri", Kind::Text),
        Property::of("federatedIdpMfaBehavior", Kind::Text),
        Property::of("preferredAuthenticationProtocol", Kind::Text),
        Property::of("tapdClientId", Kind::Text),
        Property::of("tapdClientSecret", Kind::Text),
        Property::of("tapdRedirectUri", Kind::Text),
    ],
    directory: false,
    count: false,
};

/// A tenant's cross-tenant access partners: a few, so only `$select` applies.
pub static PARTNERS: Resource = Resource {
    name: "crossTenantAccessPolicyConfigurationPartner",
    properties: &[
        Property::of("tenantId", Kind::Text),
        Property::of("inboundTrust", Kind::Text),
        Property::of("isServiceProvider", Kind::Bool),
        Property::of("isInMultiTenantOrganization", Kind::Bool),
    ],
    directory: false,
    count: false,
};
