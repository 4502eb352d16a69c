#!/usr/bin/env python3
"""Issue 9 item 1, measured: a burst of unauthenticated password and client-secret attempts
against a release `tapd serve` on default settings, and what it does to memory and to Graph.

    cargo build --release --bin tapd
    python3 tests/load/hash_burst.py [--binary target/release/tapd] [--requests 1000]

Thirds of the burst: `POST /api/signin/password` for an unknown user, the same for a known
user with a wrong password, and wrong-secret `client_credentials` at `/oauth2/v2.0/token`
(half for a registered client, half for unknown client ids). All are sent at once, each on
its own connection, spread over `--sources` loopback addresses (127.0.0.x) so that the
per-address sign-in limit does not turn most away before they reach the hashing. Meanwhile
an admin reads `GET /v1.0/users` in a loop. Prints RSS before, at peak and ten seconds after,
the statuses, and the Graph latency during the burst. Standard library only.
"""

import argparse
import asyncio
import collections
import json
import time
import uuid

from common import Server, admin_token, percentile, post_json, request


async def attempts(server, n, sources, client_id):
    bodies = []
    for i in range(n):
        source = f"127.0.{1 + (i % sources) // 250}.{1 + (i % sources) % 250}"
        kind = i % 3
        if kind == 0:
            bodies.append(("unknown user", "/api/signin/password", "json",
                           {"username": f"nobody{i}@tapd.local", "password": "guess"}, source))
        elif kind == 1:
            bodies.append(("known user", "/api/signin/password", "json",
                           {"username": "victim@tapd.local", "password": f"guess{i}"}, source))
        else:
            cid = client_id if i % 2 else str(uuid.uuid4())
            form = f"grant_type=client_credentials&client_id={cid}&client_secret=wrong{i}"
            bodies.append(("wrong secret", "/oauth2/v2.0/token", "form", form, source))

    async def one(kind, path, enc, body, source):
        try:
            if enc == "json":
                status, *_ = await post_json(server.base, path, body, source=source)
            else:
                status, *_ = await request(
                    server.base, "POST", path, body.encode(),
                    {"Content-Type": "application/x-www-form-urlencoded"}, source)
            return kind, status
        except Exception as e:  # a refused or dropped connection counts too
            return kind, type(e).__name__

    return await asyncio.gather(*(one(*b) for b in bodies))


async def graph_probe(server, token, stop, latencies):
    while not stop.is_set():
        status, _, _, elapsed = await request(
            server.base, "GET", "/v1.0/users", headers={"Authorization": f"Bearer {token}"})
        if status == 200:
            latencies.append(elapsed * 1000)
        await asyncio.sleep(0.01)


async def rss_sampler(server, stop, peak):
    while not stop.is_set():
        peak[0] = max(peak[0], server.rss_kb())
        await asyncio.sleep(0.02)


async def main(args):
    server = Server(args.binary)
    try:
        token = await admin_token(server)
        status, _, body, _ = await post_json(server.base, "/v1.0/users", {
            "accountEnabled": True, "displayName": "Victim", "mailNickname": "victim",
            "userPrincipalName": "victim@tapd.local",
            "passwordProfile": {"password": "the right password",
                                "forceChangePasswordNextSignIn": False}}, token=token)
        assert status == 201, body
        client_id, _ = server.app_create()
        quiet = []
        for _ in range(50):
            _, _, _, elapsed = await request(
                server.base, "GET", "/v1.0/users", headers={"Authorization": f"Bearer {token}"})
            quiet.append(elapsed * 1000)
        before = server.rss_kb()

        stop, latencies, peak = asyncio.Event(), [], [before]
        probe = asyncio.create_task(graph_probe(server, token, stop, latencies))
        sampler = asyncio.create_task(rss_sampler(server, stop, peak))
        started = time.perf_counter()
        results = await attempts(server, args.requests, args.sources, client_id)
        took = time.perf_counter() - started
        stop.set()
        await asyncio.gather(probe, sampler)
        peak_kb = max(peak[0], server.rss_kb())
        await asyncio.sleep(10)
        after = server.rss_kb()
    finally:
        server.stop()

    counts = collections.defaultdict(collections.Counter)
    for kind, status in results:
        counts[kind][status] += 1
    print(json.dumps({
        "requests": args.requests, "sources": args.sources, "burst_seconds": round(took, 2),
        "rss_mb": {"before": round(before / 1024, 1), "peak": round(peak_kb / 1024, 1),
                   "after_10s": round(after / 1024, 1)},
        "graph_users_ms": {
            "quiet_p50": round(percentile(quiet, 50), 2),
            "burst_p50": round(percentile(latencies, 50), 2),
            "burst_p95": round(percentile(latencies, 95), 2),
            "burst_samples": len(latencies)},
        "statuses": {k: dict(v) for k, v in counts.items()},
    }, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default="target/release/tapd")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=250,
                        help="loopback source addresses to spread the burst over (1 = all from 127.0.0.1)")
    asyncio.run(main(parser.parse_args()))
