#!/usr/bin/env bash
# Fuzzes tapd's parsers for a bounded time: builds every cargo-fuzz target of fuzz/ once on
# nightly, runs each for SECONDS_PER_TARGET (default 20) from the committed seeds in
# fuzz/seeds/<target>/ (with fuzz/dicts/<target>.dict, when there is one, for the words its
# parser knows), and prints one line per target with the executions it ran. Exits
# non-zero if any target crashed, timed out or ran out of memory; the input that did it is kept
# in fuzz/artifacts/<target>/ (reproduce: cargo +nightly fuzz run <target> <file>).
#
# usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${1:-20}
case $seconds in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "cargo-fuzz needs the nightly toolchain: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: installing it"
  cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build
bin=target/x86_64-unknown-linux-gnu/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0
for target in $(cargo fuzz list); do
  corpus="$work/$target"
  mkdir -p "$corpus" "artifacts/$target"
  if [ -d "seeds/$target" ]; then cp seeds/"$target"/* "$corpus"/; fi
  dict=()
  if [ -f "dicts/$target.dict" ]; then dict=(-dict="dicts/$target.dict"); fi
  log="$work/$target.log"
  # -timeout: seconds one input may take; -rss_limit_mb: the memory the whole run may take.
  if "$bin/$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
    >"$log" 2>&1; then
    outcome=ok
  else
    outcome="FAILED (input in fuzz/artifacts/$target/)"
    failed=1
    grep -E -A1 '^thread .* panicked' "$log" | head -4 || true
    grep -E '^(==[0-9]+== ?ERROR|SUMMARY)' "$log" | head -2 || true
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-14s %12s executions in %ss  %s\n' "$target" "${runs:-?}" "$seconds" "$outcome"
done
exit "$failed"
