#!/usr/bin/env bash
# Mail delivery against a real SMTP server: installs aiosmtpd into a venv (kept between runs),
# starts it on a free loopback port saving each message to a folder, starts a real `tapd serve`
# configured to mail through it (`[smtp]`, security "none"), and runs check.py: passes mailed to
# a user and to their manager arrive at the right address, carry the one-time link and never
# the code, and the link shows the pass once, which then signs in; `tapd tap bulk --email user`
# mails every user of a file their own link.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${TAPD_MAIL_VENV:-$root/target/mail-venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  echo "installing aiosmtpd into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

cargo build --quiet --bin tapd --manifest-path "$root/Cargo.toml"
tapd="$root/target/debug/tapd"
work=$(mktemp -d)
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
smtp_port=$(free_port)
port=$(free_port)
url="http://127.0.0.1:$port"

"$venv/bin/python" "$here/smtp_sink.py" "$smtp_port" "$work/mail" >"$work/smtp.out" 2>&1 &
sink=$!
cat >"$work/tapd.toml" <<TOML
[smtp]
host = "127.0.0.1"
port = $smtp_port
security = "none"
from = "tapd <tapd@tapd.local>"
TOML
export TAPD_DATA_DIR="$work/data"
"$tapd" serve --config "$work/tapd.toml" --listen "127.0.0.1:$port" --public-url "$url" \
  >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server $sink 2>/dev/null || true; wait $server $sink 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  "$tapd" healthcheck --server "$url" >/dev/null 2>&1 && break
  sleep 0.1
done
"$tapd" healthcheck --server "$url"
for _ in $(seq 1 100); do grep -q "smtp sink" "$work/smtp.out" && break; sleep 0.1; done

admin=$(sed -n 's/^First administrator: //p' "$work/serve.out")
pass=$(sed -n 's/^One-time Temporary Access Pass: //p' "$work/serve.out")
[ -n "$pass" ] || { echo "tapd did not print the first pass" >&2; cat "$work/serve.out" >&2; exit 1; }
TAPD_BIN="$tapd" "$python" "$here/check.py" "$url" "$admin" "$pass" "$work/mail"
