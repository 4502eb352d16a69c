"""Graph's `domain` through msgraph-sdk, unmodified (run from test_tap_sdk.py):
`domains.post(Domain(id=…))`, `domains.get()`, `domains.by_domain_id(…).get()`, a PATCH that
makes it the default and back, its `federation_configuration` (an `InternalDomainFederation`
with tapd's client id as additional data) created, read, changed and removed, and `delete()`,
after which `get()` is a 404; then a cross-tenant access partner with `inboundTrust` created,
read, changed and removed. Needs the app's `Domain.ReadWrite.All` and
`Policy.ReadWrite.CrossTenantAccess`.
"""

import uuid

from msgraph.generated.models.cross_tenant_access_policy_configuration_partner import (
    CrossTenantAccessPolicyConfigurationPartner,
)
from msgraph.generated.models.cross_tenant_access_policy_inbound_trust import (
    CrossTenantAccessPolicyInboundTrust,
)
from msgraph.generated.models.domain import Domain
from msgraph.generated.models.federated_idp_mfa_behavior import FederatedIdpMfaBehavior
from msgraph.generated.models.internal_domain_federation import InternalDomainFederation
from msgraph.generated.models.o_data_errors.o_data_error import ODataError


async def run(c, client, url, token, upn):
    home = upn.split("@")[1]
    name = f"sdk{uuid.uuid4().hex[:6]}.test"
    made = await client.domains.post(Domain(id=name))
    c.check("domains: POST answers the new domain, verified and managed",
            made is not None and made.id == name and made.is_verified is True
            and made.authentication_type == "Managed" and made.is_default is False, repr(made))
    listed = await client.domains.get()
    names = [d.id for d in (listed.value or [])]
    c.check("domains: the list holds the home domain (default) and the new one",
            home in names and name in names and listed.value[0].id == home
            and listed.value[0].is_default is True, repr(names))
    got = await client.domains.by_domain_id(name).get()
    c.check("domains: GET by name", got is not None and got.id == name, repr(got))
    await client.domains.by_domain_id(name).patch(Domain(is_default=True))
    now_default = await client.domains.by_domain_id(name).get()
    c.check("domains: PATCH isDefault makes it the default",
            now_default.is_default is True, repr(now_default))
    await client.domains.by_domain_id(home).patch(Domain(is_default=True))
    try:
        await client.domains.post(Domain(id=home))
        c.check("domains: adding a domain twice is refused", False, "no error")
    except ODataError as e:
        c.check("domains: adding a domain twice is a 409", e.response_status_code == 409,
                e.response_status_code)
    feds = client.domains.by_domain_id(name).federation_configuration
    fed = await feds.post(InternalDomainFederation(
        display_name="SDK IdP", issuer_uri="https://idp.sdk.test/v2.0",
        passive_sign_in_uri="https://idp.sdk.test/signin",
        federated_idp_mfa_behavior=FederatedIdpMfaBehavior.EnforceMfaByFederatedIdp,
        additional_data={"tapdClientId": "tapd-at-sdk", "tapdClientSecret": "s3cret"}))
    c.check("federation: POST answers an internalDomainFederation",
            fed is not None and fed.issuer_uri == "https://idp.sdk.test/v2.0"
            and fed.federated_idp_mfa_behavior == FederatedIdpMfaBehavior.EnforceMfaByFederatedIdp
            and (fed.additional_data or {}).get("tapdClientId") == "tapd-at-sdk"
            and (fed.additional_data or {}).get("tapdClientSecret") is None, repr(fed))
    federated = await client.domains.by_domain_id(name).get()
    c.check("federation: the domain is Federated", federated.authentication_type == "Federated",
            repr(federated))
    listed = await feds.get()
    c.check("federation: the list holds it",
            [x.id for x in (listed.value or [])] == [fed.id], repr(listed.value))
    await feds.by_internal_domain_federation_id(fed.id).patch(
        InternalDomainFederation(display_name="SDK IdP 2"))
    got = await feds.by_internal_domain_federation_id(fed.id).get()
    c.check("federation: PATCH renames it", got.display_name == "SDK IdP 2", repr(got))
    await feds.by_internal_domain_federation_id(fed.id).delete()
    managed = await client.domains.by_domain_id(name).get()
    c.check("federation: deleting it makes the domain Managed",
            managed.authentication_type == "Managed", repr(managed))
    await client.domains.by_domain_id(name).delete()
    try:
        await client.domains.by_domain_id(name).get()
        c.check("domains: GET after DELETE is a 404", False, "no error")
    except ODataError as e:
        c.check("domains: GET after DELETE is a 404", e.response_status_code == 404,
                e.response_status_code)

    partners = client.policies.cross_tenant_access_policy.partners
    other = str(uuid.uuid4())
    made = await partners.post(CrossTenantAccessPolicyConfigurationPartner(
        tenant_id=other,
        inbound_trust=CrossTenantAccessPolicyInboundTrust(is_mfa_accepted=True)))
    c.check("partners: POST answers the partner with its inboundTrust",
            made is not None and made.tenant_id == other
            and made.inbound_trust is not None and made.inbound_trust.is_mfa_accepted is True,
            repr(made))
    listed = await partners.get()
    c.check("partners: the list holds it",
            other in [p.tenant_id for p in (listed.value or [])], repr(listed.value))
    await partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(other).patch(
        CrossTenantAccessPolicyConfigurationPartner(
            inbound_trust=CrossTenantAccessPolicyInboundTrust(is_mfa_accepted=False)))
    got = await partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(other).get()
    c.check("partners: PATCH turns the trust off",
            got.inbound_trust is not None and got.inbound_trust.is_mfa_accepted is False, repr(got))
    await partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(other).delete()
    try:
        await partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(other).get()
        c.check("partners: GET after DELETE is a 404", False, "no error")
    except ODataError as e:
        c.check("partners: GET after DELETE is a 404", e.response_status_code == 404,
                e.response_status_code)
