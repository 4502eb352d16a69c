#!/usr/bin/env bash
# Builds tapd's Debian package (cargo deb), installs it on this machine with dpkg, starts the
# packaged binary the way its systemd unit does (the unit's User, WorkingDirectory, Environment
# and ExecStart, read from the installed unit; systemd itself need not run here), checks it
# with `tapd healthcheck`, `tapd recover` and a graceful stop, then removes and purges the
# package and checks what each leaves behind. Needs root. Reuses target/release/tapd when it is
# newer than the sources; installs cargo-deb (crates.io) when it is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
started=$(date +%s)

if [ "$(id -u)" != 0 ]; then echo "tests/package/run.sh installs a package: run it as root" >&2; exit 1; fi
if dpkg -s tapd >/dev/null 2>&1; then
  echo "the tapd package is installed on this machine already: not touching it" >&2; exit 1
fi
if [ -e /var/lib/tapd ]; then
  echo "/var/lib/tapd exists (a tapd installed by hand, or an earlier run that was killed): remove it first" >&2
  exit 1
fi
if ! cargo deb --version >/dev/null 2>&1; then
  echo "installing cargo-deb"
  cargo install cargo-deb --locked --quiet
fi

# TAPD_PACKAGE_PROFILE=dev packages the debug binary the earlier CI steps built (what is tested
# here is the packaging, and a release build would add a quarter of an hour on two cores).
profile=${TAPD_PACKAGE_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --quiet -p tapd
else
  cargo build --quiet --bin tapd
fi
deb=$(cargo deb -p tapd --no-build --profile "$profile" --quiet 2>/dev/null | tail -1)
[ -f "$deb" ] || { echo "cargo deb made no package ($deb)" >&2; exit 1; }
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends|Architecture):'
dpkg-deb --contents "$deb" | awk '{print "  " $6}'

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if dpkg -s tapd >/dev/null 2>&1; then dpkg --purge tapd >/dev/null 2>&1 || true; fi
  rm -rf /var/lib/tapd "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== dpkg -i"
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i"; }
unit=""
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  [ -f "$dir/tapd.service" ] && unit="$dir/tapd.service" && break
done
[ -n "$unit" ] || fail "no tapd.service installed"
[ -x /usr/bin/tapd ] || fail "/usr/bin/tapd missing"
[ -f /etc/tapd/tapd.toml ] || fail "/etc/tapd/tapd.toml missing"
dpkg-query --showformat='${Conffiles}\n' --show tapd | grep -q /etc/tapd/tapd.toml || fail "the config is not a conffile"
getent passwd tapd >/dev/null || fail "no tapd system user"
[ "$(stat -c %U:%a /var/lib/tapd)" = "tapd:700" ] || fail "/var/lib/tapd is $(stat -c %U:%a /var/lib/tapd)"
[ "$(stat -c %U:%G:%a /etc/tapd/tapd.toml)" = "root:tapd:640" ] || fail "/etc/tapd/tapd.toml is $(stat -c %U:%G:%a /etc/tapd/tapd.toml)"
if command -v systemd-analyze >/dev/null && systemd-analyze verify "$unit" >"$work/verify.log" 2>&1; then
  echo "systemd-analyze verify: ok"
else
  echo "systemd-analyze verify could not check the unit here:"; sed 's/^/  /' "$work/verify.log" 2>/dev/null | head -5 || true
fi

# The unit's own settings, so that this test follows the unit when it changes.
key() { sed -n "s/^$1=//p" "$unit" | head -1; }
user=$(key User); workdir=$(key WorkingDirectory); exec_start=$(key ExecStart)
environment=$(sed -n 's/^Environment=//p' "$unit")
[ "$user" = tapd ] && [ "$workdir" = /var/lib/tapd ] || fail "unexpected unit: User=$user WorkingDirectory=$workdir"
echo "unit: User=$user WorkingDirectory=$workdir ExecStart=$exec_start Environment=$environment"

# The packaged config listens on 127.0.0.1:8080; a free port keeps this test off whatever
# else runs here (TAPD_LISTEN overrides the file, as any TAPD_ key does).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "== starting the packaged tapd as systemd would (port $port)"
# shellcheck disable=SC2086 # ExecStart and Environment are word lists, as systemd splits them.
(cd "$workdir" && exec setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
   env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $environment TAPD_LISTEN="127.0.0.1:$port" \
   $exec_start) >"$work/journal.out" 2>"$work/journal.err" &
server=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  /usr/bin/tapd healthcheck --server "$url" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/journal.err"; fail "tapd exited"; }
  sleep 0.1
done
/usr/bin/tapd healthcheck --server "$url" || { cat "$work/journal.err"; fail "healthcheck"; }
grep -q '^One-time Temporary Access Pass: ' "$work/journal.out" || fail "the first start printed no pass"
grep -q '^First administrator: admin@tapd.local' "$work/journal.out" || fail "no first administrator"
[ "$(stat -c %U /var/lib/tapd/tapd.db)" = tapd ] || fail "the database is not the tapd user's"
[ "$(stat -c %U:%a /var/lib/tapd/keys/hmac.key)" = "tapd:600" ] || fail "the HMAC key is $(stat -c %U:%a /var/lib/tapd/keys/hmac.key)"
echo "first start printed the admin's pass (under systemd: journalctl -u tapd)"

# README: later passes come from `tapd recover`, run as the service's user beside the server.
(cd /var/lib/tapd && runuser -u tapd -- /usr/bin/tapd recover --upn admin@tapd.local --config /etc/tapd/tapd.toml) \
  >"$work/recover.out" 2>&1 || { cat "$work/recover.out"; fail "tapd recover"; }
grep -q 'One-time Temporary Access Pass for admin@tapd.local' "$work/recover.out" || fail "recover printed no pass"
(cd /var/lib/tapd && runuser -u tapd -- /usr/bin/tapd backup --to /var/lib/tapd/backup-test --config /etc/tapd/tapd.toml) \
  >"$work/backup.out" 2>&1 || { cat "$work/backup.out"; fail "tapd backup"; }
[ -f /var/lib/tapd/backup-test/manifest.json ] || fail "backup wrote no manifest"
rm -rf /var/lib/tapd/backup-test
echo "recover and backup work as the tapd user"

kill -HUP "$server"; sleep 0.3
kill -0 "$server" 2>/dev/null || fail "SIGHUP (systemctl reload) stopped tapd"
kill -TERM "$server"
wait "$server" || fail "tapd did not stop cleanly on SIGTERM"
server=""
grep -q 'tapd stopped' "$work/journal.err" || fail "no graceful stop in the log"

echo "== dpkg -r"
dpkg -r tapd >"$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "dpkg -r"; }
[ ! -e /usr/bin/tapd ] || fail "/usr/bin/tapd left after remove"
[ ! -e "$unit" ] || fail "$unit left after remove"
[ -f /etc/tapd/tapd.toml ] || fail "remove must keep the conffile"
echo "== dpkg --purge"
dpkg --purge tapd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
[ ! -e /etc/tapd ] || fail "/etc/tapd left after purge"
[ -f /var/lib/tapd/tapd.db ] || fail "purge must keep the database"
dpkg -s tapd >/dev/null 2>&1 && fail "still known to dpkg"
echo "purge removed /etc/tapd and kept /var/lib/tapd, as documented"
echo "package test passed in $(( $(date +%s) - started ))s"
