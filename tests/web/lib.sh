# Shared by run-oidc.sh and run-browser.sh: npm packages, and a `tapd serve` on a free port with a
# fresh data dir, stopped on exit. Sets: tapd, work, port, url, python, serve_out.
python=${PYTHON:-python3}

install_npm_packages() {
  if [ ! -d "$here/node_modules/openid-client" ] || [ ! -d "$here/node_modules/playwright-core" ] \
     || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    echo "installing npm packages into $here/node_modules"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

start_tapd() {
  cargo build --quiet --bin tapd --manifest-path "$root/Cargo.toml"
  tapd="$root/target/debug/tapd"
  work=$(mktemp -d)
  port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  url="http://${TAPD_HOST:-127.0.0.1}:$port"
  export TAPD_DATA_DIR="$work/data"
  if [ -n "${TAPD_WEB_DATABASE_URL:-}" ]; then export TAPD_DATABASE_URL="$TAPD_WEB_DATABASE_URL"; fi
  serve_out="$work/serve.out"
  "$tapd" serve --listen "127.0.0.1:$port" --public-url "$url" >"$serve_out" 2>"$work/serve.err" &
  server=$!
  trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do
    "$tapd" healthcheck --server "http://127.0.0.1:$port" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$tapd" healthcheck --server "http://127.0.0.1:$port"
}
