# Shared by bench/load.sh and bench/instructions.sh (sourced, from the repository root):
# the signing key's JWKS and a Cognito-shaped token, the two nginx configurations, and the
# random-kid flood's wrk script. Each writes under $WORK.

# bench_token UPSTREAM_PORT: writes $WORK/www/pool/.well-known/jwks.json (served by the
# upstream nginx) and sets ISS (the issuer URL), TOKEN (a valid RS256 access token for
# client `bench`, valid for 2 hours) and AUTH (its Authorization header). openssl only.
bench_token() {
  local key=tests/fixtures/keys/issuer-rsa2048.pem n now header payload sig
  b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  n=$(openssl rsa -in "$key" -noout -modulus 2>/dev/null | cut -d= -f2 | xxd -r -p | b64url)
  mkdir -p "$WORK/www/pool/.well-known"
  printf '{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}]}' "$n" \
    > "$WORK/www/pool/.well-known/jwks.json"
  chmod -R a+rX "$WORK/www"
  ISS="http://127.0.0.1:$1/pool"
  now=$(date +%s)
  header=$(printf '{"alg":"RS256","kid":"k1","typ":"JWT"}' | b64url)
  payload=$(printf '{"sub":"5f2c-41d0","iss":"%s","token_use":"access","client_id":"bench","username":"alice","scope":"openid","cognito:groups":["admin"],"exp":%d,"iat":%d}' "$ISS" $((now + 7200)) "$now" | b64url)
  sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key" -binary | b64url)
  TOKEN="$header.$payload.$sig"
  AUTH="Authorization: Bearer $TOKEN"
}

# bench_nginx_confs UPSTREAM_PORT PROXY_PORT: $WORK/upstream.conf (`return 200 "ok\n"`, the
# JWKS under /pool/) and $WORK/proxy.conf (the plain reverse proxy, upstream keep-alive,
# one process: `master_process off`, so its /proc CPU times are nginx's whole cost).
bench_nginx_confs() {
  cat > "$WORK/upstream.conf" <<NGINX
worker_processes 1; daemon off; pid $WORK/upstream.pid; error_log $WORK/upstream.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; root $WORK/www;
    location /pool/ { }
    location / { return 200 "ok\n"; } } }
NGINX
  cat > "$WORK/proxy.conf" <<NGINX
worker_processes 1; master_process off; daemon off; pid $WORK/proxy.pid; error_log $WORK/proxy.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$1; keepalive 64; }
  server { listen 127.0.0.1:$2;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
NGINX
}

# bench_flood_lua: $WORK/flood.lua, a wrk script sending 2,000 well-formed tokens for $ISS,
# each with its own random unknown `kid` (never valid).
bench_flood_lua() {
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
}
