#!/bin/sh
# Runs the full set of tapd-bench runs and plots them into one folder:
#   SQLite and PostgreSQL at the default size, each with the concurrency sweep;
#   both again with a directory of a million users seeded in bulk;
#   PostgreSQL with two replicas on one database (and the one-success-per-pass check).
#
#   scripts/bench/run-all.sh OUT_DIR
#
# Needs a release build (cargo build --release --bin tapd --bin tapd-bench) and PostgreSQL at
# $TAPD_BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432/postgres). Each run's table
# goes to OUT_DIR/<name>.txt, its figures to OUT_DIR/<name>.json, the plots to OUT_DIR/*.svg.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 OUT_DIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bench="${TAPD_BENCH:-$root/target/release/tapd-bench}"
postgres="${TAPD_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
sweep=1,4,16,64,256
mkdir -p "$out"

if [ ! -x "$bench" ]; then
    echo "$bench not found: cargo build --release --bin tapd --bin tapd-bench" >&2
    exit 1
fi

run() {
    name=$1
    shift
    echo "== $name: tapd-bench $*"
    "$bench" "$@" --json "$out/$name.json" | tee "$out/$name.txt"
}

run sqlite --sweep "$sweep"
run postgres --postgres "$postgres" --sweep "$sweep"
run sqlite-1m --directory 1000000
run postgres-1m --postgres "$postgres" --directory 1000000
run postgres-2-replicas --postgres "$postgres" --replicas 2 --sweep "$sweep"

python3 "$here/plot.py" "$out" "$out"/*.json
for svg in "$out"/*.svg; do
    python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$svg"
done
echo "done: $out"
