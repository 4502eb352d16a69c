//! The Temporary Access Pass itself: planning an issue against the policy (SPEC §5.1), whether an
//! existing pass can be used right now (SPEC §5.3), how long anything obtained with it may live
//! (SPEC §6.2), and turning caller-supplied random bytes into a code.
//!
//! The code never appears in [`TapPass`]: it is shown once at issue and stored only as a keyed
//! hash by the store, so nothing in the domain can leak it.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::{DomainError, PolicyState, TapPolicy};

/// Why a pass can or cannot be used, as Graph's `methodUsabilityReason`.
///
/// Serialized exactly as the variant names (`"EnabledByPolicy"`, …), which is what Graph returns.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UsabilityReason {
    EnabledByPolicy,
    DisabledByPolicy,
    OneTimeUsed,
    /// tapd extension: [`MAX_FAILED_ATTEMPTS`] consecutive wrong codes were entered.
    Locked,
    Expired,
    NotYetValid,
}

impl UsabilityReason {
    /// Graph's `isUsable`: only `EnabledByPolicy` lets the pass sign in.
    pub fn is_usable(self) -> bool {
        self == UsabilityReason::EnabledByPolicy
    }
}

/// Consecutive wrong codes after which a pass is locked until a new one is issued (SPEC §6.1).
pub const MAX_FAILED_ATTEMPTS: u32 = 10;

/// A stored pass, without its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapPass {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: OffsetDateTime,
    pub start: OffsetDateTime,
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
    /// When a one-time pass was consumed by a successful sign-in.
    pub used_at: Option<OffsetDateTime>,
    /// Consecutive wrong codes; a newly issued pass starts at 0.
    pub failed_attempts: u32,
}

impl TapPass {
    /// The first instant at which the pass is no longer valid: start + lifetime.
    pub fn expires_at(&self) -> OffsetDateTime {
        // Saturating: a start near the end of the representable range must not panic.
        self.start
            .saturating_add(Duration::minutes(i64::from(self.lifetime_minutes)))
    }

    /// Whether the pass has taken too many wrong codes to be tried again.
    pub fn is_locked(&self) -> bool {
        self.failed_attempts >= MAX_FAILED_ATTEMPTS
    }

    /// Usability under `policy` for a user whose scope is `in_scope` (see
    /// [`TapPolicy::in_scope`]), at `now`. Checked in this order, first match wins:
    ///
    /// 1. `DisabledByPolicy` — policy disabled, user out of scope, or a multi-use pass while the
    ///    policy now forces one-time use;
    /// 2. `OneTimeUsed` — a one-time pass already used;
    /// 3. `Locked` — [`MAX_FAILED_ATTEMPTS`] wrong codes;
    /// 4. `Expired` — `now ≥ start + lifetime`;
    /// 5. `NotYetValid` — `now < start`;
    /// 6. `EnabledByPolicy`.
    ///
    /// Policy reasons come first because they are what an admin can change. `Expired` precedes
    /// `NotYetValid`, so a pass with zero lifetime is expired from its start and never usable.
    pub fn usability(
        &self,
        policy: &TapPolicy,
        in_scope: bool,
        now: OffsetDateTime,
    ) -> UsabilityReason {
        let forbidden_by_policy = policy.state == PolicyState::Disabled
            || !in_scope
            || (policy.is_usable_once && !self.is_usable_once);
        if forbidden_by_policy {
            UsabilityReason::DisabledByPolicy
        } else if self.is_usable_once && self.used_at.is_some() {
            UsabilityReason::OneTimeUsed
        } else if self.is_locked() {
            UsabilityReason::Locked
        } else if now >= self.expires_at() {
            UsabilityReason::Expired
        } else if now < self.start {
            UsabilityReason::NotYetValid
        } else {
            UsabilityReason::EnabledByPolicy
        }
    }
}

/// What the admin asked for in `POST .../temporaryAccessPassMethods` (all optional).
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    pub start: Option<OffsetDateTime>,
    pub lifetime_minutes: Option<u32>,
    pub is_usable_once: Option<bool>,
}

/// The pass to create once the request has passed every policy check; the caller draws a code of
/// `length` symbols and stores the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuePlan {
    /// Always in UTC, because Graph returns dates in UTC whatever offset the request used.
    pub start: OffsetDateTime,
    pub lifetime_minutes: u32,
    pub is_usable_once: bool,
    /// Code length in symbols of [`CODE_ALPHABET`].
    pub length: usize,
}

impl IssuePlan {
    /// The pass this plan describes, fresh: unused and with no failed attempts.
    pub fn into_pass(self, id: Uuid, user_id: Uuid, created_at: OffsetDateTime) -> TapPass {
        TapPass {
            id,
            user_id,
            created_at,
            start: self.start,
            lifetime_minutes: self.lifetime_minutes,
            is_usable_once: self.is_usable_once,
            used_at: None,
            failed_attempts: 0,
        }
    }
}

/// Message when the TAP method is disabled (tapd wording; SPEC §5.1).
pub const ISSUE_DISABLED_MESSAGE: &str =
    "The Temporary Access Pass method is disabled by the authentication methods policy.";
/// Message when the target is an external guest (Entra's wording).
pub const ISSUE_EXTERNAL_GUEST_MESSAGE: &str =
    "Temporary Access Pass cannot be added to an external guest user.";
/// Message when a multi-use pass is requested while the policy forces one-time use.
pub const ISSUE_ONE_TIME_FORCED_MESSAGE: &str = "isUsableOnce cannot be false: the authentication \
     methods policy requires every Temporary Access Pass to be usable once.";

/// Checks an issue request against the policy and fills in the defaults (SPEC §5.1).
///
/// Refusals, in this order: policy disabled; external guest; lifetime (given or the policy's
/// default) outside the policy's min..=max; `isUsableOnce: false` while the policy forces one-time
/// use. Authorization and the target's existence are checked by the caller before this.
pub fn plan_issue(
    policy: &TapPolicy,
    req: &IssueRequest,
    target_is_external_guest: bool,
    now: OffsetDateTime,
) -> Result<IssuePlan, DomainError> {
    if policy.state == PolicyState::Disabled {
        return Err(DomainError::BadRequest(ISSUE_DISABLED_MESSAGE.to_owned()));
    }
    if target_is_external_guest {
        return Err(DomainError::BadRequest(
            ISSUE_EXTERNAL_GUEST_MESSAGE.to_owned(),
        ));
    }
    let (min, max) = (
        policy.minimum_lifetime_in_minutes,
        policy.maximum_lifetime_in_minutes,
    );
    let lifetime_minutes = req
        .lifetime_minutes
        .unwrap_or(policy.default_lifetime_in_minutes);
    if !(min..=max).contains(&lifetime_minutes) {
        // Entra's exact wording, which scripts may match on.
        return Err(DomainError::BadRequest(format!(
            "Invalid LifetimeInMinutes specified. The valid range between {min} and {max}."
        )));
    }
    if policy.is_usable_once && req.is_usable_once == Some(false) {
        return Err(DomainError::BadRequest(
            ISSUE_ONE_TIME_FORCED_MESSAGE.to_owned(),
        ));
    }
    let start = match req.start {
        Some(start) => crate::check_instant("startDateTime", start)?,
        None => now.to_offset(UtcOffset::UTC),
    };
    Ok(IssuePlan {
        start,
        lifetime_minutes,
        is_usable_once: policy.is_usable_once || req.is_usable_once.unwrap_or(false),
        length: policy.default_length as usize,
    })
}

/// When a session or token issued at `now` with lifetime `ttl` must expire: `min(now + ttl, cap)`.
/// `cap` is the pass expiry when the sign-in was by TAP, so nothing outlives the pass (SPEC §6.2).
pub fn capped_expiry(
    now: OffsetDateTime,
    ttl: Duration,
    cap: Option<OffsetDateTime>,
) -> OffsetDateTime {
    let uncapped = now.saturating_add(ttl);
    match cap {
        Some(cap) => uncapped.min(cap),
        None => uncapped,
    }
}

/// The symbols a code is drawn from (tapd): 64 symbols, so 6 bits each.
///
/// Left out are the glyphs people confuse when reading a code aloud or off a screen: `0 O o` and
/// `1 l I i`, along with `|`, quotes and punctuation that looks like them. The few symbols kept
/// are distinct in common fonts. 64 divides 256, so no random byte is ever rejected.
pub const CODE_ALPHABET: &[u8] =
    b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz#$%&*+=?@";

/// Maps uniformly random bytes to a code of `length` symbols of [`CODE_ALPHABET`], or `None` if
/// the bytes run out first. The caller draws the bytes from the OS CSPRNG.
pub fn code_from_random_bytes(bytes: &[u8], length: usize) -> Option<String> {
    symbols_from_random_bytes(CODE_ALPHABET, bytes, length)
}

/// Rejection sampling: a byte at or above the largest multiple of the alphabet size would make the
/// first symbols more likely than the others, so it is skipped rather than reduced.
fn symbols_from_random_bytes(alphabet: &[u8], bytes: &[u8], length: usize) -> Option<String> {
    let size = alphabet.len();
    let limit = 256 - 256 % size;
    let code: String = bytes
        .iter()
        .map(|&b| usize::from(b))
        .filter(|&b| b < limit)
        .take(length)
        .map(|b| char::from(alphabet[b % size]))
        .collect();
    (code.len() == length).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PolicyState, TapPolicy};
    use proptest::prelude::*;
    use std::collections::HashSet;
    use time::macros::datetime;

    const START: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn pass(lifetime_minutes: u32) -> TapPass {
        TapPass {
            id: Uuid::from_u128(1),
            user_id: Uuid::from_u128(2),
            created_at: START - Duration::hours(1),
            start: START,
            lifetime_minutes,
            is_usable_once: false,
            used_at: None,
            failed_attempts: 0,
        }
    }

    fn bad_request(result: Result<IssuePlan, DomainError>) -> String {
        match result {
            Err(DomainError::BadRequest(message)) => message,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn reasons_serialize_as_graph_spells_them() {
        let cases = [
            (UsabilityReason::EnabledByPolicy, "\"EnabledByPolicy\""),
            (UsabilityReason::DisabledByPolicy, "\"DisabledByPolicy\""),
            (UsabilityReason::OneTimeUsed, "\"OneTimeUsed\""),
            (UsabilityReason::Locked, "\"Locked\""),
            (UsabilityReason::Expired, "\"Expired\""),
            (UsabilityReason::NotYetValid, "\"NotYetValid\""),
        ];
        for (reason, text) in cases {
            assert_eq!(serde_json::to_string(&reason).unwrap(), text);
            assert_eq!(
                serde_json::from_str::<UsabilityReason>(text).unwrap(),
                reason
            );
            assert_eq!(
                reason.is_usable(),
                reason == UsabilityReason::EnabledByPolicy
            );
        }
    }

    #[test]
    fn a_start_outside_the_supported_range_is_refused() {
        for start in [
            datetime!(9999-12-31 23:59:59 -23:59),
            datetime!(9999-12-31 22:00 UTC),
            datetime!(1969-12-31 23:59 UTC),
        ] {
            let req = IssueRequest {
                start: Some(start),
                ..IssueRequest::default()
            };
            let refused = plan_issue(&TapPolicy::default(), &req, false, START).unwrap_err();
            assert!(
                refused.message().contains("between 1970"),
                "{start}: {refused}"
            );
        }
    }

    #[test]
    fn expires_at_is_start_plus_lifetime() {
        assert_eq!(pass(90).expires_at(), datetime!(2025-03-01 13:30 UTC));
        assert_eq!(pass(0).expires_at(), START);
    }

    #[test]
    fn expires_at_saturates_instead_of_panicking() {
        let mut far = pass(u32::MAX);
        far.start = datetime!(9999-12-31 23:00 UTC);
        assert!(far.expires_at() >= far.start);
    }

    #[test]
    fn usable_from_exactly_start_until_just_before_expiry() {
        let policy = TapPolicy::default();
        let p = pass(60);
        assert_eq!(
            p.usability(&policy, true, START),
            UsabilityReason::EnabledByPolicy
        );
        assert_eq!(
            p.usability(
                &policy,
                true,
                START + Duration::minutes(60) - Duration::nanoseconds(1)
            ),
            UsabilityReason::EnabledByPolicy
        );
    }

    #[test]
    fn exactly_at_expiry_is_expired() {
        let p = pass(60);
        assert_eq!(
            p.usability(&TapPolicy::default(), true, START + Duration::minutes(60)),
            UsabilityReason::Expired
        );
    }

    #[test]
    fn just_before_start_is_not_yet_valid() {
        let p = pass(60);
        assert_eq!(
            p.usability(
                &TapPolicy::default(),
                true,
                START - Duration::nanoseconds(1)
            ),
            UsabilityReason::NotYetValid
        );
    }

    #[test]
    fn instants_compare_across_offsets() {
        // 13:30+02:00 is 11:30 UTC: before the start.
        let p = pass(60);
        assert_eq!(
            p.usability(&TapPolicy::default(), true, datetime!(2025-03-01 13:30 +2)),
            UsabilityReason::NotYetValid
        );
    }

    #[test]
    fn disabled_policy_out_of_scope_or_forced_one_time_is_disabled_by_policy() {
        let now = START + Duration::minutes(1);
        let disabled = TapPolicy {
            state: PolicyState::Disabled,
            ..TapPolicy::default()
        };
        assert_eq!(
            pass(60).usability(&disabled, true, now),
            UsabilityReason::DisabledByPolicy
        );
        assert_eq!(
            pass(60).usability(&TapPolicy::default(), false, now),
            UsabilityReason::DisabledByPolicy
        );
        let forced = TapPolicy {
            is_usable_once: true,
            ..TapPolicy::default()
        };
        assert_eq!(
            pass(60).usability(&forced, true, now),
            UsabilityReason::DisabledByPolicy
        );
        let one_time = TapPass {
            is_usable_once: true,
            ..pass(60)
        };
        assert_eq!(
            one_time.usability(&forced, true, now),
            UsabilityReason::EnabledByPolicy
        );
    }

    #[test]
    fn used_one_time_pass_is_one_time_used_but_used_multi_use_pass_is_not() {
        let now = START + Duration::minutes(1);
        let used = TapPass {
            is_usable_once: true,
            used_at: Some(START),
            ..pass(60)
        };
        assert_eq!(
            used.usability(&TapPolicy::default(), true, now),
            UsabilityReason::OneTimeUsed
        );
        let multi = TapPass {
            used_at: Some(START),
            ..pass(60)
        };
        assert_eq!(
            multi.usability(&TapPolicy::default(), true, now),
            UsabilityReason::EnabledByPolicy
        );
    }

    #[test]
    fn locked_after_max_failed_attempts() {
        let now = START + Duration::minutes(1);
        let nine = TapPass {
            failed_attempts: MAX_FAILED_ATTEMPTS - 1,
            ..pass(60)
        };
        assert_eq!(
            nine.usability(&TapPolicy::default(), true, now),
            UsabilityReason::EnabledByPolicy
        );
        let ten = TapPass {
            failed_attempts: MAX_FAILED_ATTEMPTS,
            ..pass(60)
        };
        assert!(ten.is_locked());
        assert_eq!(
            ten.usability(&TapPolicy::default(), true, now),
            UsabilityReason::Locked
        );
    }

    #[test]
    fn each_reason_outranks_the_next() {
        let policy = TapPolicy::default();
        let after_expiry = START + Duration::minutes(61);
        let used_locked_expired = TapPass {
            is_usable_once: true,
            used_at: Some(START),
            failed_attempts: MAX_FAILED_ATTEMPTS,
            ..pass(60)
        };
        assert_eq!(
            used_locked_expired.usability(&policy, false, after_expiry),
            UsabilityReason::DisabledByPolicy
        );
        assert_eq!(
            used_locked_expired.usability(&policy, true, after_expiry),
            UsabilityReason::OneTimeUsed
        );
        let locked_expired = TapPass {
            used_at: None,
            ..used_locked_expired
        };
        assert_eq!(
            locked_expired.usability(&policy, true, after_expiry),
            UsabilityReason::Locked
        );
        // Zero lifetime: expiry equals start, so at start the pass is expired, not "not yet valid".
        assert_eq!(
            pass(0).usability(&policy, true, START),
            UsabilityReason::Expired
        );
    }

    #[test]
    fn plan_defaults_come_from_policy_and_now() {
        let policy = TapPolicy {
            default_lifetime_in_minutes: 120,
            default_length: 12,
            ..TapPolicy::default()
        };
        let plan = plan_issue(&policy, &IssueRequest::default(), false, START).unwrap();
        assert_eq!(
            plan,
            IssuePlan {
                start: START,
                lifetime_minutes: 120,
                is_usable_once: false,
                length: 12
            }
        );
    }

    #[test]
    fn plan_takes_the_requested_values_and_converts_start_to_utc() {
        let req = IssueRequest {
            start: Some(datetime!(2025-03-02 10:00 +2)),
            lifetime_minutes: Some(480),
            is_usable_once: Some(true),
        };
        let plan = plan_issue(&TapPolicy::default(), &req, false, START).unwrap();
        assert_eq!(plan.start, datetime!(2025-03-02 08:00 UTC));
        assert_eq!(plan.start.offset(), UtcOffset::UTC);
        assert_eq!(plan.lifetime_minutes, 480);
        assert!(plan.is_usable_once);
    }

    #[test]
    fn plan_forces_one_time_when_the_policy_does() {
        let forced = TapPolicy {
            is_usable_once: true,
            ..TapPolicy::default()
        };
        for asked in [None, Some(true)] {
            let req = IssueRequest {
                is_usable_once: asked,
                ..IssueRequest::default()
            };
            assert!(
                plan_issue(&forced, &req, false, START)
                    .unwrap()
                    .is_usable_once
            );
        }
    }

    #[test]
    fn plan_refuses_when_policy_disabled() {
        let disabled = TapPolicy {
            state: PolicyState::Disabled,
            ..TapPolicy::default()
        };
        assert_eq!(
            bad_request(plan_issue(
                &disabled,
                &IssueRequest::default(),
                false,
                START
            )),
            "The Temporary Access Pass method is disabled by the authentication methods policy."
        );
    }

    #[test]
    fn plan_refuses_external_guests() {
        assert_eq!(
            bad_request(plan_issue(
                &TapPolicy::default(),
                &IssueRequest::default(),
                true,
                START
            )),
            "Temporary Access Pass cannot be added to an external guest user."
        );
    }

    #[test]
    fn plan_refuses_lifetimes_outside_policy_range_with_entras_message() {
        let policy = TapPolicy::default();
        for lifetime in [59, 481, 0] {
            let req = IssueRequest {
                lifetime_minutes: Some(lifetime),
                ..IssueRequest::default()
            };
            assert_eq!(
                bad_request(plan_issue(&policy, &req, false, START)),
                "Invalid LifetimeInMinutes specified. The valid range between 60 and 480."
            );
        }
        for lifetime in [60, 480] {
            let req = IssueRequest {
                lifetime_minutes: Some(lifetime),
                ..IssueRequest::default()
            };
            assert_eq!(
                plan_issue(&policy, &req, false, START)
                    .unwrap()
                    .lifetime_minutes,
                lifetime
            );
        }
    }

    #[test]
    fn plan_refuses_multi_use_when_policy_forces_one_time() {
        let forced = TapPolicy {
            is_usable_once: true,
            ..TapPolicy::default()
        };
        let req = IssueRequest {
            is_usable_once: Some(false),
            ..IssueRequest::default()
        };
        assert_eq!(
            bad_request(plan_issue(&forced, &req, false, START)),
            ISSUE_ONE_TIME_FORCED_MESSAGE
        );
        assert!(ISSUE_ONE_TIME_FORCED_MESSAGE.contains("isUsableOnce"));
    }

    #[test]
    fn plan_refusals_come_in_spec_order() {
        let everything_wrong = TapPolicy {
            state: PolicyState::Disabled,
            is_usable_once: true,
            ..TapPolicy::default()
        };
        let bad_req = IssueRequest {
            lifetime_minutes: Some(1),
            is_usable_once: Some(false),
            ..IssueRequest::default()
        };
        assert_eq!(
            bad_request(plan_issue(&everything_wrong, &bad_req, true, START)),
            ISSUE_DISABLED_MESSAGE
        );
        let enabled = TapPolicy {
            state: PolicyState::Enabled,
            ..everything_wrong
        };
        assert_eq!(
            bad_request(plan_issue(&enabled, &bad_req, true, START)),
            ISSUE_EXTERNAL_GUEST_MESSAGE
        );
        assert!(
            bad_request(plan_issue(&enabled, &bad_req, false, START))
                .starts_with("Invalid LifetimeInMinutes")
        );
    }

    #[test]
    fn plan_becomes_a_fresh_pass() {
        let plan = plan_issue(
            &TapPolicy::default(),
            &IssueRequest::default(),
            false,
            START,
        )
        .unwrap();
        let p = plan.into_pass(Uuid::from_u128(7), Uuid::from_u128(8), START);
        assert_eq!(p.id, Uuid::from_u128(7));
        assert_eq!(p.user_id, Uuid::from_u128(8));
        assert_eq!(p.created_at, START);
        assert_eq!(p.expires_at(), START + Duration::minutes(60));
        assert_eq!((p.used_at, p.failed_attempts), (None, 0));
        assert_eq!(
            p.usability(&TapPolicy::default(), true, START),
            UsabilityReason::EnabledByPolicy
        );
    }

    #[test]
    fn capped_expiry_fixed_cases() {
        let ttl = Duration::hours(1);
        assert_eq!(capped_expiry(START, ttl, None), START + ttl);
        let early_cap = START + Duration::minutes(10);
        assert_eq!(capped_expiry(START, ttl, Some(early_cap)), early_cap);
        let late_cap = START + Duration::hours(5);
        assert_eq!(capped_expiry(START, ttl, Some(late_cap)), START + ttl);
    }

    #[test]
    fn alphabet_has_at_least_56_unique_symbols_and_no_look_alikes() {
        let unique: HashSet<u8> = CODE_ALPHABET.iter().copied().collect();
        assert_eq!(unique.len(), CODE_ALPHABET.len(), "duplicate symbols");
        assert!(unique.len() >= 56, "only {} symbols", unique.len());
        for confusable in b"0Oo1lIi|" {
            assert!(!unique.contains(confusable), "{}", char::from(*confusable));
        }
        assert!(CODE_ALPHABET.iter().all(|b| b.is_ascii_graphic()));
    }

    #[test]
    fn every_byte_maps_and_each_symbol_is_equally_likely() {
        let all_bytes: Vec<u8> = (0..=255).collect();
        let code = code_from_random_bytes(&all_bytes, 256).unwrap();
        for &symbol in CODE_ALPHABET {
            let count = code.bytes().filter(|&b| b == symbol).count();
            assert_eq!(count, 256 / CODE_ALPHABET.len(), "{}", char::from(symbol));
        }
    }

    #[test]
    fn bytes_above_the_largest_multiple_are_skipped() {
        // 56 symbols: 224 is the largest multiple below 256, so 224..=255 must be skipped.
        let alphabet = &CODE_ALPHABET[..56];
        let code = symbols_from_random_bytes(alphabet, &[224, 0, 255, 55, 223], 3).unwrap();
        let expected: String = [alphabet[0], alphabet[55], alphabet[223 % 56]]
            .iter()
            .map(|&b| char::from(b))
            .collect();
        assert_eq!(code, expected);
        assert_eq!(symbols_from_random_bytes(alphabet, &[224, 255, 0], 2), None);
    }

    #[test]
    fn running_out_of_bytes_gives_none() {
        assert_eq!(code_from_random_bytes(&[1, 2, 3], 4), None);
        assert_eq!(code_from_random_bytes(&[], 0), Some(String::new()));
    }

    fn instant() -> impl Strategy<Value = OffsetDateTime> {
        // 2000..2100, any second and nanosecond, any whole-hour offset.
        (
            946_684_800i64..4_102_444_800,
            0u32..1_000_000_000,
            -12i8..=14,
        )
            .prop_map(|(secs, nanos, hours)| {
                (OffsetDateTime::from_unix_timestamp(secs).unwrap()
                    + Duration::nanoseconds(nanos.into()))
                .to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap())
            })
    }

    fn any_policy() -> impl Strategy<Value = TapPolicy> {
        (any::<bool>(), any::<bool>()).prop_map(|(enabled, once)| TapPolicy {
            state: if enabled {
                PolicyState::Enabled
            } else {
                PolicyState::Disabled
            },
            is_usable_once: once,
            ..TapPolicy::default()
        })
    }

    fn any_pass() -> impl Strategy<Value = TapPass> {
        (
            instant(),
            0u32..=50_000,
            any::<bool>(),
            any::<bool>(),
            0u32..=15,
        )
            .prop_map(
                |(start, lifetime_minutes, is_usable_once, used, failed_attempts)| TapPass {
                    start,
                    lifetime_minutes,
                    is_usable_once,
                    used_at: used.then_some(start),
                    failed_attempts,
                    ..pass(0)
                },
            )
    }

    /// `now` near the pass's interesting instants as often as anywhere else.
    fn now_for(p: &TapPass) -> impl Strategy<Value = OffsetDateTime> + use<> {
        let (start, expiry) = (p.start, p.expires_at());
        prop_oneof![
            Just(start),
            Just(expiry),
            (-3_000_000_000i64..3_000_000_000)
                .prop_map(move |ms| start + Duration::milliseconds(ms)),
            (-1_000i64..1_000).prop_map(move |ns| expiry + Duration::nanoseconds(ns)),
        ]
    }

    proptest! {
        #[test]
        fn usability_is_the_first_matching_rule(
            (p, now) in any_pass().prop_flat_map(|p| { let now = now_for(&p); (Just(p), now) }),
            policy in any_policy(),
            in_scope in any::<bool>(),
        ) {
            let expiry = p.start + Duration::minutes(i64::from(p.lifetime_minutes));
            let rules = [
                (
                    UsabilityReason::DisabledByPolicy,
                    policy.state == PolicyState::Disabled
                        || !in_scope
                        || (policy.is_usable_once && !p.is_usable_once),
                ),
                (UsabilityReason::OneTimeUsed, p.is_usable_once && p.used_at.is_some()),
                (UsabilityReason::Locked, p.failed_attempts >= MAX_FAILED_ATTEMPTS),
                (UsabilityReason::Expired, now >= expiry),
                (UsabilityReason::NotYetValid, now < p.start),
            ];
            let expected = rules
                .iter()
                .find(|(_, holds)| *holds)
                .map_or(UsabilityReason::EnabledByPolicy, |(reason, _)| *reason);
            let actual = p.usability(&policy, in_scope, now);
            prop_assert_eq!(actual, expected);
            prop_assert_eq!(
                actual.is_usable(),
                rules.iter().all(|(_, holds)| !holds) && p.start <= now && now < expiry
            );
        }

        #[test]
        fn capped_expiry_is_never_later_than_cap_or_ttl(
            now in instant(),
            ttl_secs in 0i64..100_000_000,
            cap in proptest::option::of(instant()),
        ) {
            let ttl = Duration::seconds(ttl_secs);
            let expiry = capped_expiry(now, ttl, cap);
            prop_assert!(expiry <= now + ttl);
            if let Some(cap) = cap {
                prop_assert!(expiry <= cap);
                // And no earlier than needed: it is one of the two bounds.
                prop_assert!(expiry == cap || expiry == now + ttl);
            } else {
                prop_assert_eq!(expiry, now + ttl);
            }
        }

        #[test]
        fn codes_have_the_exact_length_and_only_alphabet_symbols(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            length in 0usize..=48,
        ) {
            match code_from_random_bytes(&bytes, length) {
                Some(code) => {
                    prop_assert_eq!(code.len(), length);
                    prop_assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
                }
                // With 64 symbols no byte is skipped, so only a short input runs out.
                None => prop_assert!(bytes.len() < length),
            }
        }

        #[test]
        fn rejection_sampling_only_uses_bytes_below_the_limit(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            size in 56usize..=64,
            length in 0usize..=48,
        ) {
            let alphabet = &CODE_ALPHABET[..size];
            let limit = 256 - 256 % size;
            let accepted: Vec<u8> = bytes.iter().copied().filter(|&b| usize::from(b) < limit).collect();
            let result = symbols_from_random_bytes(alphabet, &bytes, length);
            if accepted.len() < length {
                prop_assert_eq!(result, None);
            } else {
                let expected: String = accepted[..length]
                    .iter()
                    .map(|&b| char::from(alphabet[usize::from(b) % size]))
                    .collect();
                prop_assert_eq!(result, Some(expected));
            }
        }
    }
}
