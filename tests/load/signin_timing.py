#!/usr/bin/env python3
"""Issue 9 item 5, measured: can the time of a sign-in answer tell a known user from an
unknown one? Against a release `tapd serve` on default settings:

    cargo build --release --bin tapd
    python3 tests/load/signin_timing.py [--binary target/release/tapd] [--rounds 300]

Each comparison sends `--rounds` requests for the known user and as many for an unknown one,
interleaved in random order, one at a time, each from its own loopback source address (so the
per-address sign-in limit stays out of the way), and prints the medians and the AUC: the chance
that a known user's answer is slower than an unknown one's (0.5: indistinguishable; the issue
wants 0.40-0.60). Comparisons: `/api/signin/start` for a password-only user; `/api/signin/tap`
with a wrong code for a user holding a pass (it locks after ten, as an attacker would find it)
and for a user holding none. Standard library only.
"""

import argparse
import asyncio
import json
import random
import statistics

from common import Server, admin_token, auc, post_json

SOURCES = [f"127.0.{a}.{b}" for a in range(2, 12) for b in range(1, 251)]


async def create_user(server, token, alias, password=None):
    body = {"accountEnabled": True, "displayName": alias, "mailNickname": alias,
            "userPrincipalName": f"{alias}@tapd.local"}
    if password:
        body["passwordProfile"] = {"password": password, "forceChangePasswordNextSignIn": False}
    status, _, text, _ = await post_json(server.base, "/v1.0/users", body, token=token)
    assert status == 201, text
    return json.loads(text)["id"]


async def compare(server, path, known, unknown, rounds, sources):
    jobs = [("known", known)] * rounds + [("unknown", unknown)] * rounds
    random.shuffle(jobs)
    times = {"known": [], "unknown": []}
    for warm in range(20):
        await post_json(server.base, path, known if warm % 2 else unknown, source=next(sources))
    for who, body in jobs:
        status, _, text, elapsed = await post_json(server.base, path, body, source=next(sources))
        assert status in (200, 401), (status, text)
        times[who].append(elapsed * 1000)
    return {
        "known_median_ms": round(statistics.median(times["known"]), 3),
        "unknown_median_ms": round(statistics.median(times["unknown"]), 3),
        "auc": round(auc(times["known"], times["unknown"]), 3),
    }


async def main(args):
    server = Server(args.binary)
    sources = iter(SOURCES * 10)
    try:
        token = await admin_token(server)
        await create_user(server, token, "pwonly", "a password of theirs")
        holder = await create_user(server, token, "holder")
        await create_user(server, token, "nopass")
        status, _, text, _ = await post_json(
            server.base, f"/v1.0/users/{holder}/authentication/temporaryAccessPassMethods",
            {}, token=token)
        assert status == 201, text
        results = {
            "start: password-only user vs unknown": await compare(
                server, "/api/signin/start", {"username": "pwonly@tapd.local"},
                {"username": "ghost@tapd.local"}, args.rounds, sources),
            "tap: user holding a pass vs unknown": await compare(
                server, "/api/signin/tap", {"username": "holder@tapd.local", "code": "WrongCode1"},
                {"username": "ghost@tapd.local", "code": "WrongCode1"}, args.rounds, sources),
            "tap: user without a pass vs unknown": await compare(
                server, "/api/signin/tap", {"username": "nopass@tapd.local", "code": "WrongCode1"},
                {"username": "ghost@tapd.local", "code": "WrongCode1"}, args.rounds, sources),
        }
    finally:
        server.stop()
    print(json.dumps({"rounds": args.rounds, **results}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/tapd")
    parser.add_argument("--rounds", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
