#!/usr/bin/env python3
"""Issue 9, re-measured: `kill -9` under sign-in load loses no acknowledged sign-in and lets no
one-time pass be used twice. Against a release `tapd serve`, on SQLite or PostgreSQL:

    cargo build --release --bin tapd
    python3 tests/load/crash.py [--binary target/release/tapd] [--rounds 3] [--users 300]
    python3 tests/load/crash.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Each round starts a server on a fresh data dir (with `--database-url`: on a fresh database that
psql creates on that PostgreSQL server, and drops afterwards), creates `--users` users and issues
each a one-time pass (`isUsableOnce`), then signs in with every pass, `--concurrency` at a time,
and `kill -9`s the server as soon as half the sign-ins have been answered 200 (acknowledged);
sign-ins not yet sent by then are not sent. It restarts the server on the same data and checks:

- every acknowledged sign-in's refresh token is redeemed at `/oauth2/v2.0/token`
  (`grant_type=refresh_token`, as the CLI does) and its access token still reads `/v1.0/me`;
- every pass is tried once more: an acknowledged one must be refused (it was consumed);
- the sign-in log (read by the admin, who gets a fresh pass from `tapd recover`) has exactly one
  success for each acknowledged sign-in, and no user more than one success;
- no code signed in twice, counting the 200s before and after the crash;
- a pass found consumed after the restart has its success in the log (one commit for both).

Sign-ins that were in flight at the kill may or may not have been committed; the summary says
how many were (answer lost) and how many signed in after the restart instead. The per-address
sign-in limit is raised (`TAPD_SIGNIN_RATE_PER_SEC`) so that it stays out of the way. Prints a
line per round and a summary; exits 1 on any violation. Standard library only.
"""

import argparse
import asyncio
import collections
import json
import sys

from common import (PostgresDatabase, Server, admin_token, bounded, create_user, get_json,
                    issue_pass, post_form, sign_in_tap, signins_of)

SETTINGS = {"TAPD_SIGNIN_RATE_PER_SEC": "100000"}


async def setup(server, token, n, tag):
    aliases = [f"crash{tag}u{i}" for i in range(n)]
    users = await bounded([create_user(server.base, token, a) for a in aliases], 16)
    codes = await bounded([issue_pass(server.base, token, u, isUsableOnce=True) for u in users], 16)
    return [{"upn": f"crash{tag}u{i}@tapd.local", "id": users[i], "code": codes[i]}
            for i in range(n)]


async def load_and_kill(server, users, concurrency):
    """Signs in with every pass until half are acknowledged, then kill -9. Sets each user's
    `before`: 200 with the answer, another status, an exception's name, or "not sent"."""
    gate = asyncio.Semaphore(concurrency)
    state = {"acked": 0, "killed": False, "acked_at_kill": None}
    half = len(users) // 2

    async def one(u):
        async with gate:
            if state["killed"]:
                u["before"] = "not sent"
                return
            try:
                status, body = await sign_in_tap(server.base, u["upn"], u["code"])
            except Exception as e:  # reset, refused, cut short by the kill
                u["before"] = type(e).__name__
                return
            u["before"] = status or "connection closed, no answer"
            if status == 200:
                u["tokens"] = body
                state["acked"] += 1
                if state["acked"] >= half and not state["killed"]:
                    state["killed"] = True
                    state["acked_at_kill"] = state["acked"]
                    server.kill()

    await asyncio.gather(*(one(u) for u in users))
    if not state["killed"]:
        server.kill()
    return state


async def check_after(server, users):
    admin = server.admin
    code = server.recover(admin)
    status, body = await sign_in_tap(server.base, admin, code)
    assert status == 200, ("admin sign-in with the recovered pass", status, body)
    token = body["access_token"]

    async def tokens_work(u):
        t = u.get("tokens")
        if not t or not t.get("refresh_token"):
            u["refresh"] = u["access"] = "no tokens in the answer"
            return
        st, _ = await get_json(server.base, "/v1.0/me", t["access_token"])
        u["access"] = st
        st, _, text, _ = await post_form(server.base, "/oauth2/v2.0/token", {
            "grant_type": "refresh_token", "refresh_token": t["refresh_token"]})
        try:
            ok = st == 200 and "access_token" in json.loads(text)
        except ValueError:
            ok = False
        u["refresh"] = 200 if ok else f"{st} {text[:80]!r}"

    acked = [u for u in users if u["before"] == 200]
    await bounded([tokens_work(u) for u in acked], 16)

    async def retry(u):
        try:
            st, body = await sign_in_tap(server.base, u["upn"], u["code"])
        except Exception as e:
            st, body = type(e).__name__, None
        u["after"] = st
        u["after_used"] = st != 200 and "has been used" in json.dumps(body)

    await bounded([retry(u) for u in users], 16)

    successes = collections.Counter()
    for rec in await signins_of(server.base, token):
        if rec["status"]["errorCode"] == 0:
            successes[rec["userPrincipalName"]] += 1
    for u in users:
        u["logged"] = successes[u["upn"]]


def judge(users):
    """Counts, and the violations found."""
    c = collections.Counter()
    violations = []
    for u in users:
        before, after = u["before"], u["after"]
        acked = before == 200
        c["sent"] += before != "not sent"
        c["acknowledged"] += acked
        if not acked and before != "not sent":
            c[f"unacknowledged ({before})"] += 1
        uses = (before == 200) + (after == 200)
        if uses > 1:
            violations.append(f"{u['upn']}: its pass signed in twice (before and after the crash)")
        if u["logged"] > 1:
            violations.append(f"{u['upn']}: {u['logged']} successful sign-ins in the log")
        if acked:
            c["acknowledged, pass refused after"] += after != 200
            c["acknowledged, refresh ok"] += u["refresh"] == 200
            c["acknowledged, access token ok"] += u["access"] == 200
            c["acknowledged, in the log"] += u["logged"] == 1
            if u["refresh"] != 200:
                violations.append(f"{u['upn']}: acknowledged, refresh answered {u['refresh']}")
            if u["access"] != 200:
                violations.append(f"{u['upn']}: acknowledged, /v1.0/me answered {u['access']}")
            if u["logged"] == 0:
                violations.append(f"{u['upn']}: acknowledged, no success in the sign-in log")
        elif after == 200:
            c["not committed, signed in after restart"] += 1
        elif u["after_used"]:
            c["committed, answer lost"] += 1
            if u["logged"] != 1:
                violations.append(f"{u['upn']}: pass consumed, {u['logged']} successes in the log")
        else:
            c[f"refused after restart ({after})"] += 1
            violations.append(f"{u['upn']}: never acknowledged, refused after restart ({after})")
    return c, violations


async def round_(args, n):
    db = PostgresDatabase(args.database_url) if args.database_url else None
    server = None
    try:
        server = Server(args.binary, env=SETTINGS, database_url=db and db.url)
        token = await admin_token(server)
        users = await setup(server, token, args.users, n)
        state = await load_and_kill(server, users, args.concurrency)
        server.start()
        await check_after(server, users)
    finally:
        if server:
            server.close()
        if db:
            db.drop()
    counts, violations = judge(users)
    counts["acknowledged at the kill"] = state["acked_at_kill"] or 0
    return counts, violations


async def main(args):
    kind = "postgresql" if args.database_url else "sqlite"
    total, all_violations = collections.Counter(), []
    for n in range(1, args.rounds + 1):
        counts, violations = await round_(args, n)
        total.update(counts)
        all_violations += violations
        print(f"round {n} ({kind}): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
              + f"; violations {len(violations)}", flush=True)
        for v in violations[:20]:
            print("  VIOLATION " + v)
    print(json.dumps({"database": kind, "rounds": args.rounds, "users_per_round": args.users,
                      "concurrency": args.concurrency, **dict(sorted(total.items())),
                      "violations": len(all_violations)}, indent=2))
    print(f"SUMMARY crash ({kind}): {args.rounds} rounds, {total['acknowledged']} acknowledged "
          f"sign-ins, {total['acknowledged, pass refused after']} of their passes refused after "
          f"the restart, {total['acknowledged, refresh ok']} refresh tokens redeemed, "
          f"{total['acknowledged, in the log']} in the sign-in log; "
          f"{total['committed, answer lost']} committed with the answer lost, "
          f"{total['not committed, signed in after restart']} signed in after the restart; "
          f"violations {len(all_violations)}")
    return 1 if all_violations else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/tapd")
    parser.add_argument("--database-url", help="a PostgreSQL server "
                        "(postgres://user@host:port/db): "
                        "each round uses a fresh database created on it, dropped afterwards")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    sys.exit(asyncio.run(main(parser.parse_args())))
