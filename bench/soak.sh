#!/usr/bin/env bash
# Soak: mixed traffic through a real tokengate on loopback for SOAK_SECONDS (default 1800),
# with JWKS rotation, a JWKS outage, configuration changes (SIGHUP and file), revocations,
# upstream faults, WebSocket and h2c streams, slow clients and random-kid floods. The driver
# is examples/soak.rs (its header lists every criterion); it prints a Markdown report and
# exits non-zero when any criterion fails. Not part of the test suite; CI does not run it yet (see .ci/run).
#   SOAK_SECONDS=1800 bench/soak.sh            # BENCHMARKS.md, "Soak"
#   SOAK_RPS=150        requests per second the driver aims at
#   SOAK_REPORT=file    also write the report there
#   SOAK_NICE=10        run tokengate and the driver under `nice -n 10` (a shared machine)
# Builds the release binary (the one CI and the container build) and the driver in the dev
# profile (`cargo test` has built it already in CI, so this costs no compilation there).
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS="${SOAK_SECONDS:-1800}"
SOAK_RPS="${SOAK_RPS:-150}"
cargo build --release --locked --bin tokengate
cargo build --locked --example soak
args=(--tokengate "$PWD/target/release/tokengate" --seconds "$SOAK_SECONDS" --rps "$SOAK_RPS")
if [ -n "${SOAK_REPORT:-}" ]; then args+=(--report "$SOAK_REPORT"); fi
exec nice -n "${SOAK_NICE:-0}" target/debug/examples/soak "${args[@]}"
