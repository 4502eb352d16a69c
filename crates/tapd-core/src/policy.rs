//! The Temporary Access Pass configuration of the authentication methods policy (SPEC §3): its
//! fields and defaults, the validity rule every stored policy obeys, PATCH merging, and whether a
//! user is in scope.
//!
//! Field names serialize in Graph's camelCase so the server can return the policy as-is beside
//! `@odata.type` and `id`.

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The group id that stands for every user in the directory, as in Graph.
pub const ALL_USERS: &str = "all_users";

/// Shortest pass lifetime a policy may allow, in minutes.
pub const MIN_LIFETIME_MINUTES: u32 = 10;
/// Longest pass lifetime a policy may allow, in minutes (30 days).
pub const MAX_LIFETIME_MINUTES: u32 = 43_200;
/// Shortest code length a policy may ask for.
pub const MIN_CODE_LENGTH: u32 = 8;
/// Longest code length a policy may ask for.
pub const MAX_CODE_LENGTH: u32 = 48;

/// Whether the TAP method may be used at all.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum PolicyState {
    Enabled,
    Disabled,
}

/// What a policy target's `id` names.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TargetType {
    User,
    Group,
}

/// One entry of `includeTargets` or `excludeTargets`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyTarget {
    pub target_type: TargetType,
    pub id: String,
    /// Graph carries it on include targets; tapd stores and returns it but no rule reads it.
    #[serde(default)]
    pub is_registration_required: bool,
}

impl PolicyTarget {
    /// The target Graph uses by default: the `all_users` group.
    pub fn all_users() -> PolicyTarget {
        PolicyTarget {
            target_type: TargetType::Group,
            id: ALL_USERS.to_owned(),
            is_registration_required: false,
        }
    }

    /// Whether this target names the user, one of their groups, or everyone.
    ///
    /// Ids are GUIDs that clients may send in either case, so they compare case-insensitively;
    /// a target whose type does not fit never matches.
    pub(crate) fn matches(&self, user_id: &str, group_ids: &[String]) -> bool {
        match self.target_type {
            TargetType::User => self.id.eq_ignore_ascii_case(user_id),
            TargetType::Group => {
                self.id.eq_ignore_ascii_case(ALL_USERS)
                    || group_ids.iter().any(|g| self.id.eq_ignore_ascii_case(g))
            }
        }
    }
}

/// The TAP method configuration (SPEC §3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TapPolicy {
    pub state: PolicyState,
    pub minimum_lifetime_in_minutes: u32,
    pub maximum_lifetime_in_minutes: u32,
    pub default_lifetime_in_minutes: u32,
    pub is_usable_once: bool,
    pub default_length: u32,
    pub include_targets: Vec<PolicyTarget>,
    pub exclude_targets: Vec<PolicyTarget>,
}

impl Default for TapPolicy {
    /// SPEC §3 defaults. Enabled (unlike Entra) so that the first admin of a fresh install can
    /// sign in with the pass printed at setup.
    fn default() -> Self {
        TapPolicy {
            state: PolicyState::Enabled,
            minimum_lifetime_in_minutes: 60,
            maximum_lifetime_in_minutes: 480,
            default_lifetime_in_minutes: 60,
            is_usable_once: false,
            default_length: 8,
            include_targets: vec![PolicyTarget::all_users()],
            exclude_targets: Vec::new(),
        }
    }
}

/// A PATCH body: only the fields to change.
///
/// Unknown properties (`@odata.type`, `id`, …) are ignored because Graph clients always send
/// `@odata.type`. Numbers are `u32`, so negative or oversized values fail to deserialize, and
/// anything that fits but breaks the rule fails [`TapPolicy::apply`].
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PolicyPatch {
    pub state: Option<PolicyState>,
    pub minimum_lifetime_in_minutes: Option<u32>,
    pub maximum_lifetime_in_minutes: Option<u32>,
    pub default_lifetime_in_minutes: Option<u32>,
    pub is_usable_once: Option<bool>,
    pub default_length: Option<u32>,
    pub include_targets: Option<Vec<PolicyTarget>>,
    pub exclude_targets: Option<Vec<PolicyTarget>>,
}

impl TapPolicy {
    /// Checks `10 ≤ min ≤ default ≤ max ≤ 43200`, `8 ≤ defaultLength ≤ 48` and that every target
    /// names something. The first broken rule is reported, naming the field(s) and allowed range.
    pub fn validate(&self) -> Result<(), DomainError> {
        self.check()
            .map_err(|v| DomainError::BadRequest(v.graph_message()))
    }

    /// [`TapPolicy::validate`]'s rule, with the broken part as data so that each caller words
    /// it in its own terms (Graph's property names, or a page's labels).
    pub fn check(&self) -> Result<(), PolicyViolation> {
        let lifetimes = [
            (
                PolicyField::MinimumLifetime,
                self.minimum_lifetime_in_minutes,
            ),
            (
                PolicyField::MaximumLifetime,
                self.maximum_lifetime_in_minutes,
            ),
            (
                PolicyField::DefaultLifetime,
                self.default_lifetime_in_minutes,
            ),
        ];
        for (field, value) in lifetimes {
            check_range(field, value, MIN_LIFETIME_MINUTES, MAX_LIFETIME_MINUTES)?;
        }
        let (min, max, default) = (
            self.minimum_lifetime_in_minutes,
            self.maximum_lifetime_in_minutes,
            self.default_lifetime_in_minutes,
        );
        if min > max {
            return Err(PolicyViolation::MinAboveMax { min, max });
        }
        if !(min..=max).contains(&default) {
            return Err(PolicyViolation::DefaultOutside { default, min, max });
        }
        check_range(
            PolicyField::DefaultLength,
            self.default_length,
            MIN_CODE_LENGTH,
            MAX_CODE_LENGTH,
        )?;
        check_targets("includeTargets", &self.include_targets)?;
        check_targets("excludeTargets", &self.exclude_targets)?;
        Ok(())
    }

    /// This policy with `patch`'s fields, unchecked.
    pub fn merged(&self, patch: PolicyPatch) -> TapPolicy {
        TapPolicy {
            state: patch.state.unwrap_or(self.state),
            minimum_lifetime_in_minutes: patch
                .minimum_lifetime_in_minutes
                .unwrap_or(self.minimum_lifetime_in_minutes),
            maximum_lifetime_in_minutes: patch
                .maximum_lifetime_in_minutes
                .unwrap_or(self.maximum_lifetime_in_minutes),
            default_lifetime_in_minutes: patch
                .default_lifetime_in_minutes
                .unwrap_or(self.default_lifetime_in_minutes),
            is_usable_once: patch.is_usable_once.unwrap_or(self.is_usable_once),
            default_length: patch.default_length.unwrap_or(self.default_length),
            include_targets: patch
                .include_targets
                .unwrap_or_else(|| self.include_targets.clone()),
            exclude_targets: patch
                .exclude_targets
                .unwrap_or_else(|| self.exclude_targets.clone()),
        }
    }

    /// Merges a PATCH into a copy of this policy and returns it if the result is valid. A patch
    /// that breaks the rule is refused whole: the caller keeps `self` unchanged.
    pub fn apply(&self, patch: PolicyPatch) -> Result<TapPolicy, DomainError> {
        let merged = self.merged(patch);
        merged.validate()?;
        Ok(merged)
    }

    /// Whether scope depends on group membership beyond `all_users`: when it doesn't, a caller
    /// can skip looking the user's groups up.
    pub fn needs_groups(&self) -> bool {
        names_groups(&self.include_targets, &self.exclude_targets)
    }

    /// Whether a user may sign in with a TAP under this policy: the policy is enabled, the user
    /// is included (directly, through one of `group_ids`, or by `all_users`) and not excluded.
    /// Exclusion wins, so excluding `all_users` shuts everyone out.
    pub fn in_scope(&self, user_id: &str, group_ids: &[String]) -> bool {
        self.state == PolicyState::Enabled
            && targeted(
                &self.include_targets,
                &self.exclude_targets,
                user_id,
                group_ids,
            )
    }
}

/// Whether include and exclude targets name a group other than `all_users`.
pub(crate) fn names_groups(include: &[PolicyTarget], exclude: &[PolicyTarget]) -> bool {
    include
        .iter()
        .chain(exclude)
        .any(|t| t.target_type == TargetType::Group && !t.id.eq_ignore_ascii_case(ALL_USERS))
}

/// A method configuration's targeting (SPEC §3): included directly, through a group or by
/// `all_users`, and not excluded. Exclusion wins.
pub(crate) fn targeted(
    include: &[PolicyTarget],
    exclude: &[PolicyTarget],
    user_id: &str,
    group_ids: &[String],
) -> bool {
    let listed = |targets: &[PolicyTarget]| targets.iter().any(|t| t.matches(user_id, group_ids));
    listed(include) && !listed(exclude)
}

/// A number of the policy that has a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyField {
    MinimumLifetime,
    MaximumLifetime,
    DefaultLifetime,
    DefaultLength,
}

impl PolicyField {
    /// The Graph property.
    pub fn graph_name(self) -> &'static str {
        match self {
            PolicyField::MinimumLifetime => "minimumLifetimeInMinutes",
            PolicyField::MaximumLifetime => "maximumLifetimeInMinutes",
            PolicyField::DefaultLifetime => "defaultLifetimeInMinutes",
            PolicyField::DefaultLength => "defaultLength",
        }
    }
}

/// Which part of the policy rule a policy breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyViolation {
    OutOfRange {
        field: PolicyField,
        value: u32,
        min: u32,
        max: u32,
    },
    MinAboveMax {
        min: u32,
        max: u32,
    },
    DefaultOutside {
        default: u32,
        min: u32,
        max: u32,
    },
    /// A target that names nothing, in Graph's words.
    Target(String),
}

impl PolicyViolation {
    /// The refusal in Graph's terms (property names).
    pub fn graph_message(&self) -> String {
        match self {
            PolicyViolation::OutOfRange {
                field,
                value,
                min,
                max,
            } => format!(
                "{} must be between {min} and {max}; got {value}.",
                field.graph_name()
            ),
            PolicyViolation::MinAboveMax { min, max } => format!(
                "minimumLifetimeInMinutes ({min}) must not be greater than \
                 maximumLifetimeInMinutes ({max})."
            ),
            PolicyViolation::DefaultOutside { default, min, max } => format!(
                "defaultLifetimeInMinutes ({default}) must be between \
                 minimumLifetimeInMinutes ({min}) and maximumLifetimeInMinutes ({max})."
            ),
            PolicyViolation::Target(m) => m.clone(),
        }
    }
}

fn check_range(field: PolicyField, value: u32, min: u32, max: u32) -> Result<(), PolicyViolation> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(PolicyViolation::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

pub(crate) fn check_targets(field: &str, targets: &[PolicyTarget]) -> Result<(), PolicyViolation> {
    for (index, target) in targets.iter().enumerate() {
        if target.id.trim().is_empty() {
            return Err(PolicyViolation::Target(format!(
                "{field}[{index}].id must not be empty."
            )));
        }
        // all_users is a group in Graph; as a user target it would silently match nobody.
        if target.target_type == TargetType::User && target.id.eq_ignore_ascii_case(ALL_USERS) {
            return Err(PolicyViolation::Target(format!(
                "{field}[{index}]: '{ALL_USERS}' is a group; its targetType must be 'group'."
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn groups_are_needed_only_when_a_target_names_a_group() {
        let mut policy = TapPolicy::default();
        assert!(!policy.needs_groups(), "all_users alone");
        policy.exclude_targets = vec![PolicyTarget {
            target_type: TargetType::User,
            id: "u1".into(),
            is_registration_required: false,
        }];
        assert!(!policy.needs_groups(), "users alone");
        policy.exclude_targets.push(PolicyTarget {
            target_type: TargetType::Group,
            id: "g1".into(),
            is_registration_required: false,
        });
        assert!(policy.needs_groups());
    }

    fn with_lifetimes(min: u32, default: u32, max: u32) -> TapPolicy {
        TapPolicy {
            minimum_lifetime_in_minutes: min,
            default_lifetime_in_minutes: default,
            maximum_lifetime_in_minutes: max,
            ..TapPolicy::default()
        }
    }

    fn with_length(length: u32) -> TapPolicy {
        TapPolicy {
            default_length: length,
            ..TapPolicy::default()
        }
    }

    fn bad_request_message(result: Result<(), DomainError>) -> String {
        match result {
            Err(DomainError::BadRequest(message)) => message,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    fn user(id: &str) -> PolicyTarget {
        PolicyTarget {
            target_type: TargetType::User,
            id: id.to_owned(),
            is_registration_required: false,
        }
    }

    fn group(id: &str) -> PolicyTarget {
        PolicyTarget {
            target_type: TargetType::Group,
            id: id.to_owned(),
            is_registration_required: false,
        }
    }

    #[test]
    fn default_policy_matches_spec_and_is_valid() {
        let policy = TapPolicy::default();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({
                "state": "enabled",
                "minimumLifetimeInMinutes": 60,
                "maximumLifetimeInMinutes": 480,
                "defaultLifetimeInMinutes": 60,
                "isUsableOnce": false,
                "defaultLength": 8,
                "includeTargets": [
                    {"targetType": "group", "id": "all_users", "isRegistrationRequired": false}
                ],
                "excludeTargets": []
            })
        );
        assert_eq!(policy.validate(), Ok(()));
    }

    #[test]
    fn policy_round_trips_through_json() {
        let policy = TapPolicy {
            state: PolicyState::Disabled,
            exclude_targets: vec![user("u1")],
            ..TapPolicy::default()
        };
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(serde_json::from_str::<TapPolicy>(&text).unwrap(), policy);
    }

    #[test]
    fn lifetime_bounds_are_inclusive_at_10_and_43200() {
        assert_eq!(with_lifetimes(10, 10, 10).validate(), Ok(()));
        assert_eq!(with_lifetimes(43_200, 43_200, 43_200).validate(), Ok(()));
        assert_eq!(with_lifetimes(10, 100, 43_200).validate(), Ok(()));
    }

    #[test]
    fn minimum_lifetime_below_10_is_refused_naming_field_and_range() {
        let message = bad_request_message(with_lifetimes(9, 60, 480).validate());
        assert!(message.contains("minimumLifetimeInMinutes"), "{message}");
        assert!(
            message.contains("10") && message.contains("43200"),
            "{message}"
        );
    }

    #[test]
    fn maximum_lifetime_above_43200_is_refused_naming_field_and_range() {
        let message = bad_request_message(with_lifetimes(60, 60, 43_201).validate());
        assert!(message.contains("maximumLifetimeInMinutes"), "{message}");
        assert!(
            message.contains("10") && message.contains("43200"),
            "{message}"
        );
    }

    #[test]
    fn default_lifetime_outside_10_to_43200_is_refused() {
        let low = bad_request_message(with_lifetimes(10, 9, 480).validate());
        assert!(low.contains("defaultLifetimeInMinutes"), "{low}");
        let high = bad_request_message(with_lifetimes(10, 43_201, 43_200).validate());
        assert!(high.contains("defaultLifetimeInMinutes"), "{high}");
    }

    #[test]
    fn minimum_above_default_is_refused() {
        let message = bad_request_message(with_lifetimes(61, 60, 480).validate());
        assert!(message.contains("defaultLifetimeInMinutes"), "{message}");
        assert!(message.contains("minimumLifetimeInMinutes"), "{message}");
    }

    #[test]
    fn default_above_maximum_is_refused() {
        let message = bad_request_message(with_lifetimes(60, 481, 480).validate());
        assert!(message.contains("defaultLifetimeInMinutes"), "{message}");
        assert!(message.contains("maximumLifetimeInMinutes"), "{message}");
    }

    #[test]
    fn minimum_above_maximum_is_refused_naming_both() {
        // The default sits between them either way; the message must blame min and max, not it.
        let message = bad_request_message(with_lifetimes(500, 500, 480).validate());
        assert_eq!(
            message,
            "minimumLifetimeInMinutes (500) must not be greater than maximumLifetimeInMinutes (480)."
        );
    }

    #[test]
    fn default_length_bounds_are_8_and_48() {
        assert_eq!(with_length(8).validate(), Ok(()));
        assert_eq!(with_length(48).validate(), Ok(()));
        for bad in [7, 49] {
            let message = bad_request_message(with_length(bad).validate());
            assert!(message.contains("defaultLength"), "{message}");
            assert!(message.contains('8') && message.contains("48"), "{message}");
        }
    }

    #[test]
    fn targets_with_empty_ids_are_refused() {
        let include = TapPolicy {
            include_targets: vec![group("g"), group("  ")],
            ..TapPolicy::default()
        };
        let message = bad_request_message(include.validate());
        assert!(message.contains("includeTargets[1]"), "{message}");

        let exclude = TapPolicy {
            exclude_targets: vec![user("")],
            ..TapPolicy::default()
        };
        let message = bad_request_message(exclude.validate());
        assert!(message.contains("excludeTargets[0]"), "{message}");
    }

    #[test]
    fn all_users_as_a_user_target_is_refused() {
        for policy in [
            TapPolicy {
                include_targets: vec![user(ALL_USERS)],
                ..TapPolicy::default()
            },
            TapPolicy {
                exclude_targets: vec![user(ALL_USERS)],
                ..TapPolicy::default()
            },
        ] {
            let message = bad_request_message(policy.validate());
            assert!(message.contains(ALL_USERS), "{message}");
        }
        let as_group = TapPolicy {
            exclude_targets: vec![group(ALL_USERS)],
            ..TapPolicy::default()
        };
        assert_eq!(as_group.validate(), Ok(()));
    }

    #[test]
    fn empty_include_list_is_valid_and_puts_nobody_in_scope() {
        let policy = TapPolicy {
            include_targets: Vec::new(),
            ..TapPolicy::default()
        };
        assert_eq!(policy.validate(), Ok(()));
        assert!(!policy.in_scope("u1", &["g1".to_owned()]));
    }

    #[test]
    fn apply_changes_only_the_given_fields() {
        let original = TapPolicy::default();
        let patch = PolicyPatch {
            maximum_lifetime_in_minutes: Some(1_000),
            is_usable_once: Some(true),
            exclude_targets: Some(vec![group("g1")]),
            ..PolicyPatch::default()
        };
        let merged = original.apply(patch).unwrap();
        assert_eq!(
            merged,
            TapPolicy {
                maximum_lifetime_in_minutes: 1_000,
                is_usable_once: true,
                exclude_targets: vec![group("g1")],
                ..TapPolicy::default()
            }
        );
    }

    #[test]
    fn empty_patch_returns_the_same_policy() {
        let original = TapPolicy {
            state: PolicyState::Disabled,
            default_length: 20,
            ..TapPolicy::default()
        };
        assert_eq!(original.apply(PolicyPatch::default()), Ok(original.clone()));
    }

    #[test]
    fn patch_with_one_bad_field_is_refused_whole() {
        let original = TapPolicy::default();
        let before = original.clone();
        let patch = PolicyPatch {
            state: Some(PolicyState::Disabled),
            maximum_lifetime_in_minutes: Some(600),
            default_length: Some(49),
            ..PolicyPatch::default()
        };
        let message = bad_request_message(original.apply(patch).map(|_| ()));
        assert!(message.contains("defaultLength"), "{message}");
        assert_eq!(original, before);
    }

    #[test]
    fn patch_is_checked_against_the_fields_it_does_not_change() {
        // Default 30 is within 10..=43200 on its own but below the stored minimum of 60.
        let patch = PolicyPatch {
            default_lifetime_in_minutes: Some(30),
            ..PolicyPatch::default()
        };
        assert!(TapPolicy::default().apply(patch).is_err());

        // Lowering the minimum in the same patch makes it acceptable.
        let patch = PolicyPatch {
            minimum_lifetime_in_minutes: Some(10),
            default_lifetime_in_minutes: Some(30),
            ..PolicyPatch::default()
        };
        let merged = TapPolicy::default().apply(patch).unwrap();
        assert_eq!(merged.minimum_lifetime_in_minutes, 10);
        assert_eq!(merged.default_lifetime_in_minutes, 30);
    }

    #[test]
    fn patch_json_ignores_odata_type_and_id() {
        let patch: PolicyPatch = serde_json::from_value(json!({
            "@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
            "id": "TemporaryAccessPass",
            "state": "disabled",
            "defaultLength": 12,
            "includeTargets": [{"targetType": "user", "id": "u1"}]
        }))
        .unwrap();
        let merged = TapPolicy::default().apply(patch).unwrap();
        assert_eq!(merged.state, PolicyState::Disabled);
        assert_eq!(merged.default_length, 12);
        // isRegistrationRequired may be omitted.
        assert_eq!(merged.include_targets, vec![user("u1")]);
        assert_eq!(merged.minimum_lifetime_in_minutes, 60);
    }

    #[test]
    fn patch_json_with_negative_or_oversized_numbers_fails() {
        for body in [
            json!({"minimumLifetimeInMinutes": -1}),
            json!({"maximumLifetimeInMinutes": 4_294_967_296_u64}),
            json!({"defaultLength": 8.5}),
        ] {
            assert!(
                serde_json::from_value::<PolicyPatch>(body.clone()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn patch_json_with_wrong_types_fails() {
        for body in [
            json!({"state": "on"}),
            json!({"state": true}),
            json!({"isUsableOnce": "true"}),
            json!({"defaultLength": "8"}),
            json!({"includeTargets": {"targetType": "group", "id": "g"}}),
            json!({"includeTargets": [{"targetType": "device", "id": "g"}]}),
            json!({"includeTargets": [{"id": "g"}]}),
        ] {
            assert!(
                serde_json::from_value::<PolicyPatch>(body.clone()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn all_users_includes_everyone() {
        let policy = TapPolicy::default();
        assert!(policy.in_scope("u1", &[]));
        assert!(policy.in_scope("u2", &["g1".to_owned()]));
    }

    #[test]
    fn included_directly_or_through_a_group() {
        let policy = TapPolicy {
            include_targets: vec![user("u1"), group("g1")],
            ..TapPolicy::default()
        };
        assert!(policy.in_scope("u1", &[]));
        assert!(policy.in_scope("u2", &["g0".to_owned(), "g1".to_owned()]));
        assert!(!policy.in_scope("u3", &["g2".to_owned()]));
        // A user target does not match a group of the same id, nor the reverse.
        assert!(!policy.in_scope("g1", &[]));
        assert!(!policy.in_scope("u4", &["u1".to_owned()]));
    }

    #[test]
    fn ids_match_case_insensitively() {
        let policy = TapPolicy {
            include_targets: vec![user("ABCDEF01-0000-0000-0000-000000000000")],
            ..TapPolicy::default()
        };
        assert!(policy.in_scope("abcdef01-0000-0000-0000-000000000000", &[]));
    }

    #[test]
    fn exclusion_wins_over_inclusion() {
        let by_user = TapPolicy {
            include_targets: vec![user("u1")],
            exclude_targets: vec![user("u1")],
            ..TapPolicy::default()
        };
        assert!(!by_user.in_scope("u1", &[]));

        let by_group = TapPolicy {
            exclude_targets: vec![group("g1")],
            ..TapPolicy::default()
        };
        assert!(!by_group.in_scope("u1", &["g1".to_owned()]));
        assert!(by_group.in_scope("u2", &["g2".to_owned()]));
    }

    #[test]
    fn excluding_all_users_excludes_everyone() {
        let policy = TapPolicy {
            include_targets: vec![user("u1"), group("g1")],
            exclude_targets: vec![group(ALL_USERS)],
            ..TapPolicy::default()
        };
        assert!(!policy.in_scope("u1", &["g1".to_owned()]));
    }

    #[test]
    fn disabled_policy_puts_nobody_in_scope() {
        let policy = TapPolicy {
            state: PolicyState::Disabled,
            include_targets: vec![user("u1"), group(ALL_USERS)],
            ..TapPolicy::default()
        };
        assert!(!policy.in_scope("u1", &[]));
    }

    proptest! {
        #[test]
        fn validate_accepts_exactly_the_rule(
            min in 0u32..=43_300,
            default in 0u32..=43_300,
            max in 0u32..=43_300,
            length in 0u32..=60,
        ) {
            let policy = TapPolicy {
                minimum_lifetime_in_minutes: min,
                default_lifetime_in_minutes: default,
                maximum_lifetime_in_minutes: max,
                default_length: length,
                ..TapPolicy::default()
            };
            let rule_holds = 10 <= min && min <= default && default <= max && max <= 43_200
                && (8..=48).contains(&length);
            prop_assert_eq!(policy.validate().is_ok(), rule_holds);
        }

        #[test]
        fn apply_result_is_always_valid_or_refused(
            min in proptest::option::of(0u32..=43_300),
            default in proptest::option::of(0u32..=43_300),
            max in proptest::option::of(0u32..=43_300),
            length in proptest::option::of(0u32..=60),
        ) {
            let original = TapPolicy::default();
            let patch = PolicyPatch {
                minimum_lifetime_in_minutes: min,
                default_lifetime_in_minutes: default,
                maximum_lifetime_in_minutes: max,
                default_length: length,
                ..PolicyPatch::default()
            };
            match original.apply(patch) {
                Ok(merged) => {
                    prop_assert_eq!(merged.validate(), Ok(()));
                    prop_assert_eq!(merged.minimum_lifetime_in_minutes, min.unwrap_or(60));
                    prop_assert_eq!(merged.default_lifetime_in_minutes, default.unwrap_or(60));
                    prop_assert_eq!(merged.maximum_lifetime_in_minutes, max.unwrap_or(480));
                    prop_assert_eq!(merged.default_length, length.unwrap_or(8));
                }
                Err(error) => prop_assert!(matches!(error, DomainError::BadRequest(_))),
            }
        }

        #[test]
        fn exclusion_always_wins(
            user_id in "[a-z]{1,3}",
            groups in proptest::collection::vec("[a-z]{1,3}", 0..4),
            excluded_group in proptest::option::of("[a-z]{1,3}"),
        ) {
            let mut exclude_targets = vec![user(&user_id)];
            exclude_targets.extend(excluded_group.as_deref().map(group));
            let policy = TapPolicy {
                include_targets: vec![group(ALL_USERS), user(&user_id)],
                exclude_targets,
                ..TapPolicy::default()
            };
            prop_assert!(!policy.in_scope(&user_id, &groups));
        }
    }
}
