"""JSON batching and paging through msgraph-sdk, unmodified (run from test_tap_sdk.py).

What the SDK sends and reads (msgraph-core 1.5.2, kiota-serialization-json 1.16.0, read from the
installed source):
  * BatchRequestContent / BatchRequestItem post {"requests": [{"id", "method", "url", "headers",
    "body", "depends_on"}]} to {base}/$batch: the url is relative ("/users/<UPN>/..."), the
    dependencies are spelt "depends_on" (not Graph's "dependsOn"; tapd reads both), a JSON object
    body goes as an object and any other body (also "{}") as a base64 string.
  * BatchResponseContent reads each answer's id, status and headers, but drops a body that is a
    JSON object (kiota-python issue 737: BatchResponseItem reads "body" with get_bytes_value,
    which only decodes strings). Graph, and tapd, answer JSON bodies as objects, so the bodies
    are checked here from the raw answer, sent through the SDK's own request adapter, and
    deserialized with the SDK's JSON parse node.
  * PageIterator follows @odata.nextLink as an absolute URL with the same adapter: the token is
    sent only when the link's host is the host of the client's base URL, so tapd must be reached
    at its public URL (README; run.sh starts it with --public-url).
"""

import json
import uuid

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.serialization import ParseNodeFactoryRegistry
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.user import User
from msgraph.generated.models.user_collection_response import UserCollectionResponse
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.requests.batch_response_content import BatchResponseContent
from msgraph_core.tasks.page_iterator import PageIterator

# Users created here: three for the batch, two more so that $top=2 takes several pages.
NEW_USERS = 5


def pass_request(client, user_id: str):
    """The SDK's request for issuing `user_id` a one-time pass of 60 minutes."""
    body = TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=True)
    return (client.users.by_user_id(user_id).authentication.temporary_access_pass_methods
            .to_post_request_information(body))


def parse_pass(body: dict) -> TemporaryAccessPassAuthenticationMethod:
    node = ParseNodeFactoryRegistry().get_root_parse_node("application/json", json.dumps(body).encode())
    return node.get_object_value(TemporaryAccessPassAuthenticationMethod)


async def create_users(c, client, domain: str) -> list:
    tag = uuid.uuid4().hex[:6]
    users = []
    for i in range(NEW_USERS):
        nick = f"batch{i}{tag}"
        u = await client.users.post(User(account_enabled=True, display_name=f"Batch {i}",
                                          mail_nickname=nick, user_principal_name=f"{nick}@{domain}"))
        users.append(u)
    c.check(f"batch: created {NEW_USERS} users through the SDK",
            all(u is not None and u.id for u in users), repr(users))
    return users


async def batch_of_three_passes(c, client, users) -> None:
    content = BatchRequestContent()
    for i, u in enumerate(users[:3], start=1):
        content.add_request(str(i), BatchRequestItem(pass_request(client, u.id), id=str(i)))
    answer = await client.batch.post(content)
    c.check("batch: client.batch.post answers a BatchResponseContent",
            isinstance(answer, BatchResponseContent), repr(answer))
    statuses = answer.get_response_status_codes()
    c.check("batch: three passes created, each 201", statuses == {"1": 201, "2": 201, "3": 201}, statuses)
    types = {i: answer.get_response_by_id(i).content_type for i in ("1", "2", "3")}
    c.check("batch: each answer says Content-Type application/json",
            all((t or "").startswith("application/json") for t in types.values()), types)


async def batch_bodies(c, client, users) -> None:
    """The same batch, its raw answer read through the SDK's adapter, bodies parsed by the SDK."""
    content = BatchRequestContent()
    for i, u in enumerate(users[:3], start=1):
        content.add_request(str(i), BatchRequestItem(pass_request(client, u.id), id=str(i)))
    info = await client.batch.to_post_request_information(content)
    raw = json.loads(await client.request_adapter.send_primitive_async(info, "bytes", {}))
    responses = {r.get("id"): r for r in raw.get("responses", [])}
    c.check("batch (raw): one answer per request", sorted(responses) == ["1", "2", "3"], raw)
    for i, u in enumerate(users[:3], start=1):
        r = responses.get(str(i), {})
        body = r.get("body")
        if not c.check(f"batch (raw) {i}: status 201 and a JSON object body",
                       r.get("status") == 201 and isinstance(body, dict), r):
            continue
        t = parse_pass(body)
        code = t.temporary_access_pass
        c.check(f"batch (raw) {i}: the SDK reads the pass, with its code",
                isinstance(code, str) and len(code) >= 8 and t.is_usable_once is True
                and t.lifetime_in_minutes == 60, repr(t))
        held = await client.users.by_user_id(u.id).authentication.temporary_access_pass_methods.get()
        ids = [p.id for p in (held.value or [])] if held else None
        c.check(f"batch (raw) {i}: the user holds exactly that pass", ids == [t.id], f"{ids} vs {t.id}")


async def batch_failed_dependency(c, client, users) -> None:
    """A request whose dependency fails is answered 424 and does not run."""
    before = await client.users.by_user_id(users[3].id).authentication.temporary_access_pass_methods.get()
    content = BatchRequestContent()
    ghost = client.users.by_user_id(f"ghost-{uuid.uuid4().hex[:6]}@nowhere.test").to_get_request_information()
    content.add_request("ghost", BatchRequestItem(ghost, id="ghost"))
    content.add_request("pass", BatchRequestItem(pass_request(client, users[3].id), id="pass",
                                                 depends_on=["ghost"]))
    answer = await client.batch.post(content)
    statuses = answer.get_response_status_codes()
    c.check("batch dependsOn: the failed request 404, its dependent 424",
            statuses == {"ghost": 404, "pass": 424}, statuses)
    after = await client.users.by_user_id(users[3].id).authentication.temporary_access_pass_methods.get()
    c.check("batch dependsOn: the dependent did not run (no pass issued)",
            (before.value or []) == [] and (after.value or []) == [], repr(after))


async def page_through_users(c, client, url: str) -> None:
    everyone = await client.users.get(request_configuration=RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=999)))
    all_ids = sorted(u.id for u in everyone.value or [])
    config = RequestConfiguration(
        query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=2))
    first = await client.users.get(request_configuration=config)
    c.check("paging: $top=2 answers two users and a nextLink",
            isinstance(first, UserCollectionResponse) and len(first.value or []) == 2
            and bool(first.odata_next_link), repr(first))
    base = url.rstrip("/") + "/v1.0/"
    c.check("paging: the nextLink is under the client's base URL (the public URL)",
            (first.odata_next_link or "").startswith(base), f"{first.odata_next_link} vs {base}")
    seen = []
    pages = [0]

    def collect(user) -> bool:
        seen.append(user.id)
        return True

    iterator = PageIterator(first, client.request_adapter)
    original_next = iterator.next

    async def counting_next():
        page = await original_next()
        if page is not None:
            pages[0] += 1
        return page

    iterator.next = counting_next
    await iterator.iterate(collect)
    c.check(f"paging: PageIterator walked every user ({len(all_ids)}), each once",
            sorted(seen) == all_ids and len(seen) == len(set(seen)), f"{len(seen)} seen of {len(all_ids)}")
    c.check("paging: it followed at least two nextLinks", pages[0] >= 2, pages[0])


async def run(c, client, url: str, token: str, upn: str) -> None:
    domain = upn.split("@", 1)[1]
    users = await create_users(c, client, domain)
    for step in (batch_of_three_passes, batch_bodies, batch_failed_dependency):
        try:
            await step(c, client, users)
        except Exception as e:  # noqa: BLE001 -- report it and go on with the next step
            c.crash(f"sdk_batch {step.__name__}", e)
    await page_through_users(c, client, url)
