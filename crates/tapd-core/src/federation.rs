//! Federation (SPEC §8): a domain whose users authenticate at another identity provider, which
//! tapd speaks OpenID Connect to. This module holds the pure rules: what
//! `federatedIdpMfaBehavior` makes of the provider's `amr`, and whether the provider did
//! multi-factor authentication at all.

use serde::{Deserialize, Serialize};

/// Graph's `federatedIdpMfaBehavior`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MfaBehavior {
    /// The provider's MFA counts when it did one.
    AcceptIfMfaDoneByFederatedIdp,
    /// The provider must do the MFA: a sign-in without it is refused.
    EnforceMfaByFederatedIdp,
    /// The provider's MFA never counts: MFA is tapd's to do.
    RejectMfaByFederatedIdp,
}

impl MfaBehavior {
    pub const ALL: [MfaBehavior; 3] = [
        MfaBehavior::AcceptIfMfaDoneByFederatedIdp,
        MfaBehavior::EnforceMfaByFederatedIdp,
        MfaBehavior::RejectMfaByFederatedIdp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MfaBehavior::AcceptIfMfaDoneByFederatedIdp => "acceptIfMfaDoneByFederatedIdp",
            MfaBehavior::EnforceMfaByFederatedIdp => "enforceMfaByFederatedIdp",
            MfaBehavior::RejectMfaByFederatedIdp => "rejectMfaByFederatedIdp",
        }
    }

    pub fn parse(s: &str) -> Option<MfaBehavior> {
        MfaBehavior::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// The provider's `amr` values (RFC 8176) that are multi-factor by themselves: `mfa`, and the
/// methods tapd itself counts as strong — a passkey with user verification (`fido`) and a
/// Temporary Access Pass (`tap`), which Entra treats as satisfying MFA.
const MULTI_FACTOR: [&str; 3] = ["mfa", "fido", "tap"];

/// Whether the provider's `amr` says it did multi-factor authentication.
pub fn provider_did_mfa(amr: &[String]) -> bool {
    amr.iter().any(|a| MULTI_FACTOR.contains(&a.as_str()))
}

/// Why a federated sign-in is refused by the MFA rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MfaRequired;

/// The `amr` tapd records for a federated sign-in: `fed`, with `mfa` when the provider's MFA
/// counts under `behavior`; a refusal when the behavior demands an MFA the provider didn't do.
pub fn federated_amr(
    behavior: MfaBehavior,
    upstream: &[String],
) -> Result<&'static str, MfaRequired> {
    let did_mfa = provider_did_mfa(upstream);
    match behavior {
        MfaBehavior::AcceptIfMfaDoneByFederatedIdp if did_mfa => Ok("fed mfa"),
        MfaBehavior::AcceptIfMfaDoneByFederatedIdp => Ok("fed"),
        MfaBehavior::EnforceMfaByFederatedIdp if did_mfa => Ok("fed mfa"),
        MfaBehavior::EnforceMfaByFederatedIdp => Err(MfaRequired),
        MfaBehavior::RejectMfaByFederatedIdp => Ok("fed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amr(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn each_behavior_makes_its_amr_of_the_providers() {
        let strong = amr(&["pwd", "mfa"]);
        let weak = amr(&["pwd"]);
        use MfaBehavior::*;
        assert_eq!(
            federated_amr(AcceptIfMfaDoneByFederatedIdp, &strong),
            Ok("fed mfa")
        );
        assert_eq!(
            federated_amr(AcceptIfMfaDoneByFederatedIdp, &weak),
            Ok("fed")
        );
        assert_eq!(
            federated_amr(EnforceMfaByFederatedIdp, &strong),
            Ok("fed mfa")
        );
        assert_eq!(
            federated_amr(EnforceMfaByFederatedIdp, &weak),
            Err(MfaRequired)
        );
        assert_eq!(federated_amr(RejectMfaByFederatedIdp, &strong), Ok("fed"));
        assert_eq!(federated_amr(RejectMfaByFederatedIdp, &weak), Ok("fed"));
        assert_eq!(
            federated_amr(EnforceMfaByFederatedIdp, &[]),
            Err(MfaRequired)
        );
    }

    #[test]
    fn passkeys_and_passes_are_multi_factor_passwords_are_not() {
        assert!(provider_did_mfa(&amr(&["fido"])));
        assert!(provider_did_mfa(&amr(&["tap"])));
        assert!(provider_did_mfa(&amr(&["pwd", "otp", "mfa"])));
        assert!(!provider_did_mfa(&amr(&["pwd"])));
        assert!(
            !provider_did_mfa(&amr(&["MFA"])),
            "amr values are case-sensitive"
        );
        assert!(!provider_did_mfa(&[]));
    }

    #[test]
    fn behaviors_have_graphs_names() {
        for b in MfaBehavior::ALL {
            assert_eq!(MfaBehavior::parse(b.as_str()), Some(b));
            let json = serde_json::to_value(b).expect("serialize");
            assert_eq!(json, serde_json::json!(b.as_str()));
        }
        assert_eq!(MfaBehavior::parse("acceptifmfadonebyfederatedidp"), None);
    }

    proptest! {
        #[test]
        fn rejecting_never_claims_mfa_and_enforcing_never_lets_a_weak_sign_in_through(
            values in prop::collection::vec("[a-z]{1,5}", 0..5)
        ) {
            prop_assert_eq!(federated_amr(MfaBehavior::RejectMfaByFederatedIdp, &values), Ok("fed"));
            let enforced = federated_amr(MfaBehavior::EnforceMfaByFederatedIdp, &values);
            prop_assert_eq!(enforced.is_ok(), provider_did_mfa(&values));
        }
    }
}
