#!/usr/bin/env bash
# User-space instructions per request, counted by valgrind's callgrind: the one measure of the
# proxy path that does not move with the machine's load (instructions are counted, not timed;
# the kernel's share and cache misses are not in it: bench/load.sh measures those).
# For each server: 2 s of wrk as warm-up, then callgrind's counters zeroed, SECONDS of wrk
# (1 thread, 64 keep-alive connections, a valid Cognito-shaped RS256 access token), the
# counters dumped, and their total divided by the requests wrk counted.
#   nginx        nginx plain reverse proxy (proxy_pass, upstream keep-alive): the reference
#   none         tokengate, a route with `auth: none` (pure proxying)
#   cache        tokengate with the verified-token cache
#   nocache      tokengate with `cache_entries: 0` (an RSA-2048 check per request)
#   flood        tokengate with cache, every request a well-formed token with a random
#                unknown `kid` (401; the refetch floor allows one JWKS fetch), as load.sh's
# Usage: [BASE_BIN=path] [TG_BIN=path] [KEEP=dir] bench/instructions.sh [seconds, default 3]
#   BASE_BIN: another tokengate binary counted the same way (rows `@base`), for an A/B;
#   TG_BIN: count this binary instead of building one; KEEP: keep the callgrind files there
#   (`callgrind_annotate --inclusive=yes FILE` shows where the instructions go).
# Needs: valgrind, nginx, wrk, openssl, curl, taskset (BENCHMARKS.md, "Instructions").
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-3}"
for tool in valgrind callgrind_control callgrind_annotate nginx wrk openssl curl taskset; do
  command -v "$tool" >/dev/null || { echo "bench/instructions.sh needs $tool" >&2; exit 1; }
done
if [ -n "${TG_BIN:-}" ]; then BIN="$TG_BIN"; else
  cargo build --release --locked -q
  BIN="$PWD/target/release/tokengate"
fi
WORK="$(mktemp -d)"
chmod 755 "$WORK"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# --- a signing key, its JWKS and a token; the nginx configurations (bench/common.sh) ---
. bench/common.sh
bench_token 18281
bench_nginx_confs 18281 18282
# The flood's tokens: 2,000 random kids (bench/load.sh makes the same).
bench_flood_lua

taskset -c 0 nginx -c "$WORK/upstream.conf" -p "$WORK" & PIDS+=($!)

# Counts one server: $1 row name, $2 pid (under callgrind), $3 URL, $4 a wrk script (or none).
count() {
  local load=(-H "$AUTH")
  if [ -n "${4:-}" ]; then load=(-s "$4"); fi
  taskset -c 0 wrk -t1 -c64 -d2s "${load[@]}" "$3" >/dev/null
  callgrind_control -z "$2" >/dev/null 2>&1
  local out n file ir
  out=$(taskset -c 0 wrk -t1 -c64 -d"${SECS}s" "${load[@]}" "$3")
  callgrind_control -d "$2" >/dev/null 2>&1
  sleep 1
  n=$(echo "$out" | awk '/requests in/ { print $1 }')
  file=$(ls -t "$WORK"/cg-"$2".out.* | head -1)
  ir=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp "$file" "$KEEP/$1.callgrind"; fi
  if [ -z "$n" ] || [ "$n" = 0 ] || [ -z "$ir" ]; then echo "$1: no count (wrk: $out)" >&2; exit 1; fi
  awk -v n="$n" -v ir="$ir" -v name="$1" 'BEGIN { printf "%-16s %8d requests %9.0f instructions/request\n", name, n, ir / n }'
}
under_callgrind() { # $1 out prefix, rest: the command; prints the pid
  taskset -c 1 valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-%p.out" "${@:2}" \
    > "$WORK/$1.log" 2>&1 &
  echo $!
}
ready() { # $1 admin port
  for _ in $(seq 600); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "tokengate never became ready under valgrind" >&2; exit 1
}

pid=$(under_callgrind nginx nginx -c "$WORK/proxy.conf" -p "$WORK"); PIDS+=("$pid")
sleep 3
count nginx "$pid" http://127.0.0.1:18282/
kill "$pid"

port=18283
measure_tg() { # $1 label suffix, $2 binary
  local cache
  for cache in 65536 0; do
    cat > "$WORK/tg-$port.yaml" <<YAML
mode: proxy
server: { listen: 127.0.0.1:$port, header_read_timeout: 120s }
admin: { listen: 127.0.0.1:$((port + 100)) }
upstream: { url: http://127.0.0.1:18281 }
issuers:
  - name: bench
    cognito: { issuer: '$ISS' }
    client_ids: [bench]
token: { cache_entries: $cache }
routes:
  - { match: { path_prefix: /open }, auth: none }
  - { match: { path_prefix: / } }
log: { access_log: false, level: warn }
YAML
    local tg
    tg=$(under_callgrind "tg-$port" "$2" run --config "$WORK/tg-$port.yaml"); PIDS+=("$tg")
    ready $((port + 100))
    if [ "$cache" = 0 ]; then
      count "nocache$1" "$tg" "http://127.0.0.1:$port/"
    else
      count "none$1" "$tg" "http://127.0.0.1:$port/open"
      count "cache$1" "$tg" "http://127.0.0.1:$port/"
      count "flood$1" "$tg" "http://127.0.0.1:$port/" "$WORK/flood.lua"
    fi
    kill "$tg"
    port=$((port + 1))
  done
}
measure_tg "" "$BIN"
if [ -n "${BASE_BIN:-}" ]; then measure_tg "@base" "$BASE_BIN"; fi
