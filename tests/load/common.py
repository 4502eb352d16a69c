"""What the load scripts share: a fresh `tapd serve` (also restarted, killed, or as a replica),
a fresh PostgreSQL database, a tiny HTTP/1.1 client over asyncio streams (no third-party
packages) with a few tapd calls, and a few statistics. Servers and databases still open at exit
are stopped, removed and dropped, also after an error or SIGTERM. Standard library only."""

import asyncio
import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `tapd serve` on a fresh data dir, default settings but the port.

    Optionally with more `TAPD_*` settings (`env`), a `database_url`, another server's
    `data_dir` (a replica on the same SQLite file and keys), and stderr (the log) kept apart from
    stdout (`split_log`: `serve.err` beside `serve.out`). `kill()` is `kill -9`; `start()`
    starts it again on the same data and port (each start logs to its own files, see `logs`);
    `close()` stops it and removes its temp dir."""

    def __init__(self, binary, env=None, database_url=None, data_dir=None, split_log=False,
                 expect_first_pass=True):
        self.binary = os.path.abspath(binary)
        self.work = tempfile.mkdtemp(prefix="tapd-load-")
        _live.append(self)
        self.port = free_port()
        self.env = dict(os.environ, TAPD_DATA_DIR=data_dir or os.path.join(self.work, "data"))
        self.env.pop("TAPD_DATABASE_URL", None)
        if database_url:
            self.env["TAPD_DATABASE_URL"] = database_url
        self.env.update(env or {})
        self.data_dir = self.env["TAPD_DATA_DIR"]
        self.base = ("127.0.0.1", self.port)
        self.split_log = split_log
        self.logs = []
        self.proc = None
        self.admin = self.first_pass = None
        self.start()
        if expect_first_pass and not self.first_pass:
            raise RuntimeError("tapd printed no first pass: " + self.output())

    def start(self, timeout=30):
        n = len(self.logs) // (2 if self.split_log else 1) + 1
        stem = os.path.join(self.work, "serve" if n == 1 else f"serve.{n}")
        out_path, err_path = stem + ".out", stem + ".err"
        out = open(out_path, "w")
        err = open(err_path, "w") if self.split_log else subprocess.STDOUT
        self.logs += [out_path, err_path] if self.split_log else [out_path]
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=out, stderr=err, preexec_fn=_die_with_parent)
        out.close()
        if self.split_log:
            err.close()
        self._current = [out_path, err_path] if self.split_log else [out_path]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            if "listening" in text:
                pass_ = re.search(r"Temporary Access Pass: (\S+)", text)
                admin = re.search(r"First administrator: (\S+)", text)
                if pass_ and admin:
                    self.admin, self.first_pass = admin.group(1), pass_.group(1)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("tapd did not start: " + self.output())

    def output(self):
        """What the current process printed so far (stdout, then stderr when split)."""
        return "".join(open(p, errors="replace").read() for p in self._current)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cli(self, *args):
        """Runs `tapd <args>` on this server's data dir and database; answers its stdout."""
        return subprocess.check_output([self.binary, *args], env=self.env, text=True)

    def app_create(self):
        out = subprocess.check_output(
            [self.binary, "app", "create", "--name", "load", "--json",
             "--permission", "User.Read.All"], env=self.env)
        app = json.loads(out)
        return app["client_id"], app["client_secret"]

    def recover(self, upn):
        """`tapd recover`: a fresh one-time pass for `upn`, straight in the database."""
        out = self.cli("recover", "--upn", upn)
        return re.search(r"Temporary Access Pass for \S+: (\S+)", out).group(1)

    def kill(self):
        """kill -9, and reap it."""
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)

    def close(self):
        """Stops the server (kill -9 if it won't) and removes its temp dir; safe to repeat."""
        if self.proc and self.proc.poll() is None:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.work, ignore_errors=True)
        if self in _live:
            _live.remove(self)


class PostgresDatabase:
    """A fresh database on the PostgreSQL server `server_url` names (any database of it, e.g.
    postgres://postgres@127.0.0.1:5432/postgres), made with psql's CREATE DATABASE; `url` is
    its own URL. `drop()` removes it; safe to repeat."""

    def __init__(self, server_url, prefix="tapd_load"):
        self.server_url = server_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        parts = urllib.parse.urlsplit(server_url)
        self.url = urllib.parse.urlunsplit(parts._replace(path="/" + self.name))
        psql(server_url, f"CREATE DATABASE {self.name}")
        _live.append(self)

    def dump(self, path):
        """pg_dump of the database (plain SQL) into `path`."""
        with open(path, "wb") as f:
            subprocess.run(["pg_dump", "--no-owner", "--dbname", self.url], stdout=f, check=True)

    def drop(self):
        if self in _live:
            psql(self.server_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            _live.remove(self)

    close = drop


def psql(url, sql):
    return subprocess.run(["psql", "--dbname", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                          check=True, capture_output=True, text=True).stdout


# Servers and databases not yet closed: closed at exit, also after an error or SIGTERM.
_live = []


def _close_live():
    for thing in reversed(list(_live)):
        try:
            thing.close()
        except Exception as e:  # keep closing the rest
            print(f"cleanup: {type(thing).__name__}: {e}", file=sys.stderr)


atexit.register(_close_live)
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def _die_with_parent():
    """In the child: SIGKILL when the script dies, however it dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


async def request(base, method, path, body=b"", headers=None, source=None, timeout=60,
                  gate=None):
    """One request on its own connection: (status, headers, body, seconds). With `gate` (an
    asyncio.Event), the request is sent once the connection is open and the gate is set (the
    seconds count from then)."""
    start = time.perf_counter()
    local = (source, 0) if source else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(base[0], base[1], local_addr=local), timeout)
    try:
        if gate is not None:
            await gate.wait()
            start = time.perf_counter()
        head = [f"{method} {path} HTTP/1.1", f"Host: {base[0]}:{base[1]}",
                f"Content-Length: {len(body)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    elapsed = time.perf_counter() - start
    head, _, payload = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0] else 0
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    if hdrs.get("transfer-encoding") == "chunked":
        payload = dechunk(payload)
    return status, hdrs, payload, elapsed


def dechunk(data):
    out = b""
    while data:
        size, _, rest = data.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            break
        out, data = out + rest[:n], rest[n + 2:]
    return out


async def post_json(base, path, obj, token=None, source=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return await request(base, "POST", path, json.dumps(obj).encode(), headers, source)


async def post_form(base, path, fields, source=None):
    body = urllib.parse.urlencode(fields).encode()
    return await request(base, "POST", path, body,
                         {"Content-Type": "application/x-www-form-urlencoded"}, source)


async def get_json(base, path, token):
    """GET as `token`: (status, the answer as JSON, or None)."""
    status, _, body, _ = await request(
        base, "GET", path, headers={"Authorization": f"Bearer {token}"})
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


async def sign_in_tap(base, username, code, source=None):
    """`POST /api/signin/tap`: (status, the answer as JSON, or None)."""
    status, _, body, _ = await post_json(
        base, "/api/signin/tap", {"username": username, "code": code}, source=source)
    try:
        return status, json.loads(body)
    except ValueError:
        return status, None


async def create_user(base, token, alias):
    """A user `{alias}@tapd.local` (no password); answers its id."""
    status, _, text, _ = await post_json(base, "/v1.0/users", {
        "accountEnabled": True, "displayName": alias, "mailNickname": alias,
        "userPrincipalName": f"{alias}@tapd.local"}, token=token)
    assert status == 201, (status, text)
    return json.loads(text)["id"]


async def issue_pass(base, token, user, **body):
    """Issues `user` a pass (Graph's body, e.g. isUsableOnce=True); answers its code."""
    status, _, text, _ = await post_json(
        base, f"/v1.0/users/{user}/authentication/temporaryAccessPassMethods", body, token=token)
    assert status == 201, (status, text)
    return json.loads(text)["temporaryAccessPass"]


async def bounded(coros, limit):
    """Runs the coroutines with at most `limit` at a time; answers their results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(c):
        async with gate:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def signins_of(base, token, filter=None):
    """Every record of the sign-in log (that `$filter` keeps), newest first, following
    `@odata.nextLink`."""
    path, records = "/v1.0/auditLogs/signIns?$top=999", []
    if filter:
        path += "&$filter=" + urllib.parse.quote(filter)
    while path:
        status, page = await get_json(base, path, token)
        assert status == 200, (status, page)
        records += page["value"]
        link = page.get("@odata.nextLink")
        path = urllib.parse.urlsplit(link)._replace(scheme="", netloc="").geturl() if link else None
    return records


async def admin_token(server):
    status, _, body, _ = await post_json(
        server.base, "/api/signin/tap", {"username": server.admin, "code": server.first_pass})
    assert status == 200, body
    return json.loads(body)["access_token"]


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def auc(a, b):
    """P(a sample of `a` > a sample of `b`) + half the ties: 0.5 means indistinguishable."""
    greater = ties = 0
    for x in a:
        for y in b:
            greater += x > y
            ties += x == y
    return (greater + ties / 2) / (len(a) * len(b))
