"""Graph's `domain` through msgraph-sdk, unmodified (run from test_tap_sdk.py):
`domains.post(Domain(id=…))`, `domains.get()`, `domains.by_domain_id(…).get()`, a PATCH that
makes it the default and back, and `delete()`, after which `get()` is a 404. Needs the app's
`Domain.ReadWrite.All`.
"""

import uuid

from msgraph.generated.models.domain import Domain
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
    await client.domains.by_domain_id(name).delete()
    try:
        await client.domains.by_domain_id(name).get()
        c.check("domains: GET after DELETE is a 404", False, "no error")
    except ODataError as e:
        c.check("domains: GET after DELETE is a 404", e.response_status_code == 404,
                e.response_status_code)
