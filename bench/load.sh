#!/usr/bin/env bash
# Load benchmark: tokengate against nginx as a plain reverse proxy, on the same core.
#   upstream: nginx `return 200` (CPU 0) - the load generator wrk also runs on CPU 0
#   under test (CPU 1): nginx plain proxy | tokengate with cache | tokengate cache_entries: 0
# Prints requests/s, p50, p99, each as a ratio to nginx from the same run, openssl's
# RSA-2048 verify/s on one core, and tokengate's RSS idle and with 1,000 idle connections.
# Needs: nginx, wrk, openssl, python3, taskset (apt-get install -y nginx wrk).
# Usage: [RUNS=3] bench/load.sh [seconds per measurement, default 10]
# Each of RUNS rounds measures every case once; the medians of the ratios are printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNS=64
WORK="$(mktemp -d)"
chmod 755 "$WORK" # nginx workers (www-data) serve the JWKS file from here
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

cargo build --release --locked -q
BIN="$PWD/target/release/tokengate"

# --- a signing key, its JWKS and a token (openssl only) ---
KEY=tests/fixtures/keys/issuer-rsa2048.pem
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
N_HEX=$(openssl rsa -in "$KEY" -noout -modulus 2>/dev/null | cut -d= -f2)
N=$(printf '%s' "$N_HEX" | xxd -r -p | b64url)
mkdir -p "$WORK/www/pool/.well-known"
printf '{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}]}' "$N" \
  > "$WORK/www/pool/.well-known/jwks.json"
chmod -R a+rX "$WORK/www"
ISS="http://127.0.0.1:18081/pool"
NOW=$(date +%s)
HEADER=$(printf '{"alg":"RS256","kid":"k1","typ":"JWT"}' | b64url)
PAYLOAD=$(printf '{"sub":"5f2c-41d0","iss":"%s","token_use":"access","client_id":"bench","username":"alice","scope":"openid","cognito:groups":["admin"],"exp":%d,"iat":%d}' "$ISS" $((NOW + 7200)) "$NOW" | b64url)
SIG=$(printf '%s.%s' "$HEADER" "$PAYLOAD" | openssl dgst -sha256 -sign "$KEY" -binary | b64url)
TOKEN="$HEADER.$PAYLOAD.$SIG"

# --- nginx: upstream (18081, CPU 0) and plain proxy (18082, CPU 1) ---
cat > "$WORK/upstream.conf" <<NGINX
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log $WORK/upstream.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:18081; root $WORK/www;
    location /pool/ { }
    location / { return 200 "ok\n"; } } }
NGINX
cat > "$WORK/proxy.conf" <<NGINX
worker_processes 1; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream up { server 127.0.0.1:18081; keepalive 64; }
  server { listen 127.0.0.1:18082;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGINX
taskset -c 0 nginx -c "$WORK/upstream.conf" -p "$WORK" & PIDS+=($!)
taskset -c 1 nginx -c "$WORK/proxy.conf" -p "$WORK" & PIDS+=($!)

tokengate_conf() { # $1 port, $2 cache entries
  cat > "$WORK/tg-$1.yaml" <<YAML
server: { listen: 127.0.0.1:$1, header_read_timeout: 120s }
admin: { listen: 127.0.0.1:$(( $1 + 100 )) }
upstream: { url: http://127.0.0.1:18081 }
issuers:
  - name: bench
    cognito: { issuer: '$ISS' }
    client_ids: [bench]
token: { cache_entries: $2 }
log: { access_log: false, level: warn }
YAML
}
tokengate_conf 18083 65536
tokengate_conf 18084 0
taskset -c 1 "$BIN" run --config "$WORK/tg-18083.yaml" > "$WORK/tg1.log" 2>&1 & TG1=$!; PIDS+=($TG1)
taskset -c 1 "$BIN" run --config "$WORK/tg-18084.yaml" > "$WORK/tg2.log" 2>&1 & TG2=$!; PIDS+=($TG2)
for port in 18183 18184; do
  for i in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
    [ "$i" = 100 ] && { echo "tokengate on admin port $port never became ready" >&2; cat "$WORK"/tg*.log >&2; exit 1; }
    sleep 0.1
  done
done
curl -sf -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18083/ >/dev/null || { echo "tokengate refused the bench token" >&2; cat "$WORK/tg1.log" >&2; exit 1; }

rss_kib() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }
IDLE_RSS=$(rss_kib "$TG1")

run() { # $1 name, $2 port, $3 auth header or "", $4 connections (default $CONNS)
  local args=(-t1 -c"${4:-$CONNS}" -d"$DURATION"s --latency)
  [ -n "$3" ] && args+=(-H "$3")
  taskset -c 0 wrk "${args[@]:0:3}" -d2s ${3:+-H "$3"} "http://127.0.0.1:$2/" >/dev/null  # warm-up
  local out; out=$(taskset -c 0 wrk "${args[@]}" "http://127.0.0.1:$2/")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  echo "$1 $rps $p50 $p99"
}
to_us() { awk -v v="$1" 'BEGIN { u = v; if (v ~ /us$/) { sub(/us/, "", u); print u } else if (v ~ /ms$/) { sub(/ms/, "", u); print u * 1000 } else { sub(/s/, "", u); print u * 1000000 } }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- a flood of random-kid tokens (each a different kid, well-formed, never valid) ---
python3 - "$ISS" > "$WORK/flood.lua" <<'PY'
import base64, json, secrets, sys, time
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
now = int(time.time())
tokens = []
for _ in range(2000):
    h = b(json.dumps({"alg": "RS256", "kid": secrets.token_hex(8), "typ": "JWT"}).encode())
    p = b(json.dumps({"sub": "x", "iss": sys.argv[1], "token_use": "access", "client_id": "bench",
                      "exp": now + 7200, "iat": now}).encode())
    tokens.append(f"{h}.{p}.{b(secrets.token_bytes(256))}")
print("local tokens = {" + ",".join(f'"{t}"' for t in tokens) + "}")
print('request = function() return wrk.format("GET", "/", {["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]}) end')
PY
fetches() { curl -s "http://127.0.0.1:18183/metrics" | awk '/^tokengate_jwks_fetches_total/ { s += $2 } END { print s + 0 }'; }
flood_run() { # valid-token req/s alone, then beside a flood (16 connections) on the same core
  local alone with flood before after
  alone=$(run valid 18083 "Authorization: Bearer $TOKEN" 48 | awk '{ print $2 }')
  before=$(fetches)
  taskset -c 0 wrk -t1 -c16 -d"$DURATION"s -s "$WORK/flood.lua" http://127.0.0.1:18083/ > "$WORK/flood.out" &
  local fpid=$!
  with=$(taskset -c 0 wrk -t1 -c48 -d"$DURATION"s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:18083/ | awk '/Requests\/sec/ { print $2 }')
  wait "$fpid"
  flood=$(awk '/Requests\/sec/ { print $2 }' "$WORK/flood.out")
  after=$(fetches)
  echo "$alone $with $flood $((after - before))"
}

RUNS="${RUNS:-3}"
declare -a R_CACHE R_NOCACHE R_P99 R_FLOOD
for n in $(seq "$RUNS"); do
  RESULTS=()
  RESULTS+=("$(run direct 18081 "")")
  RESULTS+=("$(run nginx-proxy 18082 "")")
  RESULTS+=("$(run tokengate-cache 18083 "Authorization: Bearer $TOKEN")")
  RESULTS+=("$(run tokengate-no-cache 18084 "Authorization: Bearer $TOKEN")")
  read -r _ NGX_RPS NGX_P50 NGX_P99 <<<"${RESULTS[1]}"
  printf '\nrun %s of %s\n%-20s %12s %10s %10s %10s %10s\n' "$n" "$RUNS" case "req/s" p50 p99 "rps/nginx" "p99/nginx"
  for r in "${RESULTS[@]}"; do
    read -r name rps p50 p99 <<<"$r"
    printf '%-20s %12s %10s %10s %10s %10s\n' "$name" "$rps" "$p50" "$p99" \
      "$(ratio "$rps" "$NGX_RPS")" "$(ratio "$(to_us "$p99")" "$(to_us "$NGX_P99")")"
  done
  read -r _ rps _ p99 <<<"${RESULTS[2]}"; R_CACHE+=("$(ratio "$rps" "$NGX_RPS")"); R_P99+=("$(ratio "$(to_us "$p99")" "$(to_us "$NGX_P99")")")
  read -r _ rps _ _ <<<"${RESULTS[3]}"; R_NOCACHE+=("$(ratio "$rps" "$NGX_RPS")")
  read -r alone with flood nfetch <<<"$(flood_run)"
  R_FLOOD+=("$(ratio "$with" "$alone")")
  echo "flood: valid req/s alone $alone, beside 16 connections of random-kid tokens $with ($(ratio "$with" "$alone")x); flood answered $flood req/s (all 401); JWKS fetches during the flood: $nfetch"
done

echo
echo "medians over $RUNS runs (targets in parentheses):"
echo "  tokengate with cache / nginx req/s: $(echo "${R_CACHE[*]}" | median)  (>= 0.90)"
echo "  tokengate with cache / nginx p99:   $(echo "${R_P99[*]}" | median)  (<= 1.25)"
echo "  tokengate without cache / nginx:    $(echo "${R_NOCACHE[*]}" | median)  (>= 0.50)"
echo "  valid req/s beside a flood / alone: $(echo "${R_FLOOD[*]}" | median)  (>= 0.80)"

OPENSSL=$(taskset -c 1 openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048/ { print $NF }')
echo
echo "openssl speed rsa2048 (one core): $OPENSSL verify/s"

# 1,000 idle keep-alive connections, each after one request.
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
BUSY_RSS=$(rss_kib "$TG1")
echo "tokengate RSS: idle $((IDLE_RSS / 1024)) MiB; with 1,000 idle keep-alive connections $((BUSY_RSS / 1024)) MiB"
