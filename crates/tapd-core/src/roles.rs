//! Who may do what (SPEC §4): the five built-in directory roles that users hold, the application
//! permissions that service principals hold, and [`authorize`], the single decision every admin
//! endpoint asks before touching anything.
//!
//! Users, by role ("self" is the caller's own user id):
//!
//! | action | GA | PAA | AA | APA | GR | anyone |
//! |---|---|---|---|---|---|---|
//! | ReadPolicy | ✓ | | | ✓ | ✓ | |
//! | WritePolicy | ✓ | | | ✓ | | |
//! | ReadUsers | ✓ | ✓ | ✓ | | ✓ | |
//! | WriteUsers | ✓ | | | | | |
//! | ReadGroups | ✓ | | | | ✓ | |
//! | WriteGroups | ✓ | | | | | |
//! | ReadRoleAssignments | ✓ | | | | ✓ | |
//! | WriteRoleAssignments | ✓ | | | | | |
//! | ReadAudit | ✓ | | | | ✓ | |
//! | ReadApplications | ✓ | | | | ✓ | |
//! | WriteApplications | ✓ | | | | | |
//! | ReadDomains | ✓ | | | | ✓ | |
//! | WriteDomains | ✓ | | | | | |
//! | ReadCrossTenantAccess | ✓ | | | | ✓ | |
//! | WriteCrossTenantAccess | ✓ | | | | | |
//! | ReadMethods, ReadTap (other user) | ✓ | ✓ | ✓ | | ✓ | |
//! | ReadMethods, ReadTap (self) | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | ManageTap, ManageMethods (other, no admin role) | ✓ | ✓ | ✓ | | | |
//! | ManageTap, ManageMethods (other, admin) | ✓ | ✓ | | | | |
//! | ManageTap, ManageMethods (self) | | | | | | |
//! | DeleteOwnMethod | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//!
//! Nobody may issue or delete a TAP (or delete another method) for themselves through the admin
//! path, whatever their roles: a pass is a way into an account, and handing yourself one would
//! bypass the helpdesk check that TAP exists for. Removing one's own pass or passkey is
//! [`Action::DeleteOwnMethod`] instead.
//!
//! Applications, by permission (any one listed suffices), as Graph's API reference lists them
//! for each route. Graph has a few finer permissions tapd does not offer (`Group.Read.All`);
//! there the nearest tapd permission that already grants directory reads stands in:
//!
//! | action | permissions |
//! |---|---|
//! | ReadPolicy | Policy.Read.All, Policy.ReadWrite.AuthenticationMethod |
//! | WritePolicy | Policy.ReadWrite.AuthenticationMethod |
//! | ReadUsers | User.Read.All, User.ReadWrite.All |
//! | WriteUsers | User.ReadWrite.All |
//! | ReadGroups | Group.ReadWrite.All, User.Read.All, User.ReadWrite.All |
//! | WriteGroups | Group.ReadWrite.All |
//! | ReadRoleAssignments | RoleManagement.Read.Directory, RoleManagement.ReadWrite.Directory |
//! | WriteRoleAssignments | RoleManagement.ReadWrite.Directory (as in Graph, it lets an app grant any role, Global Administrator included: grant it as you would that role) |
//! | ReadAudit | AuditLog.Read.All |
//! | ReadApplications, WriteApplications | never (v1): an app that could add a secret to another app could take over that app's permissions |
//! | ReadMethods (every method) | UserAuthenticationMethod.Read.All, UserAuthenticationMethod.ReadWrite.All |
//! | ReadTap | UserAuthMethod-TAP.Read.All, UserAuthMethod-TAP.ReadWrite.All, UserAuthenticationMethod.Read.All, UserAuthenticationMethod.ReadWrite.All |
//! | ManageTap | UserAuthMethod-TAP.ReadWrite.All, UserAuthenticationMethod.ReadWrite.All |
//! | ManageMethods (a passkey) | UserAuthenticationMethod.ReadWrite.All |
//! | DeleteOwnMethod | never: an application has no sign-in methods of its own |
//! | ReadDomains, WriteDomains | Domain.ReadWrite.All |
//! | ReadCrossTenantAccess | Policy.Read.All, Policy.ReadWrite.CrossTenantAccess |
//! | WriteCrossTenantAccess | Policy.ReadWrite.CrossTenantAccess |

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

/// A built-in directory role. Serialized as the variant name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    GlobalAdministrator,
    PrivilegedAuthenticationAdministrator,
    AuthenticationAdministrator,
    AuthenticationPolicyAdministrator,
    GlobalReader,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::GlobalAdministrator,
        Role::PrivilegedAuthenticationAdministrator,
        Role::AuthenticationAdministrator,
        Role::AuthenticationPolicyAdministrator,
        Role::GlobalReader,
    ];

    /// Graph's `roleDefinitionId`, the same in every Entra tenant.
    pub fn template_id(self) -> &'static str {
        match self {
            Role::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            Role::PrivilegedAuthenticationAdministrator => "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
            Role::AuthenticationAdministrator => "c4e39bd9-1100-46d3-8c65-fb160da0071f",
            Role::AuthenticationPolicyAdministrator => "0526716b-113d-4c15-b2c8-68e3c22b9f80",
            Role::GlobalReader => "f2ef992c-3afb-46b9-b7cf-a126ee74c451",
        }
    }

    /// The role with this template id; GUIDs compare case-insensitively.
    pub fn from_template_id(s: &str) -> Option<Role> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|role| role.template_id().eq_ignore_ascii_case(s))
    }

    /// The name Entra shows, e.g. "Global Administrator".
    pub fn display_name(self) -> &'static str {
        match self {
            Role::GlobalAdministrator => "Global Administrator",
            Role::PrivilegedAuthenticationAdministrator => {
                "Privileged Authentication Administrator"
            }
            Role::AuthenticationAdministrator => "Authentication Administrator",
            Role::AuthenticationPolicyAdministrator => "Authentication Policy Administrator",
            Role::GlobalReader => "Global Reader",
        }
    }

    /// Short name for the CLI, e.g. "global-admin".
    pub fn alias(self) -> &'static str {
        match self {
            Role::GlobalAdministrator => "global-admin",
            Role::PrivilegedAuthenticationAdministrator => "privileged-auth-admin",
            Role::AuthenticationAdministrator => "auth-admin",
            Role::AuthenticationPolicyAdministrator => "auth-policy-admin",
            Role::GlobalReader => "global-reader",
        }
    }

    /// Parses what an operator may type: the display name, the variant name, the short alias
    /// (case, spaces, `-` and `_` do not matter), or the template id.
    pub fn from_name(s: &str) -> Option<Role> {
        if let Some(role) = Role::from_template_id(s) {
            return Some(role);
        }
        let wanted = squash(s);
        Role::ALL
            .into_iter()
            .find(|role| squash(role.display_name()) == wanted || squash(role.alias()) == wanted)
    }
}

/// Lower-cases and drops separators, so "Global Administrator", "GlobalAdministrator" and
/// "global_administrator" are the same name.
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// An application permission (Graph app role), as carried in a service principal's token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    PolicyReadAll,
    PolicyReadWriteAuthenticationMethod,
    UserAuthenticationMethodReadAll,
    UserAuthenticationMethodReadWriteAll,
    UserReadAll,
    UserReadWriteAll,
    GroupReadWriteAll,
    AuditLogReadAll,
    RoleManagementReadDirectory,
    RoleManagementReadWriteDirectory,
    PolicyReadWriteCrossTenantAccess,
    DomainReadWriteAll,
    UserAuthMethodTapReadAll,
    UserAuthMethodTapReadWriteAll,
}

impl Permission {
    pub const ALL: [Permission; 14] = [
        Permission::PolicyReadAll,
        Permission::PolicyReadWriteAuthenticationMethod,
        Permission::UserAuthenticationMethodReadAll,
        Permission::UserAuthenticationMethodReadWriteAll,
        Permission::UserReadAll,
        Permission::UserReadWriteAll,
        Permission::GroupReadWriteAll,
        Permission::AuditLogReadAll,
        Permission::RoleManagementReadDirectory,
        Permission::RoleManagementReadWriteDirectory,
        Permission::PolicyReadWriteCrossTenantAccess,
        Permission::DomainReadWriteAll,
        Permission::UserAuthMethodTapReadAll,
        Permission::UserAuthMethodTapReadWriteAll,
    ];

    /// Graph's name for the permission, e.g. "Policy.Read.All".
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::PolicyReadAll => "Policy.Read.All",
            Permission::PolicyReadWriteAuthenticationMethod => {
                "Policy.ReadWrite.AuthenticationMethod"
            }
            Permission::UserAuthenticationMethodReadAll => "UserAuthenticationMethod.Read.All",
            Permission::UserAuthenticationMethodReadWriteAll => {
                "UserAuthenticationMethod.ReadWrite.All"
            }
            Permission::UserReadAll => "User.Read.All",
            Permission::UserReadWriteAll => "User.ReadWrite.All",
            Permission::GroupReadWriteAll => "Group.ReadWrite.All",
            Permission::AuditLogReadAll => "AuditLog.Read.All",
            Permission::RoleManagementReadDirectory => "RoleManagement.Read.Directory",
            Permission::RoleManagementReadWriteDirectory => "RoleManagement.ReadWrite.Directory",
            Permission::PolicyReadWriteCrossTenantAccess => "Policy.ReadWrite.CrossTenantAccess",
            Permission::DomainReadWriteAll => "Domain.ReadWrite.All",
            Permission::UserAuthMethodTapReadAll => "UserAuthMethod-TAP.Read.All",
            Permission::UserAuthMethodTapReadWriteAll => "UserAuthMethod-TAP.ReadWrite.All",
        }
    }

    /// The permission with this Graph name; case-insensitive, as Entra treats them.
    pub fn parse(s: &str) -> Option<Permission> {
        let s = s.trim();
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: a signed-in user with their roles, or an application with its permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User {
        id: Uuid,
        roles: Vec<Role>,
    },
    App {
        id: Uuid,
        permissions: Vec<Permission>,
    },
}

impl Principal {
    /// The user's or the service principal's object id, for audit records.
    pub fn id(&self) -> Uuid {
        match self {
            Principal::User { id, .. } | Principal::App { id, .. } => *id,
        }
    }
}

/// Every admin action the API performs. Target-dependent actions carry what the rule needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    ReadPolicy,
    WritePolicy,
    /// List or get users.
    ReadUsers,
    /// Create, update or delete users.
    WriteUsers,
    /// List or get groups and their members.
    ReadGroups,
    /// Create, update or delete groups and membership.
    WriteGroups,
    ReadRoleAssignments,
    WriteRoleAssignments,
    ReadAudit,
    /// List or get application registrations.
    ReadApplications,
    /// Register, change or delete applications and their secrets.
    WriteApplications,
    /// List/get every one of a user's auth methods (passkeys, password, pass).
    ReadMethods {
        target: Uuid,
    },
    /// List/get a user's Temporary Access Pass alone (details, never the code).
    ReadTap {
        target: Uuid,
    },
    /// Create or delete a TAP for `target`; `target_is_admin` = the target holds any role.
    ManageTap {
        target: Uuid,
        target_is_admin: bool,
    },
    /// Delete another of `target`'s methods (a passkey): the same roles as [`Action::ManageTap`],
    /// but an application needs the permission over every method.
    ManageMethods {
        target: Uuid,
        target_is_admin: bool,
    },
    /// Self-service removal of one's own TAP or passkey (`/me/authentication/...`).
    DeleteOwnMethod,
    /// List or get the tenant's domains.
    ReadDomains,
    /// Add, change or remove the tenant's domains.
    WriteDomains,
    /// Read the cross-tenant access policy (its partners).
    ReadCrossTenantAccess,
    /// Change the cross-tenant access policy.
    WriteCrossTenantAccess,
}

/// Generic refusal, Graph's wording.
pub const INSUFFICIENT_PRIVILEGES_MESSAGE: &str =
    "Insufficient privileges to complete the operation.";
/// Refusal for issuing or deleting a pass for oneself through the admin path.
pub const SELF_TAP_MESSAGE: &str = "You cannot manage a Temporary Access Pass for yourself.";
/// Refusal for an Authentication Administrator acting on a user who holds a role.
pub const ADMIN_TARGET_MESSAGE: &str = "Only a Privileged Authentication Administrator or a \
     Global Administrator can manage a Temporary Access Pass for a user who holds an admin role.";

/// Decides whether `principal` may perform `action` (SPEC §4; tables in the module comment).
/// A refusal is [`DomainError::AccessDenied`].
pub fn authorize(principal: &Principal, action: &Action) -> Result<(), DomainError> {
    let allowed = match principal {
        Principal::User { id, roles } => {
            if let Action::ManageTap { target, .. } | Action::ManageMethods { target, .. } = action
                && target == id
            {
                return Err(DomainError::AccessDenied(SELF_TAP_MESSAGE.to_owned()));
            }
            let own = match action {
                Action::DeleteOwnMethod => true,
                Action::ReadMethods { target } | Action::ReadTap { target } => target == id,
                _ => false,
            };
            own || roles.iter().any(|&role| role_allows(role, action))
        }
        Principal::App { permissions, .. } => required_permissions(action)
            .iter()
            .any(|p| permissions.contains(p)),
    };
    if allowed {
        return Ok(());
    }
    let message = match (principal, action) {
        (
            Principal::User { roles, .. },
            Action::ManageTap {
                target_is_admin: true,
                ..
            }
            | Action::ManageMethods {
                target_is_admin: true,
                ..
            },
        ) if roles.contains(&Role::AuthenticationAdministrator) => ADMIN_TARGET_MESSAGE,
        _ => INSUFFICIENT_PRIVILEGES_MESSAGE,
    };
    Err(DomainError::AccessDenied(message.to_owned()))
}

/// What one role grants, apart from what everybody may do for themselves.
fn role_allows(role: Role, action: &Action) -> bool {
    use Action as A;
    match role {
        Role::GlobalAdministrator => true,
        Role::PrivilegedAuthenticationAdministrator => matches!(
            action,
            A::ManageTap { .. }
                | A::ManageMethods { .. }
                | A::ReadMethods { .. }
                | A::ReadTap { .. }
                | A::ReadUsers
        ),
        Role::AuthenticationAdministrator => matches!(
            action,
            A::ManageTap {
                target_is_admin: false,
                ..
            } | A::ManageMethods {
                target_is_admin: false,
                ..
            } | A::ReadMethods { .. }
                | A::ReadTap { .. }
                | A::ReadUsers
        ),
        Role::AuthenticationPolicyAdministrator => matches!(action, A::ReadPolicy | A::WritePolicy),
        Role::GlobalReader => matches!(
            action,
            A::ReadPolicy
                | A::ReadUsers
                | A::ReadGroups
                | A::ReadRoleAssignments
                | A::ReadAudit
                | A::ReadApplications
                | A::ReadMethods { .. }
                | A::ReadTap { .. }
                | A::ReadDomains
                | A::ReadCrossTenantAccess
        ),
    }
}

/// The application permissions of which any one allows `action`; empty means never.
fn required_permissions(action: &Action) -> &'static [Permission] {
    use Permission as P;
    match action {
        Action::ReadPolicy => &[P::PolicyReadAll, P::PolicyReadWriteAuthenticationMethod],
        Action::WritePolicy => &[P::PolicyReadWriteAuthenticationMethod],
        Action::ReadUsers => &[P::UserReadAll, P::UserReadWriteAll],
        Action::WriteUsers => &[P::UserReadWriteAll],
        Action::ReadGroups => &[P::GroupReadWriteAll, P::UserReadAll, P::UserReadWriteAll],
        Action::WriteGroups => &[P::GroupReadWriteAll],
        Action::ReadRoleAssignments => &[
            P::RoleManagementReadDirectory,
            P::RoleManagementReadWriteDirectory,
        ],
        Action::WriteRoleAssignments => &[P::RoleManagementReadWriteDirectory],
        Action::ReadAudit => &[P::AuditLogReadAll],
        Action::ReadApplications | Action::WriteApplications => &[],
        Action::ReadMethods { .. } => &[
            P::UserAuthenticationMethodReadAll,
            P::UserAuthenticationMethodReadWriteAll,
        ],
        Action::ReadTap { .. } => &[
            P::UserAuthMethodTapReadAll,
            P::UserAuthMethodTapReadWriteAll,
            P::UserAuthenticationMethodReadAll,
            P::UserAuthenticationMethodReadWriteAll,
        ],
        Action::ManageTap { .. } => &[
            P::UserAuthMethodTapReadWriteAll,
            P::UserAuthenticationMethodReadWriteAll,
        ],
        Action::ManageMethods { .. } => &[P::UserAuthenticationMethodReadWriteAll],
        Action::DeleteOwnMethod => &[],
        Action::ReadDomains | Action::WriteDomains => &[P::DomainReadWriteAll],
        Action::ReadCrossTenantAccess => &[P::PolicyReadAll, P::PolicyReadWriteCrossTenantAccess],
        Action::WriteCrossTenantAccess => &[P::PolicyReadWriteCrossTenantAccess],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const ME: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    #[test]
    fn template_ids_are_exactly_the_specs() {
        let expected = [
            (
                Role::GlobalAdministrator,
                "62e90394-69f5-4237-9190-012177145e10",
            ),
            (
                Role::PrivilegedAuthenticationAdministrator,
                "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
            ),
            (
                Role::AuthenticationAdministrator,
                "c4e39bd9-1100-46d3-8c65-fb160da0071f",
            ),
            (
                Role::AuthenticationPolicyAdministrator,
                "0526716b-113d-4c15-b2c8-68e3c22b9f80",
            ),
            (Role::GlobalReader, "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
        ];
        assert_eq!(Role::ALL.len(), expected.len());
        for (role, id) in expected {
            assert_eq!(role.template_id(), id);
            assert_eq!(Role::from_template_id(id), Some(role));
            assert_eq!(Role::from_template_id(&id.to_uppercase()), Some(role));
        }
        assert_eq!(
            Role::from_template_id("00000000-0000-0000-0000-000000000000"),
            None
        );
    }

    #[test]
    fn display_names_are_entras() {
        let expected = [
            "Global Administrator",
            "Privileged Authentication Administrator",
            "Authentication Administrator",
            "Authentication Policy Administrator",
            "Global Reader",
        ];
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.display_name()).collect();
        assert_eq!(names, expected);
        assert_eq!(Role::GlobalReader.to_string(), "Global Reader");
    }

    #[test]
    fn from_name_accepts_display_names_aliases_variants_and_ids() {
        let cases = [
            ("Global Administrator", Role::GlobalAdministrator),
            ("global administrator", Role::GlobalAdministrator),
            ("GLOBAL-ADMIN", Role::GlobalAdministrator),
            ("GlobalAdministrator", Role::GlobalAdministrator),
            (
                "privileged-auth-admin",
                Role::PrivilegedAuthenticationAdministrator,
            ),
            (
                "Privileged Authentication Administrator",
                Role::PrivilegedAuthenticationAdministrator,
            ),
            ("auth-admin", Role::AuthenticationAdministrator),
            (
                "authentication administrator",
                Role::AuthenticationAdministrator,
            ),
            ("auth-policy-admin", Role::AuthenticationPolicyAdministrator),
            (
                "Authentication Policy Administrator",
                Role::AuthenticationPolicyAdministrator,
            ),
            ("global-reader", Role::GlobalReader),
            ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", Role::GlobalReader),
        ];
        for (text, role) in cases {
            assert_eq!(Role::from_name(text), Some(role), "{text}");
        }
        for text in ["", "admin", "reader", "Global", "root"] {
            assert_eq!(Role::from_name(text), None, "{text}");
        }
    }

    #[test]
    fn every_role_round_trips_through_every_name_form() {
        for role in Role::ALL {
            assert_eq!(Role::from_name(role.display_name()), Some(role));
            assert_eq!(Role::from_name(role.alias()), Some(role));
            assert_eq!(Role::from_name(role.template_id()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role:?}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn permission_names_are_exactly_the_specs() {
        let expected = [
            "Policy.Read.All",
            "Policy.ReadWrite.AuthenticationMethod",
            "UserAuthenticationMethod.Read.All",
            "UserAuthenticationMethod.ReadWrite.All",
            "User.Read.All",
            "User.ReadWrite.All",
            "Group.ReadWrite.All",
            "AuditLog.Read.All",
            "RoleManagement.Read.Directory",
            "RoleManagement.ReadWrite.Directory",
            "Policy.ReadWrite.CrossTenantAccess",
            "Domain.ReadWrite.All",
            "UserAuthMethod-TAP.Read.All",
            "UserAuthMethod-TAP.ReadWrite.All",
        ];
        let names: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(names, expected);
        let unique: HashSet<Permission> = Permission::ALL.into_iter().collect();
        assert_eq!(unique.len(), Permission::ALL.len());
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(Permission::parse(&p.as_str().to_lowercase()), Some(p));
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(Permission::parse("Directory.Read.All"), None);
        assert_eq!(Permission::parse("UserAuthMethod.TAP.Read.All"), None);
        assert_eq!(Permission::parse("RoleManagement.Read.All"), None);
        assert_eq!(Permission::parse(""), None);
        assert_eq!(
            Permission::parse(" useraUthmethod-tap.readwrite.all "),
            Some(Permission::UserAuthMethodTapReadWriteAll)
        );
    }

    fn user(roles: &[Role]) -> Principal {
        Principal::User {
            id: ME,
            roles: roles.to_vec(),
        }
    }

    fn app(permissions: &[Permission]) -> Principal {
        Principal::App {
            id: ME,
            permissions: permissions.to_vec(),
        }
    }

    /// Every action, with targets both self and other, admin and not.
    fn all_actions() -> Vec<Action> {
        let mut actions = vec![
            Action::ReadPolicy,
            Action::WritePolicy,
            Action::ReadUsers,
            Action::WriteUsers,
            Action::ReadGroups,
            Action::WriteGroups,
            Action::ReadRoleAssignments,
            Action::WriteRoleAssignments,
            Action::ReadAudit,
            Action::ReadApplications,
            Action::WriteApplications,
            Action::DeleteOwnMethod,
            Action::ReadDomains,
            Action::WriteDomains,
            Action::ReadCrossTenantAccess,
            Action::WriteCrossTenantAccess,
        ];
        for target in [ME, OTHER] {
            actions.push(Action::ReadMethods { target });
            actions.push(Action::ReadTap { target });
            for target_is_admin in [false, true] {
                actions.push(Action::ManageTap {
                    target,
                    target_is_admin,
                });
                actions.push(Action::ManageMethods {
                    target,
                    target_is_admin,
                });
            }
        }
        actions
    }

    /// The SPEC §4 table written out independently of `role_allows`, one row per action.
    fn user_expected(role: Option<Role>, action: &Action) -> bool {
        use Role::*;
        let has = |roles: &[Role]| role.is_some_and(|r| roles.contains(&r));
        match action {
            Action::ReadPolicy => has(&[
                GlobalAdministrator,
                AuthenticationPolicyAdministrator,
                GlobalReader,
            ]),
            Action::WritePolicy => has(&[GlobalAdministrator, AuthenticationPolicyAdministrator]),
            Action::ReadUsers => has(&[
                GlobalAdministrator,
                PrivilegedAuthenticationAdministrator,
                AuthenticationAdministrator,
                GlobalReader,
            ]),
            Action::ReadGroups
            | Action::ReadRoleAssignments
            | Action::ReadAudit
            | Action::ReadApplications
            | Action::ReadDomains
            | Action::ReadCrossTenantAccess => has(&[GlobalAdministrator, GlobalReader]),
            Action::WriteUsers
            | Action::WriteGroups
            | Action::WriteRoleAssignments
            | Action::WriteApplications
            | Action::WriteDomains
            | Action::WriteCrossTenantAccess => has(&[GlobalAdministrator]),
            Action::ReadMethods { target } | Action::ReadTap { target } => {
                *target == ME
                    || has(&[
                        GlobalAdministrator,
                        PrivilegedAuthenticationAdministrator,
                        AuthenticationAdministrator,
                        GlobalReader,
                    ])
            }
            Action::ManageTap { target, .. } | Action::ManageMethods { target, .. }
                if *target == ME =>
            {
                false
            }
            Action::ManageTap {
                target_is_admin: true,
                ..
            }
            | Action::ManageMethods {
                target_is_admin: true,
                ..
            } => has(&[GlobalAdministrator, PrivilegedAuthenticationAdministrator]),
            Action::ManageTap { .. } | Action::ManageMethods { .. } => has(&[
                GlobalAdministrator,
                PrivilegedAuthenticationAdministrator,
                AuthenticationAdministrator,
            ]),
            Action::DeleteOwnMethod => true,
        }
    }

    #[test]
    fn user_matrix_every_role_and_no_role_times_every_action() {
        let roles = std::iter::once(None).chain(Role::ALL.into_iter().map(Some));
        for role in roles {
            let principal = user(role.as_slice());
            for action in all_actions() {
                let result = authorize(&principal, &action);
                assert_eq!(
                    result.is_ok(),
                    user_expected(role, &action),
                    "{role:?} {action:?} -> {result:?}"
                );
                if let Err(error) = result {
                    assert!(matches!(error, DomainError::AccessDenied(_)), "{error:?}");
                }
            }
        }
    }

    #[test]
    fn nobody_manages_a_pass_for_themselves() {
        let everything = user(&Role::ALL);
        for target_is_admin in [false, true] {
            let action = Action::ManageTap {
                target: ME,
                target_is_admin,
            };
            assert_eq!(
                authorize(&everything, &action),
                Err(DomainError::AccessDenied(
                    "You cannot manage a Temporary Access Pass for yourself.".to_owned()
                ))
            );
        }
        assert_eq!(authorize(&everything, &Action::DeleteOwnMethod), Ok(()));
    }

    #[test]
    fn auth_admin_is_told_why_an_admin_target_is_refused() {
        let action = Action::ManageTap {
            target: OTHER,
            target_is_admin: true,
        };
        assert_eq!(
            authorize(&user(&[Role::AuthenticationAdministrator]), &action),
            Err(DomainError::AccessDenied(ADMIN_TARGET_MESSAGE.to_owned()))
        );
        assert_eq!(
            authorize(&user(&[Role::GlobalReader]), &action),
            Err(DomainError::AccessDenied(
                "Insufficient privileges to complete the operation.".to_owned()
            ))
        );
    }

    #[test]
    fn roles_combine() {
        let both = user(&[
            Role::AuthenticationAdministrator,
            Role::AuthenticationPolicyAdministrator,
        ]);
        assert_eq!(authorize(&both, &Action::WritePolicy), Ok(()));
        let other = Action::ManageTap {
            target: OTHER,
            target_is_admin: false,
        };
        assert_eq!(authorize(&both, &other), Ok(()));
        assert!(authorize(&both, &Action::ReadAudit).is_err());
    }

    /// The application table of the module comment, written out independently.
    fn app_expected(permission: Permission, action: &Action) -> bool {
        use Permission::*;
        let any = |ps: &[Permission]| ps.contains(&permission);
        match action {
            Action::ReadPolicy => any(&[PolicyReadAll, PolicyReadWriteAuthenticationMethod]),
            Action::WritePolicy => any(&[PolicyReadWriteAuthenticationMethod]),
            Action::ReadUsers => any(&[UserReadAll, UserReadWriteAll]),
            Action::ReadRoleAssignments => any(&[
                RoleManagementReadDirectory,
                RoleManagementReadWriteDirectory,
            ]),
            Action::WriteRoleAssignments => any(&[RoleManagementReadWriteDirectory]),
            Action::WriteUsers => any(&[UserReadWriteAll]),
            Action::ReadGroups => any(&[GroupReadWriteAll, UserReadAll, UserReadWriteAll]),
            Action::WriteGroups => any(&[GroupReadWriteAll]),
            Action::ReadAudit => any(&[AuditLogReadAll]),
            Action::ReadMethods { .. } => any(&[
                UserAuthenticationMethodReadAll,
                UserAuthenticationMethodReadWriteAll,
            ]),
            Action::ReadTap { .. } => any(&[
                UserAuthMethodTapReadAll,
                UserAuthMethodTapReadWriteAll,
                UserAuthenticationMethodReadAll,
                UserAuthenticationMethodReadWriteAll,
            ]),
            Action::ManageTap { .. } => any(&[
                UserAuthMethodTapReadWriteAll,
                UserAuthenticationMethodReadWriteAll,
            ]),
            Action::ManageMethods { .. } => any(&[UserAuthenticationMethodReadWriteAll]),
            Action::ReadDomains | Action::WriteDomains => any(&[DomainReadWriteAll]),
            Action::ReadCrossTenantAccess => {
                any(&[PolicyReadAll, PolicyReadWriteCrossTenantAccess])
            }
            Action::WriteCrossTenantAccess => any(&[PolicyReadWriteCrossTenantAccess]),
            Action::DeleteOwnMethod | Action::ReadApplications | Action::WriteApplications => false,
        }
    }

    #[test]
    fn app_matrix_every_permission_times_every_action() {
        for permission in Permission::ALL {
            let principal = app(&[permission]);
            for action in all_actions() {
                let result = authorize(&principal, &action);
                assert_eq!(
                    result.is_ok(),
                    app_expected(permission, &action),
                    "{permission:?} {action:?} -> {result:?}"
                );
            }
        }
    }

    #[test]
    fn role_assignments_need_a_role_management_permission() {
        for p in [Permission::UserReadAll, Permission::UserReadWriteAll] {
            assert!(authorize(&app(&[p]), &Action::ReadRoleAssignments).is_err());
        }
        let read = app(&[Permission::RoleManagementReadDirectory]);
        assert_eq!(authorize(&read, &Action::ReadRoleAssignments), Ok(()));
        assert!(authorize(&read, &Action::WriteRoleAssignments).is_err());
        assert!(authorize(&read, &Action::ReadUsers).is_err());
        let write = app(&[Permission::RoleManagementReadWriteDirectory]);
        assert_eq!(authorize(&write, &Action::ReadRoleAssignments), Ok(()));
        assert_eq!(authorize(&write, &Action::WriteRoleAssignments), Ok(()));
    }

    #[test]
    fn the_granular_tap_permissions_reach_the_pass_and_nothing_else() {
        let target = OTHER;
        let read = app(&[Permission::UserAuthMethodTapReadAll]);
        assert_eq!(authorize(&read, &Action::ReadTap { target }), Ok(()));
        assert!(authorize(&read, &Action::ReadMethods { target }).is_err());
        let manage = Action::ManageTap {
            target,
            target_is_admin: true,
        };
        assert!(authorize(&read, &manage).is_err());
        let write = app(&[Permission::UserAuthMethodTapReadWriteAll]);
        assert_eq!(authorize(&write, &Action::ReadTap { target }), Ok(()));
        assert_eq!(authorize(&write, &manage), Ok(()));
        assert!(authorize(&write, &Action::ReadMethods { target }).is_err());
        let passkey = Action::ManageMethods {
            target,
            target_is_admin: false,
        };
        assert!(authorize(&write, &passkey).is_err());
        let every_method = app(&[Permission::UserAuthenticationMethodReadWriteAll]);
        assert_eq!(authorize(&every_method, &passkey), Ok(()));
    }

    #[test]
    fn the_cross_tenant_permission_grants_the_cross_tenant_policy_only() {
        let principal = app(&[Permission::PolicyReadWriteCrossTenantAccess]);
        for action in all_actions() {
            let expected = matches!(
                action,
                Action::ReadCrossTenantAccess | Action::WriteCrossTenantAccess
            );
            assert_eq!(
                authorize(&principal, &action).is_ok(),
                expected,
                "{action:?}"
            );
        }
    }

    #[test]
    fn domains_are_read_by_readers_and_changed_by_global_admins_and_domain_apps() {
        let domains = app(&[Permission::DomainReadWriteAll]);
        for action in all_actions() {
            let expected = matches!(action, Action::ReadDomains | Action::WriteDomains);
            assert_eq!(authorize(&domains, &action).is_ok(), expected, "{action:?}");
        }
        let ga = user(&[Role::GlobalAdministrator]);
        let reader = user(&[Role::GlobalReader]);
        assert_eq!(authorize(&ga, &Action::WriteDomains), Ok(()));
        assert_eq!(authorize(&reader, &Action::ReadDomains), Ok(()));
        assert!(authorize(&reader, &Action::WriteDomains).is_err());
        for role in [
            Role::PrivilegedAuthenticationAdministrator,
            Role::AuthenticationAdministrator,
            Role::AuthenticationPolicyAdministrator,
        ] {
            assert!(authorize(&user(&[role]), &Action::ReadDomains).is_err());
            assert!(authorize(&user(&[role]), &Action::WriteDomains).is_err());
        }
        assert!(authorize(&user(&[]), &Action::ReadDomains).is_err());
    }

    #[test]
    fn app_without_permissions_may_do_nothing() {
        for action in all_actions() {
            assert_eq!(
                authorize(&app(&[]), &action),
                Err(DomainError::AccessDenied(
                    INSUFFICIENT_PRIVILEGES_MESSAGE.to_owned()
                )),
                "{action:?}"
            );
        }
    }

    #[test]
    fn app_with_every_permission_still_cannot_touch_apps_or_delete_own_methods() {
        let all = app(&Permission::ALL);
        assert!(authorize(&all, &Action::ReadApplications).is_err());
        assert!(authorize(&all, &Action::WriteApplications).is_err());
        assert!(authorize(&all, &Action::DeleteOwnMethod).is_err());
        // An app's own id as target is not "self" in the user sense: it has no methods to protect.
        let action = Action::ManageTap {
            target: ME,
            target_is_admin: true,
        };
        assert_eq!(authorize(&all, &action), Ok(()));
    }

    proptest! {
        #[test]
        fn more_roles_never_take_a_permission_away(
            mask in 0u8..32,
            extra in 0usize..5,
            action_index in 0usize..64,
        ) {
            let roles: Vec<Role> = Role::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, r)| r)
                .collect();
            let mut more = roles.clone();
            more.push(Role::ALL[extra]);
            let actions = all_actions();
            let action = &actions[action_index % actions.len()];
            if authorize(&user(&roles), action).is_ok() {
                prop_assert!(authorize(&user(&more), action).is_ok());
            }
            // And a set of roles allows exactly what one of its members allows.
            let any_single = roles.is_empty() && user_expected(None, action)
                || roles.iter().any(|&r| user_expected(Some(r), action));
            prop_assert_eq!(authorize(&user(&roles), action).is_ok(), any_single);
        }
    }
}
