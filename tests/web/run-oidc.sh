#!/usr/bin/env bash
# Runs a third-party OpenID Connect client (openid-client for Node.js, unmodified) against a real
# `tapd serve`: installs the npm packages (kept between runs), starts tapd on a fresh data dir
# (SQLite, or the database TAPD_WEB_DATABASE_URL names), registers three apps with the CLI and
# runs oidc-client.mjs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

install_npm_packages
start_tapd

redirect="http://127.0.0.1:$port/callback"
json() { "$python" -c "import json,sys; print(json.load(sys.stdin)[\"$1\"] or '')"; }
spa=$("$tapd" app create --name "OIDC test SPA" --spa-redirect-uri "$redirect" --json)
web=$("$tapd" app create --name "OIDC test web app" --redirect-uri "$redirect" --json)
admin=$("$tapd" app create --name "OIDC test admin" --json \
  --permission UserAuthenticationMethod.ReadWrite.All --permission User.ReadWrite.All)

TAPD_URL="$url" REDIRECT_URI="$redirect" \
  SPA_CLIENT_ID=$(printf '%s' "$spa" | json client_id) \
  WEB_CLIENT_ID=$(printf '%s' "$web" | json client_id) \
  WEB_CLIENT_SECRET=$(printf '%s' "$web" | json client_secret) \
  ADMIN_CLIENT_ID=$(printf '%s' "$admin" | json client_id) \
  ADMIN_CLIENT_SECRET=$(printf '%s' "$admin" | json client_secret) \
  node "$here/oidc-client.mjs"
