#!/usr/bin/env bash
# Cold RS256 verification against openssl's RSA-2048 verify on the same core, RUNS times
# (default 3): criterion's verify_cold_rs256 (a full tokengate verification: parse, key
# lookup, signature, claims, identity) and `openssl speed rsa2048`, both pinned to CPU 1.
# Prints each run's verify/s and ratio, then the median ratio (target >= 0.85).
# Usage: [RUNS=3] bench/verify.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"
cargo bench --locked --bench hot_path --no-run -q 2>/dev/null
BENCH=$(ls -t target/release/deps/hot_path-* | grep -v '\.d$' | head -1)
RATIOS=()
for n in $(seq "$RUNS"); do
  US=$(taskset -c 1 "$BENCH" --bench verify_cold_rs256 --measurement-time 5 --warm-up-time 2 2>/dev/null |
    awk '/time:/ { v = $5; u = $6; if (u == "ns") v /= 1000; if (u == "ms") v *= 1000; print v; exit }')
  OURS=$(awk -v us="$US" 'BEGIN { printf "%.0f", 1000000 / us }')
  OPENSSL=$(taskset -c 1 openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ { printf "%.0f", $NF }')
  R=$(awk -v a="$OURS" -v b="$OPENSSL" 'BEGIN { printf "%.2f", a / b }')
  RATIOS+=("$R")
  echo "run $n: tokengate cold verify ${US} us = ${OURS}/s; openssl rsa2048 ${OPENSSL} verify/s; ratio $R"
done
printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; print "median ratio over " NR " runs: " m "  (target >= 0.85)" }'
