//! A PATCH of the authentication methods policy's TAP and FIDO2 configurations: any JSON body
//! either fails to deserialize, or is applied to the default configuration giving a valid one,
//! or is refused whole with a 400 — the same verdict `check` gives — and never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tapd_core::{DomainError, EnforcementType, Fido2Patch, Fido2Policy, PolicyPatch, TapPolicy};

fuzz_target!(|data: &[u8]| {
    if let Ok(patch) = serde_json::from_slice::<PolicyPatch>(data) {
        tap(patch);
    }
    if let Ok(patch) = serde_json::from_slice::<Fido2Patch>(data) {
        fido2(patch);
    }
});

fn tap(patch: PolicyPatch) {
    let base = TapPolicy::default();
    let merged = base.merged(patch.clone());
    match (base.apply(patch), merged.check()) {
        (Ok(applied), Ok(())) => {
            assert_eq!(applied, merged);
            assert_eq!(applied.validate(), Ok(()));
            let json = serde_json::to_string(&applied).unwrap();
            assert_eq!(serde_json::from_str::<TapPolicy>(&json).unwrap(), applied);
            let _ = applied.in_scope("8f4b0a34-5f4d-4c1b-9d1e-2a7c3f9b6e01", &["g".into()]);
            let _ = applied.needs_groups();
        }
        (Err(e), Err(violation)) => {
            assert_eq!(e, DomainError::BadRequest(violation.graph_message()));
        }
        (applied, checked) => panic!("apply {applied:?} but check {checked:?}"),
    }
}

fn fido2(patch: Fido2Patch) {
    match Fido2Policy::default().apply(patch) {
        Ok(applied) => {
            assert_eq!(applied.validate(), Ok(()));
            let json = serde_json::to_string(&applied).unwrap();
            assert_eq!(serde_json::from_str::<Fido2Policy>(&json).unwrap(), applied);
            let _ = applied.may_self_register("u", &["g".into()]);
            let keys = &applied.key_restrictions;
            for &aaguid in &keys.aa_guids {
                let admitted = applied.admits_authenticator(aaguid).is_ok();
                let listed_wins = keys.enforcement_type == EnforcementType::Allow;
                assert_eq!(admitted, !keys.is_enforced || listed_wins);
            }
            let _ = applied.covers_everyone();
        }
        Err(e) => assert!(matches!(e, DomainError::BadRequest(_)), "{e:?}"),
    }
}
