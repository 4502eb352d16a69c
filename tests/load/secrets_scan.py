#!/usr/bin/env python3
"""Issue 9, re-measured: no pass code or client secret (nor a refresh or access token) is found
in the database, its WAL, the keys, the server's debug log or a pg_dump. Against a release
`tapd serve` logging at debug level (`TAPD_LOG=debug`), on SQLite or PostgreSQL:

    cargo build --release --bin tapd
    python3 tests/load/secrets_scan.py [--binary target/release/tapd] [--passes 200] [--log-level debug]
    python3 tests/load/secrets_scan.py --database-url postgres://postgres@127.0.0.1:5432/postgres

With `--database-url`, the server runs on a fresh database that psql creates on that PostgreSQL
server (dropped afterwards). The run: the first admin signs in with the printed pass; `--passes`
passes are issued, two to each of half as many users (the second replaces the first; one-time
and multi-use alternate); users sign in with current passes (multi-use ones twice), with
replaced ones (refused), and with a pass from `tapd recover`; some refresh tokens are redeemed;
an application is created through Graph (`POST /v1.0/applications`), given two secrets
(`addPassword`), and each is used at the token endpoint (form and HTTP Basic), as is the secret
of one from `tapd app create`.

Then every file under the data dir (tapd.db, -wal, -shm, keys/) is copied while the server runs,
the server is stopped (SIGTERM), and both the copy and the files as they are now are scanned,
with the server's stdout and stderr (the log), and for PostgreSQL a `pg_dump` of the database:
each secret as raw bytes, case-insensitively, and URL-encoded. The first admin's pass is printed
on stdout by design (once, on first start): there it is reported as expected, not as found.
Prints what was scanned and found; exits 1 if any secret is found. Standard library only.
"""

import argparse
import asyncio
import base64
import collections
import json
import os
import shutil
import sys
import urllib.parse

from common import (PostgresDatabase, Server, create_user, get_json, issue_pass, post_form,
                    post_json, request, sign_in_tap)


class Secrets:
    def __init__(self):
        self.by_kind = collections.defaultdict(set)

    def add(self, kind, value):
        if value:
            self.by_kind[kind].add(value)

    def tokens(self, answer):
        if answer:
            self.add("access tokens", answer.get("access_token"))
            self.add("refresh tokens", answer.get("refresh_token"))


async def exercise(server, secrets, n_passes):
    base = server.base
    secrets.add("pass codes", server.first_pass)
    status, answer = await sign_in_tap(base, server.admin, server.first_pass)
    assert status == 200, answer
    secrets.tokens(answer)
    token = answer["access_token"]
    counts = collections.Counter()

    n_users = max(1, n_passes // 2)
    users = []
    for i in range(n_users):
        alias = f"scan{i}"
        uid = await create_user(base, token, alias)
        old = await issue_pass(base, token, uid, isUsableOnce=False, lifetimeInMinutes=120)
        new = await issue_pass(base, token, uid, isUsableOnce=i % 2 == 0)
        secrets.add("pass codes", old)
        secrets.add("pass codes", new)
        users.append((f"{alias}@tapd.local", old, new, i % 2 == 0))
        counts["passes issued"] += 2

    for upn, old, new, once in users[: len(users) * 3 // 5]:
        for _ in range(1 if once else 2):
            status, answer = await sign_in_tap(base, upn, new)
            counts[f"sign-ins with a current pass: {status}"] += 1
            secrets.tokens(answer if status == 200 else None)
    for upn, old, _, _ in users[-10:]:
        status, _ = await sign_in_tap(base, upn, old)
        counts[f"sign-ins with a replaced pass: {status}"] += 1

    upn = users[-1][0]
    recovered = server.recover(upn)
    secrets.add("pass codes", recovered)
    status, answer = await sign_in_tap(base, upn, recovered)
    counts[f"sign-ins with a recovered pass: {status}"] += 1
    secrets.tokens(answer if status == 200 else None)

    for refresh in sorted(secrets.by_kind["refresh tokens"])[:20]:
        status, _, text, _ = await post_form(base, "/oauth2/v2.0/token", {
            "grant_type": "refresh_token", "refresh_token": refresh})
        counts[f"refreshes: {status}"] += 1
        secrets.tokens(json.loads(text) if status == 200 else None)

    status, _, text, _ = await post_json(base, "/v1.0/applications",
                                         {"displayName": "scan app"}, token=token)
    assert status == 201, text
    app = json.loads(text)
    client_secrets = []
    for name in ("first", "second"):
        status, _, text, _ = await post_json(
            base, f"/v1.0/applications/{app['id']}/addPassword",
            {"passwordCredential": {"displayName": name}}, token=token)
        assert status == 200, text
        client_secrets.append((app["appId"], json.loads(text)["secretText"]))
    client_secrets.append(server.app_create())
    for client_id, secret in client_secrets:
        secrets.add("client secrets", secret)
        status, _, text, _ = await post_form(base, "/oauth2/v2.0/token", {
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default"})
        counts[f"client_credentials (form): {status}"] += 1
        secrets.tokens(json.loads(text) if status == 200 else None)
        basic = base64.b64encode(
            f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(secret)}".encode()).decode()
        status, *_ = await post_basic(base, basic)
        counts[f"client_credentials (Basic): {status}"] += 1
    status, _ = await get_json(base, "/v1.0/auditLogs/signIns?$top=999", token)
    counts[f"sign-in log read: {status}"] += 1
    return counts


async def post_basic(base, basic):
    body = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "scope": "https://graph.microsoft.com/.default"}).encode()
    return await request(base, "POST", "/oauth2/v2.0/token", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}"})


def files_under(root):
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            yield os.path.join(dirpath, name)


def scan(paths, secrets, allowed):
    """Scans each (label, path): answers the files and bytes scanned, what was found, and what
    was found where `allowed` (a set of (label, secret)) expects it."""
    found, expected, scanned, size = [], [], 0, 0
    needles = []
    for kind, values in secrets.by_kind.items():
        for v in values:
            forms = {v}
            forms.add(urllib.parse.quote(v, safe=""))
            forms.add(urllib.parse.quote_plus(v, safe=""))
            needles.append((kind, v, [f.encode() for f in forms]))
    for label, path in paths:
        with open(path, "rb") as f:
            data = f.read()
        scanned, size = scanned + 1, size + len(data)
        lower = data.lower()
        for kind, value, forms in needles:
            how = None
            if any(f in data for f in forms):
                how = "exact"
            elif any(f.lower() in lower for f in forms):
                how = "case-insensitive"
            if how:
                hit = {"file": label, "kind": kind, "match": how, "secret": value[:4] + "…"}
                (expected if (label, value) in allowed else found).append(hit)
    return scanned, size, found, expected


async def main(args):
    kind = "postgresql" if args.database_url else "sqlite"
    db = PostgresDatabase(args.database_url) if args.database_url else None
    server = None
    try:
        env = {"TAPD_LOG": args.log_level, "TAPD_SIGNIN_RATE_PER_SEC": "100000"}
        server = Server(args.binary, env=env, database_url=db and db.url, split_log=True)
        secrets = Secrets()
        counts = await exercise(server, secrets, args.passes)
        live = os.path.join(server.work, "copy-while-running")
        shutil.copytree(server.data_dir, live)
        server.stop()
        paths = [(f"data dir (running): {os.path.relpath(p, live)}", p) for p in files_under(live)]
        paths += [(f"data dir (stopped): {os.path.relpath(p, server.data_dir)}", p)
                  for p in files_under(server.data_dir)]
        paths += [(f"server {os.path.basename(p)}", p) for p in server.logs]
        if db:
            dump = os.path.join(server.work, "pg_dump.sql")
            db.dump(dump)
            paths.append(("pg_dump", dump))
        allowed = {("server serve.out", server.first_pass)}
        scanned, size, found, expected = scan(paths, secrets, allowed)
        log = open(server.logs[1], errors="replace").read()
        debug_lines = sum(1 for line in log.splitlines() if " DEBUG " in line or '"DEBUG"' in line)
        # The control: the data is there in plain text, where a leaked secret would be too.
        control = [label for label, path in paths if b"scan0@tapd.local" in open(path, "rb").read()]
    finally:
        if server:
            server.close()
        if db:
            db.drop()
    report = {
        "database": kind,
        "log_level": args.log_level,
        "log_debug_lines": debug_lines,
        "secrets": {k: len(v) for k, v in sorted(secrets.by_kind.items())},
        "activity": dict(sorted(counts.items())),
        "files_scanned": [label for label, _ in paths],
        "files": scanned,
        "bytes": size,
        "control: files holding a user's name in clear": control,
        "expected (the first pass, printed once on stdout)": expected,
        "found": found,
    }
    print(json.dumps(report, indent=2))
    print(f"SUMMARY secrets_scan ({kind}): {sum(len(v) for v in secrets.by_kind.values())} secrets "
          f"(" + ", ".join(f"{len(v)} {k}" for k, v in sorted(secrets.by_kind.items()))
          + f") searched in {scanned} files, {size} bytes; found {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/tapd")
    parser.add_argument("--database-url", help="a PostgreSQL server "
                        "(postgres://user@host:port/db): "
                        "the server runs on a fresh database created on it, dropped afterwards")
    parser.add_argument("--passes", type=int, default=200)
    parser.add_argument("--log-level", default="debug",
                        help="TAPD_LOG for the server (e.g. debug, trace)")
    sys.exit(asyncio.run(main(parser.parse_args())))
