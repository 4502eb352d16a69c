#!/usr/bin/env bash
# README's "Behind Caddy" setup for real: Debian's Caddy terminates TLS (its internal CA, for
# localhost) and proxies to a `tapd serve` on the loopback with trusted_proxies. Checks that
# tapd answers through Caddy with its https public URL, that the client tapd logs is the one
# Caddy names (a second loopback address, not Caddy's), and that a client can't choose its
# own address with X-Forwarded-For. Installs caddy from Debian when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v caddy >/dev/null; then
  echo "installing caddy from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null
fi
cargo build --quiet --bin tapd --manifest-path "$root/Cargo.toml"
tapd="$root/target/debug/tapd"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tapd_port=$(free_port); caddy_port=$(free_port)
cat >"$work/tapd.toml" <<TOML
listen = "127.0.0.1:$tapd_port"
data_dir = "$work/data"
public_url = "https://localhost:$caddy_port"
trusted_proxies = ["127.0.0.1/32", "::1"]
TOML
cat >"$work/Caddyfile" <<CADDY
{
	skip_install_trust
	admin off
}
localhost:$caddy_port {
	tls internal
	reverse_proxy 127.0.0.1:$tapd_port
}
CADDY
"$tapd" serve --config "$work/tapd.toml" >"$work/tapd.out" 2>"$work/tapd.err" &
tapd_pid=$!
XDG_DATA_HOME="$work/caddy" XDG_CONFIG_HOME="$work/caddy" \
  caddy run --config "$work/Caddyfile" --adapter caddyfile >"$work/caddy.log" 2>&1 &
caddy_pid=$!
trap 'kill $tapd_pid $caddy_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- tapd"; tail -5 "$work/tapd.err"; echo "--- caddy"; tail -5 "$work/caddy.log"; exit 1; }

url="https://localhost:$caddy_port"
for _ in $(seq 1 100); do
  curl -skf --interface 127.0.0.3 "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -skf --interface 127.0.0.3 "$url/healthz" >/dev/null || fail "no answer through Caddy"
issuer=$(curl -skf --interface 127.0.0.3 "$url/.well-known/openid-configuration" | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')
case "$issuer" in "$url/"*) ;; *) fail "issuer $issuer is not under $url" ;; esac
curl -sk --interface 127.0.0.3 -H 'X-Forwarded-For: 10.9.9.9' "$url/healthz" >/dev/null
sleep 0.3
grep 'tapd::access' "$work/tapd.err" | grep -q 'client=127.0.0.3' || fail "tapd did not log the client Caddy named"
if grep 'tapd::access' "$work/tapd.err" | grep -q 'client=10.9.9.9'; then fail "a client chose its own address"; fi
echo "caddy in front of tapd: ok (issuer $issuer, client addresses from Caddy)"
