#!/usr/bin/env bash
# Runs Microsoft's Graph SDK for Python (msgraph-sdk, unmodified) against a real `tapd serve`:
# installs the SDK into a venv (kept between runs), starts tapd on a fresh data dir (SQLite, or
# the database TAPD_SDK_DATABASE_URL names), registers an app with client credentials, creates a
# user, and runs test_tap_sdk.py (and the checks it lists in EXTRA_CHECKS) with the app's bearer
# token.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${TAPD_SDK_VENV:-$root/target/graph-sdk-venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  echo "installing msgraph-sdk into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-compile -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

cargo build --quiet --bin tapd --manifest-path "$root/Cargo.toml"
tapd="$root/target/debug/tapd"
work=$(mktemp -d)
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
export TAPD_DATA_DIR="$work/data"
if [ -n "${TAPD_SDK_DATABASE_URL:-}" ]; then export TAPD_DATABASE_URL="$TAPD_SDK_DATABASE_URL"; fi

# The public URL is the URL the SDK is given: @odata.nextLink is built from it, and the SDK sends
# its token only to the host of its base URL.
"$tapd" serve --listen "127.0.0.1:$port" --public-url "$url" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  "$tapd" healthcheck --server "$url" >/dev/null 2>&1 && break
  sleep 0.1
done
"$tapd" healthcheck --server "$url"

creds=$("$tapd" app create --name "graph-sdk-test" --json \
  --permission Policy.ReadWrite.AuthenticationMethod \
  --permission UserAuthenticationMethod.ReadWrite.All \
  --permission User.ReadWrite.All \
  --permission AuditLog.Read.All \
  --permission Domain.ReadWrite.All \
  --permission Policy.ReadWrite.CrossTenantAccess)
client_id=$(printf '%s' "$creds" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')
client_secret=$(printf '%s' "$creds" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')
token=$(curl -sf "$url/oauth2/v2.0/token" \
  --data-urlencode grant_type=client_credentials \
  --data-urlencode "client_id=$client_id" \
  --data-urlencode "client_secret=$client_secret" \
  --data-urlencode scope=https://graph.microsoft.com/.default \
  | "$python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -o /dev/null "$url/v1.0/users" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"accountEnabled":true,"displayName":"SDK User","mailNickname":"sdkuser","userPrincipalName":"sdkuser@tapd.local"}'

TAPD_URL="$url" TAPD_TOKEN="$token" TAPD_USER="sdkuser@tapd.local" "$venv/bin/python" "$here/test_tap_sdk.py"
