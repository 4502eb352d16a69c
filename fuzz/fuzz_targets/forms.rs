//! The admin policy page's form: any set of fields either makes a patch — which the policy's
//! rule then accepts or refuses as it would the same patch through Graph — or names a number
//! field that isn't a whole number; never a panic.
//!
//! Input: the form body, split on `&` and `=` as already decoded (percent-decoding is
//! `form_urlencoded`'s, in the server).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tapd_core::{DomainError, NotANumber, PolicyField, PolicyForm, TapPolicy};

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let pairs: Vec<(String, String)> = body
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let form = PolicyForm(&pairs);
    let patch = match form.patch() {
        Ok(patch) => patch,
        Err(NotANumber(field)) => {
            let name = match field {
                PolicyField::MinimumLifetime => "min",
                PolicyField::MaximumLifetime => "max",
                PolicyField::DefaultLifetime => "default",
                PolicyField::DefaultLength => "length",
            };
            // Digits are a number, however many: the rule's range is what refuses them.
            let sent = form.field(name).unwrap_or("").trim();
            let digits = sent.strip_prefix('+').unwrap_or(sent);
            assert!(
                digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()),
                "{name}={sent:?} is a whole number"
            );
            return;
        }
    };
    assert_eq!(
        patch.include_targets.as_ref().map(Vec::len),
        Some(form.fields("include").len())
    );
    assert_eq!(
        patch.exclude_targets.as_ref().map(Vec::len),
        Some(form.fields("exclude").len())
    );
    let base = TapPolicy::default();
    let merged = base.merged(patch.clone());
    match (base.apply(patch), merged.check()) {
        (Ok(applied), Ok(())) => assert_eq!(applied, merged),
        (Err(e), Err(violation)) => {
            assert_eq!(e, DomainError::BadRequest(violation.graph_message()))
        }
        (applied, checked) => panic!("apply {applied:?} but check {checked:?}"),
    }
});
