//! The admin center's TAP policy form as sent, turned into a [`PolicyPatch`] of every field.
//! Pure: the decoded form pairs in. The page words refusals with its own labels, so a field
//! that isn't a number comes back as data, as [`PolicyViolation`](crate::PolicyViolation)s do.
//!
//! Fields: `enabled` and `once` are checkboxes (sent means on); `min`, `max`, `default` and
//! `length` are numbers; `include` and `exclude` repeat once per group checked (`all_users`
//! for everyone).

use std::num::IntErrorKind;

use crate::{PolicyField, PolicyPatch, PolicyState, PolicyTarget, TargetType};

/// The policy form's fields as sent, in order.
#[derive(Clone, Copy, Debug)]
pub struct PolicyForm<'a>(pub &'a [(String, String)]);

/// A number field that isn't a whole number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotANumber(pub PolicyField);

impl PolicyForm<'_> {
    /// The first value sent for `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value sent for `name`, in order.
    pub fn fields(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The form as a patch of every field, unchecked: the policy's rule judges the numbers.
    pub fn patch(&self) -> Result<PolicyPatch, NotANumber> {
        let state = if self.field("enabled").is_some() {
            PolicyState::Enabled
        } else {
            PolicyState::Disabled
        };
        let groups = |name: &str| self.fields(name).into_iter().map(group_target).collect();
        Ok(PolicyPatch {
            state: Some(state),
            minimum_lifetime_in_minutes: Some(self.number("min", PolicyField::MinimumLifetime)?),
            maximum_lifetime_in_minutes: Some(self.number("max", PolicyField::MaximumLifetime)?),
            default_lifetime_in_minutes: Some(
                self.number("default", PolicyField::DefaultLifetime)?,
            ),
            is_usable_once: Some(self.field("once").is_some()),
            default_length: Some(self.number("length", PolicyField::DefaultLength)?),
            include_targets: Some(groups("include")),
            exclude_targets: Some(groups("exclude")),
        })
    }

    /// A whole number; one too large for a `u32` is still a number, so it saturates and the
    /// rule's range is what refuses it.
    fn number(&self, name: &str, field: PolicyField) -> Result<u32, NotANumber> {
        let raw = self.field(name).unwrap_or("").trim();
        raw.parse::<u32>().or_else(|e| match e.kind() {
            IntErrorKind::PosOverflow => Ok(u32::MAX),
            _ => Err(NotANumber(field)),
        })
    }
}

fn group_target(id: String) -> PolicyTarget {
    PolicyTarget {
        target_type: TargetType::Group,
        id,
        is_registration_required: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ALL_USERS, PolicyViolation, TapPolicy};

    fn pairs(fields: &[(&str, &str)]) -> Vec<(String, String)> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn numbers(min: &str, max: &str, default: &str, length: &str) -> Vec<(String, String)> {
        pairs(&[
            ("min", min),
            ("max", max),
            ("default", default),
            ("length", length),
        ])
    }

    #[test]
    fn the_form_sets_every_field() {
        let mut sent = numbers("10", " 600 ", "60", "12");
        sent.extend(pairs(&[
            ("enabled", "on"),
            ("include", ALL_USERS),
            ("include", "g1"),
            ("exclude", "g2"),
        ]));
        let policy = TapPolicy::default()
            .apply(PolicyForm(&sent).patch().unwrap())
            .unwrap();
        assert_eq!(
            policy,
            TapPolicy {
                minimum_lifetime_in_minutes: 10,
                maximum_lifetime_in_minutes: 600,
                default_length: 12,
                include_targets: vec![PolicyTarget::all_users(), group_target("g1".into())],
                exclude_targets: vec![group_target("g2".into())],
                ..TapPolicy::default()
            }
        );
    }

    #[test]
    fn checkboxes_not_sent_are_off_and_no_group_is_no_target() {
        let patch = PolicyForm(&numbers("60", "480", "60", "8"))
            .patch()
            .unwrap();
        assert_eq!(patch.state, Some(PolicyState::Disabled));
        assert_eq!(patch.is_usable_once, Some(false));
        assert_eq!(patch.include_targets, Some(vec![]));
        assert_eq!(patch.exclude_targets, Some(vec![]));
    }

    #[test]
    fn a_field_that_is_not_a_whole_number_is_named() {
        for (sent, field) in [
            (numbers("", "480", "60", "8"), PolicyField::MinimumLifetime),
            (
                numbers("60", "4.5", "60", "8"),
                PolicyField::MaximumLifetime,
            ),
            (
                numbers("60", "480", "-1", "8"),
                PolicyField::DefaultLifetime,
            ),
            (
                numbers("60", "480", "60", "eight"),
                PolicyField::DefaultLength,
            ),
            (pairs(&[("min", "60")]), PolicyField::MaximumLifetime),
        ] {
            assert_eq!(PolicyForm(&sent).patch().unwrap_err(), NotANumber(field));
        }
    }

    #[test]
    fn a_number_too_large_for_the_field_gets_the_range_not_not_a_number() {
        // Found while fuzzing the form: a 25-digit minimum was "not a whole number of minutes".
        let sent = numbers("60", "99999999999999999999", "60", "8");
        let patch = PolicyForm(&sent).patch().unwrap();
        assert_eq!(patch.maximum_lifetime_in_minutes, Some(u32::MAX));
        assert!(matches!(
            TapPolicy::default().merged(patch).check(),
            Err(PolicyViolation::OutOfRange {
                field: PolicyField::MaximumLifetime,
                ..
            })
        ));
    }

    #[test]
    fn the_first_of_repeated_number_fields_counts() {
        let mut sent = numbers("60", "480", "60", "8");
        sent.extend(pairs(&[("min", "x")]));
        let patch = PolicyForm(&sent).patch().unwrap();
        assert_eq!(patch.minimum_lifetime_in_minutes, Some(60));
    }
}
