#!/usr/bin/env python3
"""Issue 9, re-measured: two replicas racing at one one-time pass give exactly one success.
Two release `tapd serve` processes over one database:

    cargo build --release --bin tapd
    python3 tests/load/replica_race.py [--binary target/release/tapd] [--rounds 20] [--attempts 200]
    python3 tests/load/replica_race.py --database-url postgres://postgres@127.0.0.1:5432/postgres

With `--database-url`, the replicas share a fresh database that psql creates on that PostgreSQL
server (dropped afterwards); each replica has its own data dir, and the second is given the
first's key files (`TAPD_HMAC_KEY_FILE`, `TAPD_SIGNING_KEY_FILE`), as the README asks of
replicas. Without it, both run on one data dir: the same SQLite file (WAL) and the same keys.
Both have one public URL (`TAPD_PUBLIC_URL`, the token issuer), as behind a load balancer. The
second starts once the first has created the directory, and an admin token from the first must
work on the second.

Each round issues a user a one-time pass (through either replica in turn), opens `--attempts`
sign-ins with the right code, alternately to each replica, at most `--concurrency` at a time,
and sends the first `--concurrency` together once all their connections are open; the rest
follow as answers come. Exactly one must be answered 200, and the sign-in log must hold exactly
one success for that user. The per-address sign-in limit is raised
(`TAPD_SIGNIN_RATE_PER_SEC`) so that it stays out of the way. Prints each round's successes
and statuses and a summary; exits 1 if any round had other than one success. Standard library
only.
"""

import argparse
import asyncio
import collections
import json
import os
import sys

from common import (PostgresDatabase, Server, admin_token, create_user, get_json, issue_pass,
                    request, signins_of)

# Replicas behind one name: tokens name their issuer, built from the public URL, so both must
# have the same one (as behind a load balancer) for one's tokens to be good at the other.
SETTINGS = {"TAPD_SIGNIN_RATE_PER_SEC": "100000", "TAPD_PUBLIC_URL": "http://tapd.replicas.test"}


def replicas(args, db):
    first = Server(args.binary, env=SETTINGS, database_url=db and db.url)
    if db:
        keys = os.path.join(first.data_dir, "keys")
        env = dict(SETTINGS, TAPD_HMAC_KEY_FILE=os.path.join(keys, "hmac.key"),
                   TAPD_SIGNING_KEY_FILE=os.path.join(keys, "signing.pk8"))
        second = Server(args.binary, env=env, database_url=db.url, expect_first_pass=False)
    else:
        second = Server(args.binary, env=SETTINGS, data_dir=first.data_dir,
                        expect_first_pass=False)
    return first, second


class Wave:
    """A gate for `request`: the first `size` connections wait until all of them are open, then
    go together; later ones go at once."""

    def __init__(self, size):
        self.size, self.open, self.go = size, 0, asyncio.Event()

    async def wait(self):
        self.open += 1
        if self.open >= self.size:
            self.go.set()
        await self.go.wait()


async def race(servers, upn, code, attempts, concurrency):
    """`attempts` sign-ins with the right code, alternately to each server: [(replica, status)]."""
    gate, wave = asyncio.Semaphore(concurrency), Wave(min(concurrency, attempts))
    body = json.dumps({"username": upn, "code": code}).encode()

    async def one(i):
        replica = i % len(servers)
        async with gate:
            try:
                status, *_ = await request(
                    servers[replica].base, "POST", "/api/signin/tap", body,
                    {"Content-Type": "application/json"}, gate=wave)
            except Exception as e:  # a refused connection must not hold the wave back
                wave.go.set()
                status = type(e).__name__
        return replica, status

    return await asyncio.gather(*(one(i) for i in range(attempts)))


async def main(args):
    kind = "postgresql" if args.database_url else "sqlite"
    db = PostgresDatabase(args.database_url) if args.database_url else None
    servers = []
    rounds = []
    try:
        servers = list(replicas(args, db))
        token = await admin_token(servers[0])
        status, me = await get_json(servers[1].base, "/v1.0/me", token)
        assert status == 200, ("the first replica's token on the second", status, me)
        for n in range(1, args.rounds + 1):
            issuer = servers[n % 2]
            alias = f"race{n}"
            user = await create_user(issuer.base, token, alias)
            code = await issue_pass(issuer.base, token, user, isUsableOnce=True)
            results = await race(servers, f"{alias}@tapd.local", code, args.attempts,
                                 args.concurrency)
            statuses = collections.Counter(s for _, s in results)
            winners = [r for r, s in results if s == 200]
            records = await signins_of(servers[(n + 1) % 2].base, token,
                                       f"userPrincipalName eq '{alias}@tapd.local'")
            logged = sum(1 for r in records if r["status"]["errorCode"] == 0)
            rounds.append({"round": n, "successes": len(winners), "logged_successes": logged,
                           "won_on": ["A", "B"][winners[0]] if len(winners) == 1 else None,
                           "statuses": dict(statuses)})
            print(f"round {n:2} ({kind}): successes {len(winners)} (replica "
                  f"{rounds[-1]['won_on'] or '-'}), successes in the sign-in log {logged}, "
                  f"statuses {dict(sorted(statuses.items(), key=str))}", flush=True)
    finally:
        for s in reversed(servers):
            s.close()
        if db:
            db.drop()
    bad = [r["round"] for r in rounds if r["successes"] != 1 or r["logged_successes"] != 1]
    total = collections.Counter()
    for r in rounds:
        total.update(r["statuses"])
    wins = collections.Counter(r["won_on"] for r in rounds)
    print(f"SUMMARY replica_race ({kind}): {len(rounds)} rounds of {args.attempts} attempts "
          f"({args.concurrency} at a time) over 2 replicas; rounds with exactly one success "
          f"{sum(r['successes'] == 1 for r in rounds)}/{len(rounds)}, won on A {wins['A']}, "
          f"on B {wins['B']}; all statuses {dict(sorted(total.items(), key=str))}; "
          f"bad rounds {bad or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/tapd")
    parser.add_argument("--database-url", help="a PostgreSQL server "
                        "(postgres://user@host:port/db): "
                        "the replicas share a fresh database created on it, dropped afterwards")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64,
                        help="attempts in flight at once (the first this many are sent together)")
    sys.exit(asyncio.run(main(parser.parse_args())))
