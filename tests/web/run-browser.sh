#!/usr/bin/env bash
# The browser suite: installs Debian's Chromium and the npm packages if missing, starts
# `tapd serve` on http://localhost:PORT (the RP ID of passkeys is `localhost`; browsers refuse an
# IP address) with a fresh SQLite data dir, and runs browser.mjs. Screenshots land in
# artifacts/browser/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
install_npm_packages
unset TAPD_WEB_DATABASE_URL
TAPD_HOST=localhost start_tapd

source "$here/organizations.sh"

admin_upn=$(sed -n 's/^First administrator: //p' "$serve_out")
admin_pass=$(sed -n 's/^One-time Temporary Access Pass: //p' "$serve_out")
[ -n "$admin_pass" ] || { echo "tapd did not print the first pass" >&2; cat "$serve_out" >&2; exit 1; }

TAPD_URL="$url" TAPD_BIN="$tapd" TAPD_CLI_SERVER="http://127.0.0.1:$port" ADMIN_UPN="$admin_upn" ADMIN_PASS="$admin_pass" TAPD_DB="$TAPD_DATA_DIR/tapd.db" \
  ARTIFACTS="${ARTIFACTS:-$root/artifacts/browser}" node "$here/browser.mjs"
