"""What the load scripts share: a fresh `tapd serve`, a tiny HTTP/1.1 client over asyncio
streams (no third-party packages), and a few statistics. Standard library only."""

import asyncio
import json
import os
import re
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `tapd serve` on a fresh data dir, default settings but the port."""

    def __init__(self, binary):
        self.binary = os.path.abspath(binary)
        self.work = tempfile.mkdtemp(prefix="tapd-load-")
        self.port = free_port()
        self.env = dict(os.environ, TAPD_DATA_DIR=os.path.join(self.work, "data"))
        self.env.pop("TAPD_DATABASE_URL", None)
        out = open(os.path.join(self.work, "serve.out"), "w")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.base = ("127.0.0.1", self.port)
        for _ in range(200):
            text = open(os.path.join(self.work, "serve.out")).read()
            pass_ = re.search(r"Temporary Access Pass: (\S+)", text)
            admin = re.search(r"First administrator: (\S+)", text)
            if pass_ and admin and "listening" in text:
                self.admin, self.first_pass = admin.group(1), pass_.group(1)
                return
            time.sleep(0.05)
        raise RuntimeError("tapd did not start: " + text)

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def app_create(self):
        out = subprocess.check_output(
            [self.binary, "app", "create", "--name", "load", "--json",
             "--permission", "User.Read.All"], env=self.env)
        app = json.loads(out)
        return app["client_id"], app["client_secret"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


async def request(base, method, path, body=b"", headers=None, source=None, timeout=60):
    """One request on its own connection: (status, headers, body, seconds)."""
    start = time.perf_counter()
    local = (source, 0) if source else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(base[0], base[1], local_addr=local), timeout)
    try:
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
