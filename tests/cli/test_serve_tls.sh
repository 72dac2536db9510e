#!/usr/bin/env bash
# memwatch serve --web-config (issue 16): the exporter-toolkit web
# configuration with real clients. Certificates made here with openssl, bcrypt
# hashes with python's crypt (libxcrypt), requests with curl: the right user
# gets the metrics; no credentials, a wrong password and an unknown user get
# 401; plain HTTP gets nothing; failed logins are limited per address and
# counted; client certificates are required and verified when configured;
# headers; reloads (on change and SIGHUP, a bad file keeps the old one, a new
# certificate for new connections); the loopback warning; a flood of bad
# passwords does not delay the rules' ticks; every refused configuration's
# exact message, exit 2 and nothing listening. Everything on loopback.
# Environment (from ctest): MEMWATCH.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
for tool in curl python3 openssl; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (Debian: apt-get install $tool; scripts/setup.sh test installs it)"
        exit 77
    fi
done
if ! python3 -W ignore -c 'import crypt; assert crypt.METHOD_BLOWFISH' 2>/dev/null; then
    echo "SKIP: python3's crypt module with bcrypt is missing (it makes the test's password hashes)"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init serve-tls
(sleep 150 </dev/null >/dev/null 2>&1 && echo "test_serve_tls.sh: timed out after 150 s" >&2 && kill -TERM $$) &
PIDS+=("$!")

# bcrypt PASSWORD COST -> a $2b$ hash
bcrypt() {
    python3 -W ignore -c 'import crypt, sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** int(sys.argv[2]))))' "$1" "$2"
}

# cert NAME ISSUER SAN EKU: an EC key and a certificate signed by ISSUER (a CA
# made with "ca"), in $TMP/NAME.key and $TMP/NAME.crt.
ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=$1" -keyout "$TMP/$1.key" -out "$TMP/$1.crt" 2>/dev/null
}
cert() {
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$TMP/$1.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
        -keyout "$TMP/$1.key" -out "$TMP/$1.csr" 2>/dev/null &&
        openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/$2.crt" -CAkey "$TMP/$2.key" -CAcreateserial \
            -days 2 -extfile "$TMP/$1.ext" -out "$TMP/$1.crt" 2>/dev/null
}
ca ca || { echo "FAIL: openssl cannot make a CA" >&2; exit 1; }
ca ca2
ca rogue
cert server ca "DNS:localhost,IP:127.0.0.1" serverAuth
cert server2 ca2 "DNS:localhost,IP:127.0.0.1" serverAuth
cert client ca "DNS:scraper.example" clientAuth
cert other ca "DNS:other.example" clientAuth
HASH=$(bcrypt 's3cret pw' 10)
HASH_BOB=$(bcrypt 'bobs pw' 10)

stop_serve() {
    kill -TERM "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
}
https() { # ARGS... -> CODE, BODY, HEAD
    CODE=$(curl -s -m 10 -D "$TMP/head" -o "$TMP/body" -w '%{http_code}' "$@")
    BODY=$(cat "$TMP/body" 2>/dev/null)
    HEAD=$(tr -d '\r' <"$TMP/head" 2>/dev/null)
}
metric() { # NAME{labels} -> value from a scrape as alice
    curl -s -m 10 --cacert "$TMP/ca.crt" -u 'alice:s3cret pw' "https://localhost:$PORT/metrics" |
        awk -v n="$1" '$1 == n { print $2 }'
}

CHILD_NAME="mwtls$$"
CHILD_NAME=${CHILD_NAME:0:15}
cp "$(command -v sleep)" "$TMP/$CHILD_NAME"
"$TMP/$CHILD_NAME" 150 &
CHILD=$!
PIDS+=("$CHILD")

# ---------------------------------------------------------------------------
case_ "TLS and basic auth"
cat >"$TMP/web.yml" <<EOF
# as node_exporter takes it
tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: '$HASH'
EOF
start_serve main --web-config "$TMP/web.yml" || exit 1
expect_eq "$(cat "$TMP/main.err")" "memwatch serve: listening on https://127.0.0.1:$PORT/metrics" "startup: no warning, https"
https --cacert "$TMP/ca.crt" -u 'alice:s3cret pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "the right user"
expect_contains "$BODY" "process_memory_footprint_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\"," "the child's footprint"
expect_contains "$HEAD" "X-Frame-Options: deny" "a configured header"
expect_contains "$HEAD" "Strict-Transport-Security: max-age=31536000" "another configured header"
https --cacert "$TMP/ca.crt" "https://localhost:$PORT/metrics"
expect_eq "$CODE" 401 "no credentials"
expect_contains "$HEAD" 'WWW-Authenticate: Basic realm="memwatch"' "the challenge"
expect_contains "$HEAD" "X-Frame-Options: deny" "headers on a 401 too"
expect_not_contains "$BODY" "process_memory" "no metrics without credentials"
https --cacert "$TMP/ca.crt" -u 'alice:wrong' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 401 "a wrong password"
expect_contains "$HEAD" 'WWW-Authenticate: Basic realm="memwatch"' "the challenge after a wrong password"
https --cacert "$TMP/ca.crt" -u 'mallory:s3cret pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 401 "an unknown user"
https --cacert "$TMP/ca.crt" -u 'alice:s3cret pw' -X POST "https://localhost:$PORT/metrics"
expect_eq "$CODE" 405 "past the checks, the usual policy"
https --cacert "$TMP/ca2.crt" -u 'alice:s3cret pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 000 "a client that does not trust the certificate"
https -u 'alice:s3cret pw' "http://127.0.0.1:$PORT/metrics"
expect_not_contains "$BODY" "process_memory" "plain HTTP: no metrics"
if [ "$CODE" != 200 ]; then pass; else fail "plain HTTP got 200"; fi
RAW=$(python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWxpY2U6czNjcmV0IHB3\r\n\r\n")
data = b""
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
except OSError:
    pass
sys.stdout.write(repr(data[:200]))
PY
)
expect_not_contains "$RAW" "process_memory" "plain HTTP with credentials, raw: no metrics"
expect_not_contains "$RAW" "200 OK" "plain HTTP, raw: no 200"
expect_eq "$(metric memwatch_http_auth_failures_total)" 2 "the failures counted (wrong password, unknown user)"

case_ "failed logins are limited per address"
# 2 failures so far; the bucket holds 5 (and gets one back every 2 s): the
# next failures are checked, then refused unchecked with 429.
CODES=""
for i in $(seq 10); do
    https --cacert "$TMP/ca.crt" -u "alice:wrong$i" "https://localhost:$PORT/metrics"
    CODES="$CODES $CODE"
    [ "$CODE" = 429 ] && break
done
expect_match "$CODES" "^ 401 401 401( 401)* 429$" "three or more failures checked, then 429"
expect_eq "$BODY" "too many failed logins" "429 text"
expect_contains "$HEAD" "Retry-After: 2" "Retry-After"
https --cacert "$TMP/ca.crt" -u 'alice:s3cret pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "a remembered password still passes"
expect_eq "$(metric 'memwatch_http_throttled_requests_total{reason="login"}')" 1 "the refusal counted"
expect_eq "$(metric memwatch_http_auth_failures_total)" $((2 + $(printf '%s' "$CODES" | grep -o 401 | wc -l))) "every checked failure counted"
https --cacert "$TMP/ca.crt" -u 'alice:wrong5' --interface 127.0.0.2 "https://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 401 "another address is checked"

case_ "reload on change, bad file kept, SIGHUP"
sed "s|alice: .*|bob: '$HASH_BOB'|" "$TMP/web.yml" >"$TMP/web.new" && mv "$TMP/web.new" "$TMP/web.yml"
wait_for "$TMP/main.err" "reloaded" 5 || fail "no reload after the file changed"
expect_contains "$(cat "$TMP/main.err")" "memwatch serve: --web-config: reloaded $TMP/web.yml" "reload line"
https --cacert "$TMP/ca.crt" -u 'bob:bobs pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "the new user"
https --cacert "$TMP/ca.crt" -u 'alice:s3cret pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 401 "the removed user, even remembered"
cp "$TMP/web.yml" "$TMP/web.good"
printf 'basic_auth_users:\n  bob: nothash\n' >>"$TMP/web.yml"
wait_for "$TMP/main.err" "kept" 5 || fail "a bad file was not reported"
expect_contains "$(cat "$TMP/main.err")" "memwatch serve: --web-config: $TMP/web.yml:11: basic_auth_users is given twice (the configuration in use is kept)" "bad file reported"
https --cacert "$TMP/ca.crt" -u 'bob:bobs pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "the old configuration stays"
cp "$TMP/web.good" "$TMP/web.yml"
wait_for "$TMP/main.err" "reloaded.*" 5
N0=$(grep -c reloaded "$TMP/main.err")
kill -HUP "$SPID"
for _ in $(seq 100); do [ "$(grep -c reloaded "$TMP/main.err")" -gt "$N0" ] && break; sleep 0.05; done
expect_eq "$(grep -c reloaded "$TMP/main.err")" $((N0 + 1)) "SIGHUP reloads"
kill -0 "$SPID" 2>/dev/null && pass || fail "SIGHUP stopped serve"
# A new certificate: new connections get it.
cp "$TMP/server2.crt" "$TMP/server.crt.new" && cp "$TMP/server2.key" "$TMP/server.key"
mv "$TMP/server.crt.new" "$TMP/server.crt"
for _ in $(seq 100); do
    https --cacert "$TMP/ca2.crt" -u 'bob:bobs pw' "https://localhost:$PORT/metrics"
    [ "$CODE" = 200 ] && break
    sleep 0.05
done
expect_eq "$CODE" 200 "the new certificate"
https --cacert "$TMP/ca.crt" -u 'bob:bobs pw' "https://localhost:$PORT/metrics"
expect_eq "$CODE" 000 "the old one is gone"
stop_serve

case_ "client certificates"
cat >"$TMP/mtls.yml" <<EOF
tls_server_config:
  cert_file: $TMP/server.crt
  key_file: $TMP/server.key
  client_ca_file: $TMP/ca.crt
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [scraper.example]
  min_version: TLS12
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
  curve_preferences: [X25519, CurveP256]
EOF
start_serve mtls --web-config "$TMP/mtls.yml" || exit 1
CURL=(--cacert "$TMP/ca2.crt")
https "${CURL[@]}" --cert "$TMP/client.crt" --key "$TMP/client.key" "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "a verified client certificate"
https "${CURL[@]}" --cert "$TMP/client.crt" --key "$TMP/client.key" --tls-max 1.2 "https://localhost:$PORT/metrics"
expect_eq "$CODE" 200 "TLS 1.2 with the configured suites"
https "${CURL[@]}" "https://localhost:$PORT/metrics"
expect_eq "$CODE" 403 "no client certificate"
expect_eq "$BODY" "a valid client certificate is required" "403 text"
https "${CURL[@]}" --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" "https://localhost:$PORT/metrics"
expect_eq "$CODE" 403 "a certificate from another CA"
https "${CURL[@]}" --cert "$TMP/other.crt" --key "$TMP/other.key" "https://localhost:$PORT/metrics"
expect_eq "$CODE" 403 "a certificate whose SAN is not allowed"
https "${CURL[@]}" --cert "$TMP/client.crt" --key "$TMP/client.key" --tls-max 1.2 \
    --ciphers ECDHE-ECDSA-AES128-SHA "https://localhost:$PORT/metrics"
expect_eq "$CODE" 000 "a suite that is not configured"
OUT=$(curl -s -m 10 "${CURL[@]}" --cert "$TMP/client.crt" --key "$TMP/client.key" "https://localhost:$PORT/metrics")
expect_contains "$OUT" "memwatch_http_client_cert_refusals_total 3" "refusals counted"
stop_serve

case_ "a flood of bad passwords does not delay the ticks"
cat >"$TMP/ticks.lua" <<EOF
local memwatch = require "memwatch"
local engine = require "memwatch.watch.engine"
memwatch.watch { name = "tick", select = { pid = $CHILD }, above = "1T", every = "0.1s" }
local f = assert(io.open("$TMP/ticks.txt", "w"))
engine.on_tick(function(now) f:write(string.format("%.3f\n", now)); f:flush() end)
EOF
# cost 14: a check takes over a second here, so a check on the Lua thread
# would show as a gap of that size.
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: %s\n' \
    "$(bcrypt 's3cret pw' 14)" >"$TMP/slow.yml"
start_serve flood --web-config "$TMP/slow.yml" --rules "$TMP/ticks.lua" || exit 1
sleep 0.5
: >"$TMP/flood.codes"
FLOOD=()
for a in $(seq 2 13); do
    (for i in 1 2; do
        curl -s -m 30 -o /dev/null -w '%{http_code}\n' --cacert "$TMP/ca2.crt" --interface "127.0.0.$a" \
            -u "alice:bad$i" "https://127.0.0.1:$PORT/metrics" >>"$TMP/flood.codes"
    done) &
    FLOOD+=("$!")
done
sleep 4
wait_for "$TMP/flood.codes" 401 10 # the first checks done
MAXGAP=$(awk 'NR > 1 { g = $1 - p; if (g > m) m = g } { p = $1 } END { printf "%.3f", m }' "$TMP/ticks.txt")
NTICKS=$(wc -l <"$TMP/ticks.txt")
stop_serve # the checks still queued are let go
wait "${FLOOD[@]}" 2>/dev/null
echo "flood: max tick gap ${MAXGAP}s over $NTICKS ticks; answers: $(sort "$TMP/flood.codes" | uniq -c | tr '\n' ' ')"
check "awk 'BEGIN { exit !($MAXGAP < 1.0) }'" "max tick gap ${MAXGAP}s during the flood (checks take over 1 s each)"
check "[ $NTICKS -ge 20 ]" "ticks went on during the flood ($NTICKS)"
expect_contains "$(cat "$TMP/flood.codes")" 401 "flood: passwords were checked"
stop_serve

case_ "the loopback warning"
WARN="memwatch serve: WARNING: listening on 192.0.2.1:9187, beyond loopback."
printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n' >"$TMP/tlsonly.yml"
ERR=$("$MEMWATCH" serve --listen 192.0.2.1:9187 --web-config "$TMP/tlsonly.yml" 2>&1 </dev/null)
expect_contains "$ERR" "$WARN" "TLS without passwords: the warning"
cp "$TMP/web.good" "$TMP/both.yml"
ERR=$("$MEMWATCH" serve --listen 192.0.2.1:9187 --web-config "$TMP/both.yml" 2>&1 </dev/null)
expect_not_contains "$ERR" "WARNING" "TLS and passwords: no warning"
expect_contains "$ERR" "cannot listen on 192.0.2.1:9187" "(the address is not this host's)"
printf 'basic_auth_users:\n  alice: %s\n' "$HASH" >"$TMP/authonly.yml"
ERR=$("$MEMWATCH" serve --listen 192.0.2.1:9187 --web-config "$TMP/authonly.yml" 2>&1 </dev/null)
expect_contains "$ERR" "$WARN" "passwords without TLS: the warning"

case_ "refused configurations"
FREE=$(free_port)
refused() { # FILE-CONTENT EXPECTED-MESSAGE
    printf '%s\n' "$1" >"$TMP/bad.yml"
    ERR=$("$MEMWATCH" serve --listen "127.0.0.1:$FREE" --web-config "$TMP/bad.yml" 2>&1 </dev/null)
    RC=$?
    expect_eq "$RC" 2 "exit status for: $2"
    expect_eq "$(printf '%s\n' "$ERR" | head -n 1)" "memwatch serve: $2" "message"
    expect_not_contains "$ERR" "listening on" "nothing listening: $2"
    if curl -s -m 2 -o /dev/null "http://127.0.0.1:$FREE/"; then fail "something listens on $FREE"; else pass; fi
}
B=$TMP/bad.yml
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  colour: blue' "$B:4: unknown key 'colour' in tls_server_config"
refused 'web:
  x: 1' "$B:1: unknown key 'web' (expected tls_server_config, http_server_config, basic_auth_users or rate_limit)"
refused 'tls_server_config:
  cert_file: missing.crt
  key_file: server.key' "$B:2: cannot read cert_file: $TMP/missing.crt: No such file or directory"
mkdir "$TMP/adir"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: adir' "$B:3: cannot read key_file: $TMP/adir: Is a directory"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: bad.yml' "$B:3: key_file bad.yml: not an unencrypted PEM private key (GnuTLS: The requested data were not available.)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: client.key' "$B:3: key_file client.key: The certificate and the given key do not match."
refused 'tls_server_config:
  cert_file: server.key
  key_file: server.key' "$B:2: cert_file server.key: not a PEM certificate (GnuTLS: No certificate was found.)"
refused 'tls_server_config:
  key_file: server.key' "$B:1: tls_server_config: missing cert_file or cert"
refused "basic_auth_users:
  alice: '\$2b\$10\$short'" "$B:2: basic_auth_users: the password of 'alice' is not a bcrypt hash (\$2a\$, \$2b\$ or \$2y\$, as htpasswd -B makes them)"
refused 'basic_auth_users:
  alice: plain-password' "$B:2: basic_auth_users: the password of 'alice' is not a bcrypt hash (\$2a\$, \$2b\$ or \$2y\$, as htpasswd -B makes them)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAnyClientCert
  client_ca_file: ca.crt' "$B:4: client_auth_type RequireAnyClientCert: memwatch only takes client certificates it verifies (use RequireAndVerifyClientCert with client_ca_file)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert' "$B:4: client_auth_type RequireAndVerifyClientCert needs client_ca_file"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: VerifyClientCertIfGiven
  client_allowed_sans: [a.example]' "$B:6: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  min_version: TLS14' "$B:4: unknown TLS version 'TLS14' (expected TLS10, TLS11, TLS12 or TLS13)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  min_version: TLS13
  max_version: TLS12' "$B:4: min_version TLS13 is above max_version TLS12"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  max_version: TLS11' "$B:4: max_version TLS11 is below the default min_version TLS12 (set min_version too)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]' "$B:4: cipher_suites: GnuTLS enables key exchanges, ciphers and MACs separately, so this list would also enable TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (TLS 1.3 needs the AEAD ciphers): list it too"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]' "$B:4: cipher_suites: 'TLS_RSA_WITH_RC4_128_SHA' is not a cipher suite memwatch offers (the ECDHE suites with AES-GCM, ChaCha20-Poly1305 or AES-CBC-SHA)"
refused 'tls_server_config:
  cert_file: server.crt
  key_file: server.key
  curve_preferences: [CurveP224]' "$B:4: curve_preferences: unknown curve 'CurveP224' (expected CurveP256, CurveP384, CurveP521 or X25519)"
refused 'tls_server_config:
  min_version: TLS13' "$B:2: TLS settings without cert_file and key_file"
refused 'http_server_config:
  headers:
    Server: memwatch' "$B:3: http_server_config.headers: 'Server' is not a header memwatch sets (expected Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection or Strict-Transport-Security)"
refused 'http_server_config:
  headers:
    X-Frame-Options: allow-from x' "$B:3: X-Frame-Options: 'allow-from x' is not allowed (expected deny or sameorigin)"
refused 'http_server_config:
  http2: maybe' "$B:2: http2: expected true or false, got 'maybe'"
refused 'rate_limit:
  interval: soon
  burst: 2' "$B:2: rate_limit.interval: 'soon' is not a duration (for example 1s or 500ms)"
refused "basic_auth_users:
  a: &h '$HASH'
  b: *h" "$B:3: YAML aliases (*name) are not supported"
refused 'basic_auth_users:
  alice: "$2b$10$unterminated' "$B:3: not valid YAML: found unexpected end of stream"
refused 'basic_auth_users: [alice]' "$B:1: basic_auth_users: expected a mapping"
refused 'rate_limit:
  interval: 1s
  burst: 1
---
b: 2' "$B:4: only one YAML document is allowed"
ERR=$("$MEMWATCH" serve --web-config "$TMP/nonexistent.yml" 2>&1 </dev/null)
expect_eq "$?" 2 "a missing file: exit 2"
expect_eq "$(printf '%s\n' "$ERR" | head -n 1)" "memwatch serve: --web-config: cannot read $TMP/nonexistent.yml: No such file or directory" "a missing file"
ERR=$("$MEMWATCH" serve --textfile "$TMP/x.prom" --web-config "$TMP/web.good" 2>&1 </dev/null)
expect_eq "$?" 2 "with --textfile: exit 2"
expect_eq "$(printf '%s\n' "$ERR" | head -n 1)" "memwatch serve: --web-config is for serving over HTTP, not --textfile" "with --textfile"

mw_test_done
