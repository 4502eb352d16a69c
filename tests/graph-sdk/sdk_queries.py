"""Query options through the unmodified SDK: $select, $filter, $orderby, $top, $count (with
ConsistencyLevel: eventual) and /users/$count, as helpdesk scripts send them."""

from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph.generated.users.count.count_request_builder import CountRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

NAMES = ["Query Alpha", "Query Bravo", "Query Charlie"]


def users_config(eventual: bool = False, **params) -> RequestConfiguration:
    config = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(**params))
    if eventual:
        config.headers.add("ConsistencyLevel", "eventual")
    return config


async def run(c, client, url: str, token: str, upn: str) -> None:
    domain = upn.split("@", 1)[1]
    for i, name in enumerate(NAMES):
        nick = f"query{i}"
        await client.users.post(User(
            account_enabled=True, display_name=name, mail_nickname=nick,
            user_principal_name=f"{nick}@{domain}",
            password_profile=PasswordProfile(password="correct horse battery"),
        ))

    page = await client.users.get(request_configuration=users_config(
        filter="startswith(displayName,'Query')", orderby=["displayName desc"],
        select=["id", "displayName"]))
    got = [u.display_name for u in page.value]
    c.check("$filter startswith + $orderby desc", got == list(reversed(NAMES)), got)
    c.check("$select leaves other properties unset",
            all(u.user_principal_name is None and u.id for u in page.value),
            [(u.id, u.user_principal_name) for u in page.value])

    page = await client.users.get(request_configuration=users_config(
        eventual=True, filter="startswith(displayName,'Query')", count=True, top=2))
    c.check("$count=true gives odata_count", page.odata_count == 3, page.odata_count)
    c.check("$top=2 gives two and a next link",
            len(page.value) == 2 and bool(page.odata_next_link), (len(page.value), page.odata_next_link))

    config = RequestConfiguration(
        query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters(
            filter="startswith(displayName,'Query')"))
    config.headers.add("ConsistencyLevel", "eventual")
    n = await client.users.count.get(request_configuration=config)
    c.check("/users/$count answers the number", n == 3, repr(n))

    try:
        await client.users.get(request_configuration=users_config(filter="favoriteColor eq 'red'"))
        c.check("unsupported $filter property is a 400", False, "no error")
    except ODataError as e:
        c.check("unsupported $filter property is a 400",
                e.response_status_code == 400 and "favoriteColor" in (e.error.message or ""),
                (e.response_status_code, e.error.message if e.error else None))
