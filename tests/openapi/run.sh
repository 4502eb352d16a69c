#!/usr/bin/env bash
# schemathesis over tapd's own OpenAPI document: installs schemathesis into a venv (kept between
# runs), starts a real `tapd serve` on a fresh SQLite data dir, signs the first Global
# Administrator in with the pass the first start prints, and lets schemathesis generate requests
# from /openapi.json for every operation (examples, coverage, fuzzing, then stateful sequences
# along the links it infers) with the admin's token. It fails on any 5xx, any answer that breaks
# the document (status, content type, headers, schema), any schema-invalid request the server
# accepts, and on a server that isn't healthy afterwards.
#   TAPD_ST_EXAMPLES   test cases per operation and phase (default 40)
#   TAPD_ST_SEED       the random seed (default 1, so that CI runs the same cases each time;
#                      give another, or $RANDOM, to explore)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${TAPD_ST_VENV:-$root/target/st-venv}
python=${PYTHON:-python3}
examples=${TAPD_ST_EXAMPLES:-40}
seed=${TAPD_ST_SEED:-1}

if [ ! -x "$venv/bin/st" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
  echo "installing schemathesis into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  cp "$here/requirements.txt" "$venv/requirements.txt"
fi

cargo build --quiet --bin tapd --manifest-path "$root/Cargo.toml"
tapd="$root/target/debug/tapd"
work=$(mktemp -d)
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
export TAPD_DATA_DIR="$work/data"
"$tapd" serve --listen "127.0.0.1:$port" --public-url "$url" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  "$tapd" healthcheck --server "$url" >/dev/null 2>&1 && break
  sleep 0.1
done
"$tapd" healthcheck --server "$url"

admin=$(sed -n 's/^First administrator: //p' "$work/serve.out")
pass=$(sed -n 's/^One-time Temporary Access Pass: //p' "$work/serve.out")
[ -n "$pass" ] || { echo "tapd did not print the first pass" >&2; cat "$work/serve.out" >&2; exit 1; }
token=$(curl -sf "$url/api/signin/tap" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$admin\",\"code\":\"$pass\"}" \
  | "$python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# The admin's own id, UPN, role assignment and pass (its session ends with the pass), which the hooks keep out of PATCH and DELETE.
me=$(curl -sf "$url/v1.0/me" -H "Authorization: Bearer $token" \
  | "$python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
assignment=$(curl -sf -G "$url/v1.0/roleManagement/directory/roleAssignments" \
  --data-urlencode "\$filter=principalId eq '$me'" -H "Authorization: Bearer $token" \
  | "$python" -c 'import json,sys; print(",".join(a["id"] for a in json.load(sys.stdin)["value"]))')
own_pass=$(curl -sf "$url/v1.0/me/authentication/temporaryAccessPassMethods" -H "Authorization: Bearer $token" \
  | "$python" -c 'import json,sys; print(",".join(p["id"] for p in json.load(sys.stdin)["value"]))')
export TAPD_ST_PROTECTED="$me,$admin,$assignment,$own_pass" SCHEMATHESIS_HOOKS=hooks
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"

echo "schemathesis over $url/openapi.json as $admin ($examples cases per operation, seed $seed)"
status=0
# schemathesis keeps its cache in the working directory: the run's own. One worker: with two
# threads, Hypothesis describing its lambdas can hit CPython 3.11's thread-unsafe AST
# constructor ("AST constructor recursion depth mismatch"), a runtime error in the tool itself.
cd "$work"
"$venv/bin/st" run "$url/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,ignored_auth,use_after_free,ensure_resource_availability \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$examples" --seed "$seed" --workers 1 \
  --suppress-health-check filter_too_much \
  --request-timeout 10 --no-color --report junit --report-dir "$work/report" || status=$?

# The server is still healthy, and logged no panic.
"$tapd" healthcheck --server "$url"
if grep -q "panicked" "$work/serve.err"; then
  echo "tapd panicked during the run:" >&2
  grep -B2 -A5 "panicked" "$work/serve.err" >&2
  status=1
fi
exit $status
