#!/usr/bin/env python3
"""Compatibility test: Microsoft's Graph SDK for Python (msgraph-sdk, unmodified) against tapd.

Only the base URL and a static bearer token differ from talking to graph.microsoft.com.

Environment:
  TAPD_URL    e.g. http://127.0.0.1:8080  (the Graph base is ${TAPD_URL}/v1.0)
  TAPD_TOKEN  bearer access token from tapd's client-credentials endpoint; the app needs
              Policy.ReadWrite.AuthenticationMethod and UserAuthenticationMethod.ReadWrite.All
  TAPD_USER   userPrincipalName of an existing user, in scope of the TAP policy, to issue a pass to
  TAPD_AUTH   optional: auto (default) | credential | provider -- how the client authenticates:
                credential: GraphServiceClient(credentials=StaticTokenCredential) -- the usual SDK
                            path (kiota's AzureIdentityAuthenticationProvider). It refuses plain
                            http:// unless the host is localhost / 127.0.0.1 / ::1.
                provider:   GraphServiceClient(request_adapter=GraphRequestAdapter(
                            BaseBearerTokenAuthenticationProvider(StaticAccessTokenProvider))),
                            public kiota configuration that works with any scheme and host.
                auto:       credential when allowed for TAPD_URL, else provider; the other one is
                            exercised too (one GET) when it is allowed.
  TAPD_TIMEOUT optional: seconds for the whole run (default 120)

Run:  python -m venv /tmp/graphvenv && /tmp/graphvenv/bin/pip install -r tests/graph-sdk/requirements.txt
      TAPD_URL=... TAPD_TOKEN=... TAPD_USER=... /tmp/graphvenv/bin/python tests/graph-sdk/test_tap_sdk.py
Prints one line per check and finally "N passed, M failed"; exits 0 only when M == 0.
The policy is put back to the values read at the start (a PATCH) when the run ends.

What the SDK sends (msgraph-sdk 1.65.0, kiota-http 1.16.0; read from the installed source and
confirmed by logging every request at a fake server over http://127.0.0.1):

  Every request: HTTP/1.1 (httpx; no h2c over plain http), headers
    Host: 127.0.0.1:PORT
    Accept: application/json
    Authorization: Bearer <TAPD_TOKEN>
    User-Agent: python-httpx/<v> kiota-python/<v>
    Accept-Encoding: gzip, deflate           (br / zstd too if brotli / zstandard are installed)
    Connection: keep-alive
  plus, on requests with a body:
    Content-Type: application/json
    Content-Length: <n>
  DELETE and GET send no body and no Content-Type. No $select/$expand or any other query string is
  sent by these calls. The Graph telemetry headers (client-request-id, SdkVersion, HostOs,
  RuntimeEnvironment) are sent ONLY to graph.microsoft.com & national-cloud hosts, not to tapd.
  Path parameters are percent-encoded: a UPN "alice@contoso.test" arrives as
  /users/alice%40contoso.test/... -- the server must percent-decode path segments.

  1. policy GET
     GET /v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/TemporaryAccessPass
  2. policy PATCH
     PATCH (same path)   body, camelCase, only the fields that were set, "@odata.type" first:
       {"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration",
        "state": "enabled", "defaultLength": 10, "defaultLifetimeInMinutes": 120,
        "isUsableOnce": false, "maximumLifetimeInMinutes": 600, "minimumLifetimeInMinutes": 60}
     (the invalid PATCH is the same with "minimumLifetimeInMinutes": 5 only, next to @odata.type)
  3. issue a pass
     POST /v1.0/users/<urlencoded UPN>/authentication/temporaryAccessPassMethods
       {"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
        "isUsableOnce": true, "lifetimeInMinutes": 60}
  4. list      GET    /v1.0/users/<UPN>/authentication/temporaryAccessPassMethods
  5. get       GET    /v1.0/users/<UPN>/authentication/temporaryAccessPassMethods/<id>
  6. delete    DELETE /v1.0/users/<UPN>/authentication/temporaryAccessPassMethods/<id>
  7. restore   PATCH  policy path with the values read in 1 (same body shape as 2); only if 1 could
               not be parsed: DELETE policy path (SPEC 3: reset to defaults)
  The bad-token check is request 1 with "Authorization: Bearer not-a-valid-token" (expects 401).

What the SDK needs back:
  * Content-Type: application/json (parameters such as "; odata.metadata=minimal; charset=utf-8"
    are fine) on every response with a body. Without a Content-Type header the SDK silently
    returns None for a 200 body, and an error body becomes a bare APIError, not ODataError.
  * Success status: any 2xx. 204 (or an empty body) -> the call returns None. PATCH may answer 204
    (SPEC) or 200 with the object; DELETE 204; POST 201 with the object; GET 200.
  * Property names are matched case-sensitively in camelCase exactly as Graph spells them;
    unknown ones land in .additional_data. Integers must be JSON numbers and booleans JSON
    booleans (a string "60" reads as None). Enum values: "enabled"/"disabled",
    targetType "group"/"user". Date-times: ISO 8601 that Python's datetime.fromisoformat reads
    ("2025-01-01T10:00:00Z", "...T10:00:00.123456Z", "+00:00"); anything else raises.
  * The policy GET/PATCH-200 body MUST carry "@odata.type":
    "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration" (the value is matched
    case-insensitively, the key "@odata.type" exactly): the SDK deserialises into the base
    AuthenticationMethodConfiguration and picks the subclass from it; without it, the TAP fields
    end up in additional_data and the object is not a TemporaryAccessPass...Configuration.
    The temporaryAccessPassMethods objects are parsed as TemporaryAccessPassAuthenticationMethod
    whether or not they carry @odata.type. A collection is {"value": [...]}.
  * Errors (any 4xx/5xx) must be {"error": {"code", "message", "innerError": {...}}} with a JSON
    Content-Type to surface as ODataError(.response_status_code, .error.code, .error.message).
    innerError.date, when present, must be an ISO date-time: if it does not parse, the SDK raises
    a bare APIError("...error body could not be parsed") instead of ODataError.
  * 429, 503 and 504 are retried by the SDK (up to 3 times, honouring Retry-After).
  * A 401 whose WWW-Authenticate carries claims="..." makes the SDK retry once with those claims.
"""

import asyncio
import datetime as dt
import importlib
import os
import sys
import traceback
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.authentication_method_state import AuthenticationMethodState
from msgraph.generated.models.authentication_method_target_type import AuthenticationMethodTargetType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.temporary_access_pass_authentication_method import (
    TemporaryAccessPassAuthenticationMethod,
)
from msgraph.generated.models.temporary_access_pass_authentication_method_configuration import (
    TemporaryAccessPassAuthenticationMethodConfiguration,
)

TAP_ODATA_TYPE = "#microsoft.graph.temporaryAccessPassAuthenticationMethodConfiguration"
# Further checks, one file each (tests/graph-sdk/<name>.py with `async def run(c, client, url, token, upn)`).
EXTRA_CHECKS: list[str] = ["sdk_batch", "sdk_queries", "sdk_policy", "sdk_manager", "sdk_domains"]
LOCALHOSTS = {"localhost", "127.0.0.1", "::1"}  # kiota-authentication-azure's http:// exemptions


class StaticTokenCredential:
    """azure.core TokenCredential protocol: always hands out the same bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token
        self.scopes_seen: list[tuple] = []

    def get_token(self, *scopes, claims=None, tenant_id=None, enable_cae=False, **kwargs) -> AccessToken:
        self.scopes_seen.append(scopes)
        return AccessToken(self._token, int(dt.datetime.now(dt.timezone.utc).timestamp()) + 3600)

    def close(self) -> None:
        pass


class StaticAccessTokenProvider(AccessTokenProvider):
    """kiota AccessTokenProvider: the static token, only for the tapd host (any scheme)."""

    def __init__(self, token: str, host: str) -> None:
        self._token = token
        self._validator = AllowedHostsValidator([host])

    async def get_authorization_token(self, uri: str, additional_authentication_context=None) -> str:
        return self._token if self._validator.is_url_host_valid(uri) else ""

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._validator


def make_client(mode: str, base: str, token: str, host: str) -> GraphServiceClient:
    if mode == "credential":
        client = GraphServiceClient(credentials=StaticTokenCredential(token))
    else:
        auth = BaseBearerTokenAuthenticationProvider(StaticAccessTokenProvider(token, host))
        client = GraphServiceClient(request_adapter=GraphRequestAdapter(auth))
    # The adapter stamps its base_url into every request (HttpxRequestAdapter.
    # set_base_url_for_request_information), so setting it after construction is enough.
    client.request_adapter.base_url = base
    return client


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: list[str] = []

    def check(self, name: str, cond: bool, detail: object = "") -> bool:
        if cond:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed.append(name)
            print(f"FAIL {name}" + (f": {detail}" if detail != "" else ""))
        return bool(cond)

    def crash(self, step: str, exc: BaseException) -> None:
        self.failed.append(f"{step} raised {describe(exc)}")
        print(f"FAIL {step} raised {describe(exc)}")
        traceback.print_exception(exc, file=sys.stdout)


def describe(exc: BaseException) -> str:
    if isinstance(exc, ODataError):
        err = exc.error
        return (f"ODataError status={exc.response_status_code} code={getattr(err, 'code', None)!r} "
                f"message={getattr(err, 'message', None)!r}")
    if isinstance(exc, APIError):
        return f"APIError status={exc.response_status_code} {exc.message!r}"
    return f"{type(exc).__name__}: {exc}"


def policy_values(p) -> dict:
    return {
        "state": p.state,
        "minimum_lifetime_in_minutes": p.minimum_lifetime_in_minutes,
        "default_lifetime_in_minutes": p.default_lifetime_in_minutes,
        "maximum_lifetime_in_minutes": p.maximum_lifetime_in_minutes,
        "default_length": p.default_length,
        "is_usable_once": p.is_usable_once,
    }


async def expect_odata_error(c: Checks, name: str, coro, status: int, code: str | None = None):
    """Awaits coro, which must raise ODataError with that status (and code, when given)."""
    try:
        res = await coro
    except ODataError as e:
        err = e.error
        c.check(f"{name}: ODataError status {status}", e.response_status_code == status, describe(e))
        if code is not None:
            c.check(f"{name}: error.code == {code!r}", err is not None and err.code == code, describe(e))
        else:
            c.check(f"{name}: error.code and error.message populated",
                    err is not None and bool(err.code) and bool(err.message), describe(e))
        return e
    except Exception as e:  # noqa: BLE001 -- any other exception is a failure to report
        c.check(f"{name}: ODataError status {status}", False, f"got {describe(e)}")
        return None
    c.check(f"{name}: ODataError status {status}", False, f"no error, returned {res!r}")
    return None


async def run(c: Checks, url: str, token: str, upn: str, auth: str) -> None:
    base = url.rstrip("/") + "/v1.0"
    parts = urlsplit(base)
    host = parts.hostname or ""
    credential_ok = parts.scheme == "https" or host.lower() in LOCALHOSTS
    if auth == "auto":
        auth = "credential" if credential_ok else "provider"
    other = "provider" if auth == "credential" else ("credential" if credential_ok else None)
    print(f"# tapd Graph base {base}; auth={auth}; also checking {other or 'nothing else'}")
    client = make_client(auth, base, token, host)

    def tap_config():
        return (client.policies.authentication_methods_policy.authentication_method_configurations
                .by_authentication_method_configuration_id("TemporaryAccessPass"))

    # 1. read the policy
    original = None
    try:
        p = await tap_config().get()
        if c.check("GET policy -> TemporaryAccessPassAuthenticationMethodConfiguration",
                   isinstance(p, TemporaryAccessPassAuthenticationMethodConfiguration),
                   f"{type(p).__name__}: {p!r}"):
            original = policy_values(p)
            print(f"#   policy as found: {original}")
            c.check("policy id == 'TemporaryAccessPass'", p.id == "TemporaryAccessPass", repr(p.id))
            c.check("policy odata_type", (p.odata_type or "").lower() == TAP_ODATA_TYPE.lower(), repr(p.odata_type))
            c.check("policy state is an AuthenticationMethodState", isinstance(p.state, AuthenticationMethodState), repr(p.state))
            c.check("policy lifetimes are ints and min <= default <= max",
                    all(isinstance(original[k], int) for k in
                        ("minimum_lifetime_in_minutes", "default_lifetime_in_minutes", "maximum_lifetime_in_minutes"))
                    and original["minimum_lifetime_in_minutes"] <= original["default_lifetime_in_minutes"]
                    <= original["maximum_lifetime_in_minutes"], original)
            c.check("policy default_length is an int in 8..48",
                    isinstance(p.default_length, int) and 8 <= p.default_length <= 48, repr(p.default_length))
            c.check("policy is_usable_once is a bool", isinstance(p.is_usable_once, bool), repr(p.is_usable_once))
            t = p.include_targets
            c.check("policy include_targets: non-empty list of targets with id and targetType",
                    isinstance(t, list) and len(t) > 0
                    and all(isinstance(x.id, str) and isinstance(x.target_type, AuthenticationMethodTargetType) for x in t),
                    repr(t))
            c.check("policy exclude_targets readable (list)", isinstance(p.exclude_targets, list), repr(p.exclude_targets))
    except Exception as e:  # noqa: BLE001
        c.crash("GET policy", e)

    # 1b. the other way of authenticating works too
    if other:
        try:
            p2 = await (make_client(other, base, token, host).policies.authentication_methods_policy
                        .authentication_method_configurations
                        .by_authentication_method_configuration_id("TemporaryAccessPass").get())
            c.check(f"GET policy with {other} auth",
                    isinstance(p2, TemporaryAccessPassAuthenticationMethodConfiguration), repr(p2))
        except Exception as e:  # noqa: BLE001
            c.crash(f"GET policy with {other} auth", e)

    # 1c. a bad token is refused with a parsed Graph error
    try:
        bad = make_client("provider", base, "not-a-valid-token", host)
        await expect_odata_error(
            c, "GET policy with a bad token",
            bad.policies.authentication_methods_policy.authentication_method_configurations
            .by_authentication_method_configuration_id("TemporaryAccessPass").get(), 401)
    except Exception as e:  # noqa: BLE001
        c.crash("GET policy with a bad token", e)

    try:
        # 2. change the policy, read it back
        try:
            res = await tap_config().patch(TemporaryAccessPassAuthenticationMethodConfiguration(
                odata_type=TAP_ODATA_TYPE,
                state=AuthenticationMethodState.Enabled,
                minimum_lifetime_in_minutes=60,
                default_lifetime_in_minutes=120,
                maximum_lifetime_in_minutes=600,
                default_length=10,
                is_usable_once=False,
            ))
            c.check("PATCH policy returns None (204) or the configuration (200)",
                    res is None or isinstance(res, TemporaryAccessPassAuthenticationMethodConfiguration), repr(res))
            p = await tap_config().get()
            got = policy_values(p)
            want = {"state": AuthenticationMethodState.Enabled, "minimum_lifetime_in_minutes": 60,
                    "default_lifetime_in_minutes": 120, "maximum_lifetime_in_minutes": 600,
                    "default_length": 10, "is_usable_once": False}
            c.check("GET policy after PATCH shows the change", got == want, f"got {got}")
        except Exception as e:  # noqa: BLE001
            c.crash("PATCH policy", e)

        # 3. an invalid PATCH is a 400 Graph error and changes nothing
        try:
            await expect_odata_error(c, "PATCH policy minimum_lifetime_in_minutes=5", tap_config().patch(
                TemporaryAccessPassAuthenticationMethodConfiguration(
                    odata_type=TAP_ODATA_TYPE, minimum_lifetime_in_minutes=5)), 400)
            p = await tap_config().get()
            c.check("invalid PATCH changed nothing",
                    p.minimum_lifetime_in_minutes == 60 and p.default_lifetime_in_minutes == 120,
                    policy_values(p))
        except Exception as e:  # noqa: BLE001
            c.crash("invalid PATCH policy", e)

        # 4. issue a pass
        taps = client.users.by_user_id(upn).authentication.temporary_access_pass_methods
        tap_id = None
        try:
            t = await taps.post(TemporaryAccessPassAuthenticationMethod(lifetime_in_minutes=60, is_usable_once=True))
            if c.check("POST pass -> TemporaryAccessPassAuthenticationMethod",
                       isinstance(t, TemporaryAccessPassAuthenticationMethod), repr(t)):
                tap_id = t.id
                code = t.temporary_access_pass
                c.check("new pass: temporary_access_pass is a non-empty string", isinstance(code, str) and len(code) > 0, repr(code))
                c.check("new pass: code length == policy default_length (10)", isinstance(code, str) and len(code) == 10,
                        f"len {len(code) if isinstance(code, str) else None}")
                c.check("new pass: id set", isinstance(tap_id, str) and len(tap_id) > 0, repr(tap_id))
                c.check("new pass: lifetime_in_minutes == 60", t.lifetime_in_minutes == 60, repr(t.lifetime_in_minutes))
                c.check("new pass: is_usable_once is True", t.is_usable_once is True, repr(t.is_usable_once))
                c.check("new pass: is_usable is True", t.is_usable is True, repr(t.is_usable))
                c.check("new pass: method_usability_reason == 'EnabledByPolicy'",
                        t.method_usability_reason == "EnabledByPolicy", repr(t.method_usability_reason))
                c.check("new pass: start_date_time / created_date_time are datetimes",
                        isinstance(t.start_date_time, dt.datetime) and isinstance(t.created_date_time, dt.datetime),
                        f"{t.start_date_time!r} {t.created_date_time!r}")
        except Exception as e:  # noqa: BLE001
            c.crash("POST pass", e)

        # 5. list, get, delete, list, get again
        try:
            lst = await taps.get()
            vals = lst.value if lst is not None else None
            if c.check("list passes: one item", isinstance(vals, list) and len(vals) == 1, repr(lst)):
                c.check("list passes: item id == issued id", vals[0].id == tap_id, f"{vals[0].id!r} != {tap_id!r}")
                c.check("list passes: temporary_access_pass is None", vals[0].temporary_access_pass is None,
                        repr(vals[0].temporary_access_pass))
        except Exception as e:  # noqa: BLE001
            c.crash("list passes", e)

        if tap_id:
            item = taps.by_temporary_access_pass_authentication_method_id(tap_id)
            try:
                g = await item.get()
                c.check("get pass by id: same id, temporary_access_pass None",
                        isinstance(g, TemporaryAccessPassAuthenticationMethod) and g.id == tap_id
                        and g.temporary_access_pass is None, repr(g))
            except Exception as e:  # noqa: BLE001
                c.crash("get pass by id", e)
            try:
                d = await item.delete()
                c.check("delete pass by id returns None", d is None, repr(d))
            except Exception as e:  # noqa: BLE001
                c.crash("delete pass by id", e)
            try:
                lst = await taps.get()
                c.check("list passes after delete: empty", lst is not None and lst.value == [], repr(lst))
            except Exception as e:  # noqa: BLE001
                c.crash("list passes after delete", e)
            try:
                await expect_odata_error(c, "get deleted pass", item.get(), 404, "itemNotFound")
            except Exception as e:  # noqa: BLE001
                c.crash("get deleted pass", e)
        else:
            c.check("pass id available for get/delete", False, "POST gave no id")
    finally:
        # put the policy back as it was found; if it could not be read, reset it to the defaults
        # (SPEC 3: DELETE on the configuration resets it)
        if original is None:
            try:
                await tap_config().delete()
                print("#   policy could not be read at the start: reset to defaults with DELETE")
            except Exception as e:  # noqa: BLE001
                print(f"#   policy reset with DELETE failed: {describe(e)}")
        else:
            try:
                body = TemporaryAccessPassAuthenticationMethodConfiguration(odata_type=TAP_ODATA_TYPE, **original)
                await tap_config().patch(body)
                p = await tap_config().get()
                c.check("policy restored", policy_values(p) == original, policy_values(p))
            except Exception as e:  # noqa: BLE001
                c.crash("restore policy", e)

    await run_more(c, client, url, token, upn)


async def run_more(c: Checks, client: GraphServiceClient, url: str, token: str, upn: str) -> None:
    """The checks kept in their own files (sdk_*.py beside this one), each `run(c, client, url,
    token, upn)`; one that raises is reported and the next still runs."""
    for module in EXTRA_CHECKS:
        try:
            await importlib.import_module(module).run(c, client, url, token, upn)
        except Exception as e:  # noqa: BLE001 -- report it and go on with the next file
            c.crash(module, e)


def main() -> int:
    missing = [v for v in ("TAPD_URL", "TAPD_TOKEN", "TAPD_USER") if not os.environ.get(v)]
    if missing:
        print(f"missing environment: {', '.join(missing)}")
        print("0 passed, 1 failed")
        return 1
    auth = os.environ.get("TAPD_AUTH", "auto")
    if auth not in ("auto", "credential", "provider"):
        print(f"TAPD_AUTH must be auto, credential or provider, not {auth!r}")
        print("0 passed, 1 failed")
        return 1
    c = Checks()
    try:
        asyncio.run(asyncio.wait_for(
            run(c, os.environ["TAPD_URL"], os.environ["TAPD_TOKEN"], os.environ["TAPD_USER"], auth),
            timeout=float(os.environ.get("TAPD_TIMEOUT", "120"))))
    except Exception as e:  # noqa: BLE001 -- includes the overall timeout
        c.crash("run", e)
    if c.failed:
        print("failed checks:")
        for f in c.failed:
            print(f"  - {f}")
    print(f"{c.passed} passed, {len(c.failed)} failed")
    return 0 if not c.failed else 1


if __name__ == "__main__":
    sys.exit(main())
