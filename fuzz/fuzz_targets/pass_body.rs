//! The body of `POST .../temporaryAccessPassMethods`, turned into a plan the way the server
//! does it (graph/methods.rs `CreateTap`, service/passes.rs `issue`): JSON in, a pass whose
//! lifetime fits the policy and whose expiry is representable, or a 400 — never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use tapd_core::{
    DomainError, IssuePlan, IssueRequest, PolicyState, TapPolicy, capped_expiry, format_time,
    parse_time, plan_issue,
};
use time::{Duration, OffsetDateTime};

/// The server's `CreateTap`, field for field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateTap {
    start_date_time: Option<String>,
    lifetime_in_minutes: Option<i64>,
    is_usable_once: Option<bool>,
}

/// The request the service builds: any out-of-range number gets the policy's range message.
fn request(body: CreateTap) -> Result<IssueRequest, DomainError> {
    let start = body
        .start_date_time
        .as_deref()
        .map(|s| parse_time("startDateTime", s))
        .transpose()?;
    let lifetime = body
        .lifetime_in_minutes
        .map(|m| u32::try_from(m).unwrap_or(if m < 0 { 0 } else { u32::MAX }));
    Ok(IssueRequest {
        start,
        lifetime_minutes: lifetime,
        is_usable_once: body.is_usable_once,
    })
}

fn policies() -> [TapPolicy; 3] {
    let widest = TapPolicy {
        minimum_lifetime_in_minutes: 10,
        maximum_lifetime_in_minutes: 43_200,
        is_usable_once: true,
        default_length: 48,
        ..TapPolicy::default()
    };
    let disabled = TapPolicy {
        state: PolicyState::Disabled,
        ..TapPolicy::default()
    };
    [TapPolicy::default(), widest, disabled]
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<CreateTap>(data) else {
        return;
    };
    let now = parse_time("now", "2026-05-23T06:00:00.123456789Z").unwrap();
    let req = match request(body) {
        Ok(req) => req,
        Err(e) => {
            assert!(matches!(e, DomainError::BadRequest(_)));
            return;
        }
    };
    for policy in policies() {
        for external in [false, true] {
            match plan_issue(&policy, &req, external, now) {
                Ok(plan) => {
                    assert!(!external, "an external guest got a pass");
                    planned(&policy, &req, plan, now)
                }
                Err(e) => assert!(matches!(e, DomainError::BadRequest(_))),
            }
        }
    }
});

fn planned(policy: &TapPolicy, req: &IssueRequest, plan: IssuePlan, now: OffsetDateTime) {
    assert_eq!(policy.state, PolicyState::Enabled);
    let range = policy.minimum_lifetime_in_minutes..=policy.maximum_lifetime_in_minutes;
    assert!(range.contains(&plan.lifetime_minutes));
    assert!(plan.is_usable_once || !policy.is_usable_once);
    assert_eq!(
        plan.is_usable_once,
        policy.is_usable_once || req.is_usable_once == Some(true)
    );
    assert_eq!(plan.length, policy.default_length as usize);
    assert_eq!(
        format_time(plan.start),
        format_time(req.start.unwrap_or(now))
    );
    let lifetime = Duration::minutes(i64::from(plan.lifetime_minutes));
    let expires = plan
        .start
        .checked_add(lifetime)
        .expect("the expiry is representable");
    let pass = plan.into_pass(Default::default(), Default::default(), now);
    assert_eq!(pass.expires_at(), expires);
    assert!(!format_time(expires).is_empty());
    // What a sign-in with it yields ends with it.
    assert!(capped_expiry(now, Duration::days(1), Some(expires)) <= expires);
    let _ = pass.usability(policy, true, now);
}
