#!/usr/bin/env bash
# Soak: mixed traffic through a real tokengate on loopback for SOAK_SECONDS (default 1800),
# with JWKS rotation, a JWKS outage, configuration changes (SIGHUP and file), revocations,
# upstream faults, WebSocket and h2c streams, slow clients and random-kid floods. The driver
# is examples/soak.rs (its header lists every criterion; every control event runs at a
# second fixed by SOAK_SECONDS alone); it prints a Markdown report and exits non-zero when
# any criterion fails. Not part of the test suite; .ci/run runs a 2-minute one after the
# tests.
#   SOAK_SECONDS=1800 bench/soak.sh            # BENCHMARKS.md, "Soak"
#   SOAK_SECONDS=120 bench/soak.sh             # what .ci/run runs (at least 120: shorter
#                                              # runs cannot fit every kind of event)
#   SOAK_RPS=150        requests per second the driver aims at
#   SOAK_REPORT=file    also write the report there
#   SOAK_NICE=10        run tokengate and the driver under `nice -n 10` (a shared machine)
# Builds the release binary (the one CI and the container build) and the driver in the dev
# profile (`cargo test` has built it already in CI, so this costs no compilation there).
# Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS="${SOAK_SECONDS:-1800}"
SOAK_RPS="${SOAK_RPS:-150}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --locked --bin tokengate
cargo build --locked --example soak
args=(--tokengate "$target/release/tokengate" --seconds "$SOAK_SECONDS" --rps "$SOAK_RPS")
if [ -n "${SOAK_REPORT:-}" ]; then args+=(--report "$SOAK_REPORT"); fi
exec nice -n "${SOAK_NICE:-0}" "$target/debug/examples/soak" "${args[@]}"
