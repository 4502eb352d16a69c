"""Graph's `manager` relationship through msgraph-sdk, unmodified (run from test_tap_sdk.py):
`users.by_user_id(id).manager.ref.put(ReferenceUpdate(odata_id=…))`, then `.manager.get()`
(a DirectoryObject the SDK types as a User by its @odata.type) and `.manager.ref.delete()`,
after which `.manager.get()` is Graph's 404 `Request_ResourceNotFound`.
"""

import uuid

from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.reference_update import ReferenceUpdate
from msgraph.generated.models.user import User


async def run(c, client, url, token, upn):
    domain = upn.split("@")[1]
    tag = uuid.uuid4().hex[:6]
    made = []
    for nick in (f"staff{tag}", f"boss{tag}"):
        made.append(await client.users.post(User(account_enabled=True, display_name=nick,
                                                  mail_nickname=nick,
                                                  user_principal_name=f"{nick}@{domain}")))
    staff, boss = made
    me = client.users.by_user_id(staff.id)
    await me.manager.ref.put(ReferenceUpdate(
        odata_id=f"https://graph.microsoft.com/v1.0/directoryObjects/{boss.id}"))
    manager = await me.manager.get()
    c.check("manager: PUT $ref then GET manager gives the manager as a User",
            isinstance(manager, User) and manager.id == boss.id, repr(manager))
    c.check("manager: its userPrincipalName is read",
            getattr(manager, "user_principal_name", None) == boss.user_principal_name, repr(manager))
    await me.manager.ref.delete()
    try:
        await me.manager.get()
        c.check("manager: GET after DELETE $ref is a 404", False, "no error")
    except ODataError as e:
        code = e.error.code if e.error else None
        c.check("manager: GET after DELETE $ref is a 404 Request_ResourceNotFound",
                e.response_status_code == 404 and code == "Request_ResourceNotFound",
                (e.response_status_code, code))
    for u in made:
        await client.users.by_user_id(u.id).delete()
