//! The authentication methods registration report (Graph's `userRegistrationDetails`): what it
//! says of one user, its properties for `$filter` (the OData parser's grammar: `eq`, `ne`,
//! `startswith`, `in`, `and`, `or`, `not`, dates compared with `ge`/`le`…), and how a filter
//! is decided for one user. A filter's plain conjuncts on `userType` and
//! `isPasswordlessCapable` are also handed to the store to narrow its read.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::odata::{CmpOp, Filter, Kind, Literal, Property, Resource, parse_filter};
use crate::{DomainError, Fido2Policy};

const USER_TYPES: &[&str] = &["member", "guest"];

/// The report's resource type: what Graph documents as filterable, where tapd has it
/// (`methodsRegistered` takes `any()` lambdas in Graph, which tapd's parser does not).
pub static USER_REGISTRATION_DETAILS: Resource = Resource {
    name: "userRegistrationDetails",
    properties: &[
        Property::of("id", Kind::Guid).filter(),
        Property::of("userPrincipalName", Kind::Text).filter(),
        Property::of("userDisplayName", Kind::Text).filter(),
        Property::of("userType", Kind::Enum(USER_TYPES)).filter(),
        Property::of("isAdmin", Kind::Bool).filter(),
        Property::of("isMfaCapable", Kind::Bool).filter(),
        Property::of("isMfaRegistered", Kind::Bool).filter(),
        Property::of("isPasswordlessCapable", Kind::Bool).filter(),
        Property::of("isSsprCapable", Kind::Bool).filter(),
        Property::of("isSsprEnabled", Kind::Bool).filter(),
        Property::of("isSsprRegistered", Kind::Bool).filter(),
        Property::of("isSystemPreferredAuthenticationMethodEnabled", Kind::Bool).filter(),
        Property::of("lastUpdatedDateTime", Kind::Time).filter(),
        Property::of("methodsRegistered", Kind::Text),
    ],
    directory: false,
    count: false,
};

/// Which users a report page lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistrationQuery {
    pub filter: Option<Filter>,
    /// `userType eq …` as a conjunct of the whole filter: true for guests.
    pub guests: Option<bool>,
    /// `isPasswordlessCapable eq …` as a conjunct of the whole filter.
    pub passwordless_capable: Option<bool>,
}

impl RegistrationQuery {
    /// Parses a `$filter`; what the report doesn't support is a 400 in the parser's words.
    pub fn parse_filter(text: &str) -> Result<RegistrationQuery, DomainError> {
        let filter = parse_filter(text, &USER_REGISTRATION_DETAILS)?;
        let mut query = RegistrationQuery::default();
        for conjunct in conjuncts(&filter) {
            match conjunct {
                Filter::Compare {
                    property: "userType",
                    op: CmpOp::Eq,
                    value: Literal::Text(t),
                } => query.guests = Some(t == "guest"),
                Filter::Compare {
                    property: "isPasswordlessCapable",
                    op: CmpOp::Eq,
                    value: Literal::Bool(b),
                } => query.passwordless_capable = Some(*b),
                _ => {}
            }
        }
        query.filter = Some(filter);
        Ok(query)
    }

    /// The admin center's list: users who are not passwordless-capable.
    pub fn without_passkey() -> RegistrationQuery {
        RegistrationQuery {
            filter: Some(Filter::Compare {
                property: "isPasswordlessCapable",
                op: CmpOp::Eq,
                value: Literal::Bool(false),
            }),
            guests: None,
            passwordless_capable: Some(false),
        }
    }

    /// Whether a user's line passes the filter.
    pub fn admits(&self, facts: &RegistrationFacts) -> bool {
        self.filter.as_ref().is_none_or(|f| facts.satisfies(f))
    }
}

fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::And(a, b) => {
            let mut all = conjuncts(a);
            all.extend(conjuncts(b));
            all
        }
        other => vec![other],
    }
}

/// One user's line of the report, as a filter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationFacts {
    pub id: Uuid,
    pub user_principal_name: String,
    pub user_display_name: String,
    pub guest: bool,
    pub is_admin: bool,
    pub status: RegistrationStatus,
    pub last_updated: OffsetDateTime,
}

impl RegistrationFacts {
    fn value(&self, property: &str) -> Literal {
        match property {
            "id" => Literal::Guid(self.id),
            "userPrincipalName" => Literal::Text(self.user_principal_name.clone()),
            "userDisplayName" => Literal::Text(self.user_display_name.clone()),
            "userType" => Literal::Text(USER_TYPES[usize::from(self.guest)].to_owned()),
            "isAdmin" => Literal::Bool(self.is_admin),
            "isMfaRegistered" => Literal::Bool(self.status.is_mfa_registered),
            "isMfaCapable" | "isPasswordlessCapable" => {
                Literal::Bool(self.status.is_passwordless_capable)
            }
            "lastUpdatedDateTime" => Literal::Time(self.last_updated),
            // No self-service password reset, no system-preferred method in tapd.
            _ => Literal::Bool(false),
        }
    }

    /// Whether this line satisfies `filter`. Text compares case-insensitively, as Graph does.
    pub fn satisfies(&self, filter: &Filter) -> bool {
        match filter {
            Filter::And(a, b) => self.satisfies(a) && self.satisfies(b),
            Filter::Or(a, b) => self.satisfies(a) || self.satisfies(b),
            Filter::Not(f) => !self.satisfies(f),
            Filter::Compare {
                property,
                op,
                value,
            } => compare(&self.value(property), *op, value),
            Filter::StartsWith { property, prefix } => match self.value(property) {
                Literal::Text(t) => t.to_lowercase().starts_with(&prefix.to_lowercase()),
                _ => false,
            },
            Filter::In { property, values } => {
                let mine = self.value(property);
                values.iter().any(|v| compare(&mine, CmpOp::Eq, v))
            }
        }
    }
}

fn compare(mine: &Literal, op: CmpOp, theirs: &Literal) -> bool {
    use std::cmp::Ordering;
    let ordering = match (mine, theirs) {
        (Literal::Text(a), Literal::Text(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Literal::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Literal::Time(a), Literal::Time(b)) => Some(a.cmp(b)),
        (Literal::Guid(a), Literal::Guid(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match (ordering, op) {
        (None, CmpOp::Ne) => true,
        (None, _) => false,
        (Some(o), CmpOp::Eq) => o == Ordering::Equal,
        (Some(o), CmpOp::Ne) => o != Ordering::Equal,
        (Some(o), CmpOp::Gt) => o == Ordering::Greater,
        (Some(o), CmpOp::Ge) => o != Ordering::Less,
        (Some(o), CmpOp::Lt) => o == Ordering::Less,
        (Some(o), CmpOp::Le) => o != Ordering::Greater,
    }
}

/// What the report says of one user's registration, decided from their passkeys and the FIDO2
/// configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationStatus {
    /// A strong method is registered (a passkey), whatever the policy says.
    pub is_mfa_registered: bool,
    /// A passkey is registered that the policy lets this user use: FIDO2 enabled for them and
    /// its authenticator admitted by the key restrictions.
    pub is_passwordless_capable: bool,
}

impl Fido2Policy {
    /// [`RegistrationStatus`] of a user with passkeys of `aaguids`.
    pub fn registration_status(
        &self,
        user_id: &str,
        group_ids: &[String],
        aaguids: &[Uuid],
    ) -> RegistrationStatus {
        let allowed = self.allows_user(user_id, group_ids).is_ok();
        RegistrationStatus {
            is_mfa_registered: !aaguids.is_empty(),
            is_passwordless_capable: allowed
                && aaguids
                    .iter()
                    .any(|a| self.admits_authenticator(*a).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EnforcementType, KeyRestrictions, PolicyState};
    use proptest::prelude::*;

    fn facts(upn: &str, guest: bool, capable: bool) -> RegistrationFacts {
        RegistrationFacts {
            id: Uuid::nil(),
            user_principal_name: upn.to_owned(),
            user_display_name: upn.to_uppercase(),
            guest,
            is_admin: false,
            status: RegistrationStatus {
                is_mfa_registered: capable,
                is_passwordless_capable: capable,
            },
            last_updated: time::macros::datetime!(2026-06-01 12:00 UTC),
        }
    }

    #[test]
    fn plain_conjuncts_are_handed_to_the_store() {
        let q = RegistrationQuery::parse_filter(
            "isPasswordlessCapable eq false and userType eq 'Guest'",
        )
        .unwrap();
        assert_eq!(
            (q.guests, q.passwordless_capable),
            (Some(true), Some(false))
        );
        let q = RegistrationQuery::parse_filter(
            "isPasswordlessCapable eq false or userType eq 'member'",
        )
        .unwrap();
        assert_eq!(
            (q.guests, q.passwordless_capable),
            (None, None),
            "not a conjunct"
        );
        let q = RegistrationQuery::parse_filter("not(isPasswordlessCapable eq true)").unwrap();
        assert_eq!(q.passwordless_capable, None);
    }

    #[test]
    fn filters_decide_each_line() {
        let alice = facts("alice@x.test", false, true);
        let guest = facts("bob@x.test", true, false);
        for (filter, a, g) in [
            ("isPasswordlessCapable eq false", false, true),
            ("isPasswordlessCapable ne false", true, false),
            ("userType eq 'guest'", false, true),
            ("startswith(userPrincipalName,'ALI')", true, false),
            (
                "userPrincipalName in ('bob@x.test', 'carol@x.test')",
                false,
                true,
            ),
            (
                "not(isMfaRegistered eq true) or isAdmin eq true",
                false,
                true,
            ),
            ("lastUpdatedDateTime ge 2026-06-01T00:00:00Z", true, true),
            ("lastUpdatedDateTime lt 2026-06-01T00:00:00Z", false, false),
            ("isSsprRegistered eq true", false, false),
        ] {
            let q = RegistrationQuery::parse_filter(filter).unwrap();
            assert_eq!((q.admits(&alice), q.admits(&guest)), (a, g), "{filter}");
        }
        assert!(RegistrationQuery::default().admits(&alice));
    }

    #[test]
    fn unsupported_filters_are_refused() {
        for bad in [
            "methodsRegistered eq 'fido2'",
            "isPasswordlessCapable eq 'true'",
            "userType eq 'robot'",
            "displayName eq 'x'",
            "isAdmin gt true",
        ] {
            assert!(
                matches!(
                    RegistrationQuery::parse_filter(bad),
                    Err(DomainError::BadRequest(_))
                ),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn capability_needs_an_admitted_passkey_and_the_method_enabled_for_the_user() {
        let key = Uuid::from_bytes([7; 16]);
        let policy = Fido2Policy::default();
        assert_eq!(
            policy.registration_status("u1", &[], &[]),
            RegistrationStatus {
                is_mfa_registered: false,
                is_passwordless_capable: false
            }
        );
        assert!(
            policy
                .registration_status("u1", &[], &[key])
                .is_passwordless_capable
        );
        let disabled = Fido2Policy {
            state: PolicyState::Disabled,
            ..Fido2Policy::default()
        };
        let status = disabled.registration_status("u1", &[], &[key]);
        assert!(status.is_mfa_registered && !status.is_passwordless_capable);
        let blocked = Fido2Policy {
            key_restrictions: KeyRestrictions {
                is_enforced: true,
                enforcement_type: EnforcementType::Block,
                aa_guids: vec![key],
            },
            ..Fido2Policy::default()
        };
        assert!(
            !blocked
                .registration_status("u1", &[], &[key])
                .is_passwordless_capable
        );
        assert!(
            blocked
                .registration_status("u1", &[], &[key, Uuid::nil()])
                .is_passwordless_capable
        );
    }

    proptest! {
        #[test]
        fn parse_filter_never_panics(filter in ".{0,60}") {
            let _ = RegistrationQuery::parse_filter(&filter);
        }
    }
}
