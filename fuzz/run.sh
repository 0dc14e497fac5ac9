#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 20) from the committed seeds, on
# the nightly toolchain, and fails on the first crash, panic or assertion. CI runs it with
# the default; a long run: `SECONDS_EACH=600 KEEP_GOING=1 nice -n 19 fuzz/run.sh`
# (BENCHMARKS.md, "Fuzzing"). Targets run one at a time. Prints, per target, the executions
# done (libFuzzer's final stats), the corpus size reached and the crashes found.
# KEEP_GOING=1: a crashing target does not stop the others (the exit status is still 1).
# LOG_DIR=dir: keep each target's libFuzzer log there.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH="${SECONDS_EACH:-20}"
TARGETS="${TARGETS:-$(cargo +nightly fuzz list)}"
# No sanitizer: tokengate forbids unsafe code, so what the fuzzer hunts is panics, failed
# assertions, endless loops and runaway allocation, all of which libFuzzer reports by
# itself; AddressSanitizer would triple the build time of aws-lc and buy nothing here.
SANITIZER="${SANITIZER:-none}"
cargo +nightly fuzz build --sanitizer "$SANITIZER"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=0
for t in $TARGETS; do
  mkdir -p "$work/$t"
  cp -r "seeds/$t/." "$work/$t/" 2>/dev/null || true
  log="${LOG_DIR:-$work}/$t.log"
  mkdir -p "$(dirname "$log")"
  if ! cargo +nightly fuzz run --sanitizer "$SANITIZER" "$t" "$work/$t" -- \
      -max_total_time="$SECONDS_EACH" -dict=dict/json.dict -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $t FAILED (artifact under fuzz/artifacts/$t/)" >&2
    [ "${KEEP_GOING:-0}" = 1 ] || exit 1
    failed=1
    continue
  fi
  runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
  echo "fuzz: $t ok, $runs executions in ${SECONDS_EACH}s, corpus $(ls "$work/$t" | wc -l) inputs, 0 crashes"
done
exit "$failed"
