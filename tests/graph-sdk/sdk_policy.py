"""The whole authentication methods policy, the FIDO2 (passkey) configuration and the
registration report, through the unmodified msgraph-sdk. The FIDO2 configuration is put back
as it was read.

What the SDK sends:
  GET   /v1.0/policies/authenticationMethodsPolicy
  GET   /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2
  PATCH (same path) {"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
                     "keyRestrictions": {"@odata.type": "#microsoft.graph.fido2KeyRestrictions",
                     "aaGuids": [...], "enforcementType": "block", "isEnforced": true}}
  GET   /v1.0/reports/authenticationMethods/userRegistrationDetails
"""

from msgraph.generated.models.fido2_authentication_method_configuration import (
    Fido2AuthenticationMethodConfiguration,
)
from msgraph.generated.models.fido2_key_restrictions import Fido2KeyRestrictions
from msgraph.generated.models.fido2_restriction_enforcement_type import (
    Fido2RestrictionEnforcementType,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

AAGUID = "cb69481e-8ff7-4039-93ec-0a2729a154a8"


async def run(c, client, url, token, upn):
    policy = await client.policies.authentication_methods_policy.get()
    ids = [m.id for m in (policy.authentication_method_configurations or [])]
    c.check("methods policy lists TemporaryAccessPass and Fido2", ids == ["TemporaryAccessPass", "Fido2"], ids)
    c.check("methods policy has displayName and policyVersion",
            bool(policy.display_name) and bool(policy.policy_version), policy)
    fido2_in_policy = next((m for m in policy.authentication_method_configurations or [] if m.id == "Fido2"), None)
    c.check("Fido2 in the policy is a Fido2AuthenticationMethodConfiguration",
            isinstance(fido2_in_policy, Fido2AuthenticationMethodConfiguration), type(fido2_in_policy))

    config = (client.policies.authentication_methods_policy.authentication_method_configurations
              .by_authentication_method_configuration_id("Fido2"))
    before = await config.get()
    c.check("GET Fido2 typed", isinstance(before, Fido2AuthenticationMethodConfiguration), type(before))
    c.check("GET Fido2 attestation not enforced", before.is_attestation_enforced is False, before.is_attestation_enforced)
    kr = before.key_restrictions
    try:
        await config.patch(Fido2AuthenticationMethodConfiguration(key_restrictions=Fido2KeyRestrictions(
            is_enforced=True, enforcement_type=Fido2RestrictionEnforcementType.Block, aa_guids=[AAGUID])))
        after = await config.get()
        c.check("PATCH Fido2 key restrictions stored",
                after.key_restrictions.is_enforced is True and after.key_restrictions.aa_guids == [AAGUID]
                and after.key_restrictions.enforcement_type == Fido2RestrictionEnforcementType.Block,
                after.key_restrictions)
        try:
            await config.patch(Fido2AuthenticationMethodConfiguration(is_attestation_enforced=True))
            c.check("PATCH isAttestationEnforced true refused", False, "accepted")
        except ODataError as e:
            c.check("PATCH isAttestationEnforced true refused with 400",
                    e.response_status_code == 400 and "attestation" in (e.error.message or ""),
                    e.error.message if e.error else e)
    finally:
        await config.patch(Fido2AuthenticationMethodConfiguration(key_restrictions=Fido2KeyRestrictions(
            is_enforced=kr.is_enforced, enforcement_type=kr.enforcement_type, aa_guids=kr.aa_guids or [])))
    restored = await config.get()
    c.check("Fido2 restored", restored.key_restrictions.is_enforced == kr.is_enforced
            and (restored.key_restrictions.aa_guids or []) == (kr.aa_guids or []), restored.key_restrictions)

    report = await client.reports.authentication_methods.user_registration_details.get()
    rows = {r.user_principal_name: r for r in (report.value or [])}
    row = rows.get(upn)
    c.check("report lists the user", row is not None, list(rows))
    if row is not None:
        c.check("report: the user is not passwordless capable yet", row.is_passwordless_capable is False, row)
        c.check("report: userType member", str(getattr(row.user_type, "value", row.user_type)) == "member", row.user_type)
