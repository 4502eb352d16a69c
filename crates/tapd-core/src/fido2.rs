//! The FIDO2 (passkey) configuration of the authentication methods policy: its fields and
//! defaults, the validity rule every stored configuration obeys, PATCH merging, and the
//! registration rule — who may register a passkey and which authenticators (by AAGUID) they
//! may register.
//!
//! Field names serialize in Graph's camelCase, as `fido2AuthenticationMethodConfiguration`.
//!
//! Attestation: webauthn_rp 0.3.0, tapd's WebAuthn library, always asks browsers for `none`
//! attestation and accepts only `none` and packed *self* attestation; a packed statement with a
//! certificate chain (`x5c`) is refused by its parser, so no statement can be checked against
//! trust anchors. `isAttestationEnforced: true` is therefore refused (never stored and ignored),
//! and an AAGUID is what the authenticator says about itself, unverified.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;
use crate::policy::{ALL_USERS, PolicyState, PolicyTarget, check_targets, names_groups, targeted};

/// Most AAGUIDs one key restriction list may hold.
pub const MAX_AAGUIDS: usize = 500;

/// Why `isAttestationEnforced: true` is refused.
pub const ATTESTATION_UNSUPPORTED_MESSAGE: &str = "isAttestationEnforced can't be enabled: \
    tapd's WebAuthn library (webauthn_rp 0.3.0) requests 'none' attestation and accepts only \
    'none' and packed self attestation, so it can't verify an attestation statement against \
    trust anchors. tapd refuses a setting it can't enforce.";

/// Whether the AAGUID list allows only the listed authenticators, or blocks them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum EnforcementType {
    Allow,
    Block,
}

/// Graph's `fido2KeyRestrictions`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyRestrictions {
    pub is_enforced: bool,
    pub enforcement_type: EnforcementType,
    pub aa_guids: Vec<Uuid>,
}

impl Default for KeyRestrictions {
    fn default() -> Self {
        KeyRestrictions {
            is_enforced: false,
            enforcement_type: EnforcementType::Block,
            aa_guids: Vec::new(),
        }
    }
}

/// The FIDO2 method configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Policy {
    pub state: PolicyState,
    pub is_self_service_registration_allowed: bool,
    pub is_attestation_enforced: bool,
    pub key_restrictions: KeyRestrictions,
    pub include_targets: Vec<PolicyTarget>,
    pub exclude_targets: Vec<PolicyTarget>,
}

impl Default for Fido2Policy {
    /// Enabled for everyone (tapd): registering a passkey after a pass sign-in is what tapd is
    /// for. Attestation is off because tapd can't enforce it.
    fn default() -> Self {
        Fido2Policy {
            state: PolicyState::Enabled,
            is_self_service_registration_allowed: true,
            is_attestation_enforced: false,
            key_restrictions: KeyRestrictions::default(),
            include_targets: vec![PolicyTarget::all_users()],
            exclude_targets: Vec::new(),
        }
    }
}

/// A PATCH of `keyRestrictions`: the fields given replace the stored ones. AAGUIDs arrive as
/// text so that a malformed one is refused naming its position.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct KeyRestrictionsPatch {
    pub is_enforced: Option<bool>,
    pub enforcement_type: Option<EnforcementType>,
    pub aa_guids: Option<Vec<String>>,
}

/// A PATCH body: only the fields to change. Unknown properties (`@odata.type`, `id`) are
/// ignored, as for the TAP configuration.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Patch {
    pub state: Option<PolicyState>,
    pub is_self_service_registration_allowed: Option<bool>,
    pub is_attestation_enforced: Option<bool>,
    pub key_restrictions: Option<KeyRestrictionsPatch>,
    pub include_targets: Option<Vec<PolicyTarget>>,
    pub exclude_targets: Option<Vec<PolicyTarget>>,
}

/// Why a passkey may not be registered, naming the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fido2Refusal {
    Disabled,
    NotTargeted,
    SelfServiceNotAllowed,
    NotOnAllowList(Uuid),
    OnBlockList(Uuid),
}

impl std::fmt::Display for Fido2Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const RULE: &str = "the authentication methods policy's FIDO2 configuration";
        match self {
            Fido2Refusal::Disabled => {
                write!(
                    f,
                    "Passkeys can't be registered: {RULE} is disabled (state)."
                )
            }
            Fido2Refusal::NotTargeted => write!(
                f,
                "Passkeys can't be registered for this user: {RULE} does not include them \
                 (includeTargets/excludeTargets)."
            ),
            Fido2Refusal::SelfServiceNotAllowed => write!(
                f,
                "Passkeys can't be registered by users themselves: {RULE} does not allow \
                 self-service registration (isSelfServiceRegistrationAllowed)."
            ),
            Fido2Refusal::NotOnAllowList(aaguid) => write!(
                f,
                "This passkey's authenticator (AAGUID {aaguid}) is not allowed: {RULE} \
                 allows only listed authenticators (keyRestrictions, enforcementType allow)."
            ),
            Fido2Refusal::OnBlockList(aaguid) => write!(
                f,
                "This passkey's authenticator (AAGUID {aaguid}) is blocked by {RULE} \
                 (keyRestrictions, enforcementType block)."
            ),
        }
    }
}

impl Fido2Policy {
    /// Checks what a stored configuration must satisfy; the first broken rule is a
    /// [`DomainError::BadRequest`] naming the property.
    pub fn validate(&self) -> Result<(), DomainError> {
        let bad = DomainError::BadRequest;
        if self.is_attestation_enforced {
            return Err(bad(ATTESTATION_UNSUPPORTED_MESSAGE.to_owned()));
        }
        let keys = &self.key_restrictions;
        if keys.aa_guids.len() > MAX_AAGUIDS {
            return Err(bad(format!(
                "keyRestrictions.aaGuids may hold at most {MAX_AAGUIDS} AAGUIDs; got {}.",
                keys.aa_guids.len()
            )));
        }
        if keys.is_enforced
            && keys.enforcement_type == EnforcementType::Allow
            && keys.aa_guids.is_empty()
        {
            return Err(bad(
                "keyRestrictions: an enforced allow list must name at least one \
                 AAGUID in aaGuids; an empty one would refuse every passkey."
                    .to_owned(),
            ));
        }
        check_targets("includeTargets", &self.include_targets)
            .and_then(|()| check_targets("excludeTargets", &self.exclude_targets))
            .map_err(|v| bad(v.graph_message()))
    }

    /// Merges a PATCH into a copy and returns it if valid; a refused patch changes nothing.
    pub fn apply(&self, patch: Fido2Patch) -> Result<Fido2Policy, DomainError> {
        let key_restrictions = match patch.key_restrictions {
            None => self.key_restrictions.clone(),
            Some(k) => KeyRestrictions {
                is_enforced: k.is_enforced.unwrap_or(self.key_restrictions.is_enforced),
                enforcement_type: k
                    .enforcement_type
                    .unwrap_or(self.key_restrictions.enforcement_type),
                aa_guids: match k.aa_guids {
                    Some(list) => parse_aaguids(&list)?,
                    None => self.key_restrictions.aa_guids.clone(),
                },
            },
        };
        let merged = Fido2Policy {
            state: patch.state.unwrap_or(self.state),
            is_self_service_registration_allowed: patch
                .is_self_service_registration_allowed
                .unwrap_or(self.is_self_service_registration_allowed),
            is_attestation_enforced: patch
                .is_attestation_enforced
                .unwrap_or(self.is_attestation_enforced),
            key_restrictions,
            include_targets: patch
                .include_targets
                .unwrap_or_else(|| self.include_targets.clone()),
            exclude_targets: patch
                .exclude_targets
                .unwrap_or_else(|| self.exclude_targets.clone()),
        };
        merged.validate()?;
        Ok(merged)
    }

    /// Whether targeting depends on group membership beyond `all_users`.
    pub fn needs_groups(&self) -> bool {
        names_groups(&self.include_targets, &self.exclude_targets)
    }

    /// Whether everyone is in scope whatever their groups: enabled, `all_users` included,
    /// nobody excluded.
    pub fn covers_everyone(&self) -> bool {
        self.state == PolicyState::Enabled
            && self.exclude_targets.is_empty()
            && self.include_targets.iter().any(|t| {
                t.target_type == crate::TargetType::Group && t.id.eq_ignore_ascii_case(ALL_USERS)
            })
    }

    /// Whether the method is enabled for this user (state and targets).
    pub fn allows_user(&self, user_id: &str, group_ids: &[String]) -> Result<(), Fido2Refusal> {
        if self.state != PolicyState::Enabled {
            return Err(Fido2Refusal::Disabled);
        }
        if !targeted(
            &self.include_targets,
            &self.exclude_targets,
            user_id,
            group_ids,
        ) {
            return Err(Fido2Refusal::NotTargeted);
        }
        Ok(())
    }

    /// Whether a user may register a passkey for themselves (before the authenticator is known).
    pub fn may_self_register(
        &self,
        user_id: &str,
        group_ids: &[String],
    ) -> Result<(), Fido2Refusal> {
        self.allows_user(user_id, group_ids)?;
        if !self.is_self_service_registration_allowed {
            return Err(Fido2Refusal::SelfServiceNotAllowed);
        }
        Ok(())
    }

    /// Whether the key restrictions admit an authenticator of this AAGUID.
    pub fn admits_authenticator(&self, aaguid: Uuid) -> Result<(), Fido2Refusal> {
        let keys = &self.key_restrictions;
        if !keys.is_enforced {
            return Ok(());
        }
        let listed = keys.aa_guids.contains(&aaguid);
        match keys.enforcement_type {
            EnforcementType::Allow if !listed => Err(Fido2Refusal::NotOnAllowList(aaguid)),
            EnforcementType::Block if listed => Err(Fido2Refusal::OnBlockList(aaguid)),
            _ => Ok(()),
        }
    }
}

/// AAGUIDs as GUIDs, in order, without repeats; a malformed one is refused by position.
fn parse_aaguids(list: &[String]) -> Result<Vec<Uuid>, DomainError> {
    let mut out = Vec::with_capacity(list.len());
    for (index, text) in list.iter().enumerate() {
        let aaguid = Uuid::try_parse(text.trim()).map_err(|_| {
            DomainError::BadRequest(format!(
                "keyRestrictions.aaGuids[{index}] '{text}' is not an AAGUID (a GUID such as \
                 'cb69481e-8ff7-4039-93ec-0a2729a154a8')."
            ))
        })?;
        if !out.contains(&aaguid) {
            out.push(aaguid);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetType;
    use proptest::prelude::*;
    use serde_json::json;

    const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

    fn target(kind: TargetType, id: &str) -> PolicyTarget {
        PolicyTarget {
            target_type: kind,
            id: id.to_owned(),
            is_registration_required: false,
        }
    }

    fn restricted(kind: EnforcementType, aaguids: &[&str]) -> Fido2Policy {
        Fido2Policy {
            key_restrictions: KeyRestrictions {
                is_enforced: true,
                enforcement_type: kind,
                aa_guids: aaguids
                    .iter()
                    .map(|a| Uuid::parse_str(a).unwrap())
                    .collect(),
            },
            ..Fido2Policy::default()
        }
    }

    fn message(result: Result<Fido2Policy, DomainError>) -> String {
        match result {
            Err(DomainError::BadRequest(m)) => m,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn default_is_enabled_for_everyone_and_serializes_as_graph() {
        let policy = Fido2Policy::default();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            json!({
                "state": "enabled",
                "isSelfServiceRegistrationAllowed": true,
                "isAttestationEnforced": false,
                "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
                "includeTargets": [
                    {"targetType": "group", "id": "all_users", "isRegistrationRequired": false}
                ],
                "excludeTargets": []
            })
        );
        assert_eq!(policy.validate(), Ok(()));
        assert!(policy.covers_everyone());
        assert_eq!(policy.may_self_register("u1", &[]), Ok(()));
    }

    #[test]
    fn attestation_enforcement_is_refused_with_the_reason() {
        let patch: Fido2Patch = serde_json::from_value(json!({
            "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
            "isAttestationEnforced": true
        }))
        .unwrap();
        let m = message(Fido2Policy::default().apply(patch));
        assert!(
            m.contains("isAttestationEnforced") && m.contains("trust anchors"),
            "{m}"
        );
        let off = Fido2Patch {
            is_attestation_enforced: Some(false),
            ..Fido2Patch::default()
        };
        assert!(Fido2Policy::default().apply(off).is_ok());
    }

    #[test]
    fn aaguids_are_parsed_normalised_and_deduplicated() {
        let patch: Fido2Patch = serde_json::from_value(json!({
            "keyRestrictions": {"isEnforced": true, "enforcementType": "allow",
                "aaGuids": [YUBIKEY.to_uppercase(), YUBIKEY, " 00000000-0000-0000-0000-000000000001 "]}
        }))
        .unwrap();
        let policy = Fido2Policy::default().apply(patch).unwrap();
        assert_eq!(
            serde_json::to_value(&policy.key_restrictions.aa_guids).unwrap(),
            json!([YUBIKEY, "00000000-0000-0000-0000-000000000001"])
        );
    }

    #[test]
    fn a_malformed_aaguid_is_refused_by_position() {
        let patch = Fido2Patch {
            key_restrictions: Some(KeyRestrictionsPatch {
                aa_guids: Some(vec![YUBIKEY.into(), "yubikey".into()]),
                ..KeyRestrictionsPatch::default()
            }),
            ..Fido2Patch::default()
        };
        let m = message(Fido2Policy::default().apply(patch));
        assert!(m.contains("aaGuids[1]") && m.contains("yubikey"), "{m}");
    }

    #[test]
    fn an_enforced_empty_allow_list_is_refused() {
        let m = message(Fido2Policy::default().apply(Fido2Patch {
            key_restrictions: Some(KeyRestrictionsPatch {
                is_enforced: Some(true),
                enforcement_type: Some(EnforcementType::Allow),
                aa_guids: None,
            }),
            ..Fido2Patch::default()
        }));
        assert!(m.contains("allow") && m.contains("aaGuids"), "{m}");
        // An empty block list blocks nothing: fine.
        assert_eq!(restricted(EnforcementType::Block, &[]).validate(), Ok(()));
    }

    #[test]
    fn patch_json_with_wrong_types_fails() {
        for body in [
            json!({"state": "on"}),
            json!({"isSelfServiceRegistrationAllowed": "yes"}),
            json!({"keyRestrictions": {"enforcementType": "deny"}}),
            json!({"keyRestrictions": {"aaGuids": "x"}}),
            json!({"keyRestrictions": []}),
        ] {
            assert!(
                serde_json::from_value::<Fido2Patch>(body.clone()).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn targets_are_checked_as_for_the_pass() {
        let m = message(Fido2Policy::default().apply(Fido2Patch {
            exclude_targets: Some(vec![target(TargetType::User, ALL_USERS)]),
            ..Fido2Patch::default()
        }));
        assert!(m.contains("excludeTargets[0]"), "{m}");
    }

    #[test]
    fn registration_refusals_name_their_rule() {
        let disabled = Fido2Policy {
            state: PolicyState::Disabled,
            ..Fido2Policy::default()
        };
        assert_eq!(
            disabled.may_self_register("u1", &[]),
            Err(Fido2Refusal::Disabled)
        );
        let excluded = Fido2Policy {
            exclude_targets: vec![target(TargetType::Group, "g1")],
            ..Fido2Policy::default()
        };
        assert_eq!(
            excluded.may_self_register("u1", &["g1".into()]),
            Err(Fido2Refusal::NotTargeted)
        );
        assert!(!excluded.covers_everyone() && excluded.needs_groups());
        let only_u2 = Fido2Policy {
            include_targets: vec![target(TargetType::User, "u2")],
            ..Fido2Policy::default()
        };
        assert_eq!(
            only_u2.may_self_register("u1", &[]),
            Err(Fido2Refusal::NotTargeted)
        );
        assert_eq!(only_u2.may_self_register("u2", &[]), Ok(()));
        let no_self_service = Fido2Policy {
            is_self_service_registration_allowed: false,
            ..Fido2Policy::default()
        };
        assert_eq!(
            no_self_service.may_self_register("u1", &[]),
            Err(Fido2Refusal::SelfServiceNotAllowed)
        );
        assert_eq!(no_self_service.allows_user("u1", &[]), Ok(()));
        for refusal in [
            Fido2Refusal::Disabled,
            Fido2Refusal::NotTargeted,
            Fido2Refusal::SelfServiceNotAllowed,
        ] {
            assert!(refusal.to_string().contains("FIDO2"), "{refusal}");
        }
    }

    #[test]
    fn allow_and_block_lists_decide_by_aaguid() {
        let yubikey = Uuid::parse_str(YUBIKEY).unwrap();
        let other = Uuid::nil();
        let allow = restricted(EnforcementType::Allow, &[YUBIKEY]);
        assert_eq!(allow.admits_authenticator(yubikey), Ok(()));
        let refused = allow.admits_authenticator(other).unwrap_err();
        assert_eq!(refused, Fido2Refusal::NotOnAllowList(other));
        assert!(refused.to_string().contains("enforcementType allow"));
        let block = restricted(EnforcementType::Block, &[YUBIKEY]);
        assert_eq!(block.admits_authenticator(other), Ok(()));
        let refused = block.admits_authenticator(yubikey).unwrap_err();
        assert!(refused.to_string().contains(YUBIKEY), "{refused}");
        let not_enforced = Fido2Policy {
            key_restrictions: KeyRestrictions {
                is_enforced: false,
                ..allow.key_restrictions.clone()
            },
            ..Fido2Policy::default()
        };
        assert_eq!(not_enforced.admits_authenticator(other), Ok(()));
    }

    proptest! {
        #[test]
        fn key_restrictions_admit_exactly_the_rule(
            enforced: bool,
            allow: bool,
            listed in proptest::collection::vec(0u8..8, 0..5),
            candidate in 0u8..8,
        ) {
            let id = |n: u8| Uuid::from_bytes([n; 16]);
            let policy = Fido2Policy {
                key_restrictions: KeyRestrictions {
                    is_enforced: enforced,
                    enforcement_type: if allow { EnforcementType::Allow } else { EnforcementType::Block },
                    aa_guids: listed.iter().copied().map(id).collect(),
                },
                ..Fido2Policy::default()
            };
            let on_list = listed.contains(&candidate);
            let expected = !enforced || (allow == on_list);
            prop_assert_eq!(policy.admits_authenticator(id(candidate)).is_ok(), expected);
        }

        #[test]
        fn apply_result_is_valid_or_refused_and_attestation_never_stored(
            attestation in proptest::option::of(any::<bool>()),
            enforced in proptest::option::of(any::<bool>()),
            allow in proptest::option::of(any::<bool>()),
            guids in proptest::option::of(proptest::collection::vec("[0-9a-f-]{0,36}", 0..3)),
        ) {
            let patch = Fido2Patch {
                is_attestation_enforced: attestation,
                key_restrictions: Some(KeyRestrictionsPatch {
                    is_enforced: enforced,
                    enforcement_type: allow.map(|a| if a { EnforcementType::Allow } else { EnforcementType::Block }),
                    aa_guids: guids,
                }),
                ..Fido2Patch::default()
            };
            match Fido2Policy::default().apply(patch) {
                Ok(p) => {
                    prop_assert_eq!(p.validate(), Ok(()));
                    prop_assert!(!p.is_attestation_enforced);
                }
                Err(e) => prop_assert!(matches!(e, DomainError::BadRequest(_))),
            }
        }
    }
}
