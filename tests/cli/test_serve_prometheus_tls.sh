#!/usr/bin/env bash
# Integration (issue 16): a real Prometheus scrapes `memwatch serve
# --web-config` over HTTPS with basic auth (scheme: https, tls_config.ca_file,
# basic_auth), as it scrapes node_exporter with the same file; its target must
# be up and its API must return the footprint of a known child. The
# certificate is made here with openssl, the bcrypt hash with python's crypt.
# Loopback only, a temporary data directory, bounded to ~40 s.
set -u
export LC_ALL=C
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" # the harness, free_port, serve_port, start_prometheus

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
for tool in prometheus curl python3 openssl; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (Debian: apt-get install $tool; scripts/setup.sh test installs it)"
        exit 77
    fi
done
if ! python3 -W ignore -c 'import crypt; assert crypt.METHOD_BLOWFISH' 2>/dev/null; then
    echo "SKIP: python3's crypt module with bcrypt is missing (it makes the test's password hash)"
    exit 77
fi

mw_test_init promtls
START=$(date +%s)
DEADLINE=$((START + 40))

die() {
    echo "FAIL: $*" >&2
    for f in serve.err prometheus.log; do
        [ -s "$TMP/$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$TMP/$f" >&2; }
    done
    exit 1
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=memwatch-test \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/server.key" -out "$TMP/server.crt" 2>/dev/null ||
    die "openssl cannot make a certificate"
HASH=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("scrape pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=2 ** 10)))')
cat >"$TMP/web.yml" <<EOF
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '$HASH'
EOF
printf 'scrape pw' >"$TMP/password"

CHILD_NAME="mwptls$$"
CHILD_NAME=${CHILD_NAME:0:15}
cp "$(command -v sleep)" "$TMP/$CHILD_NAME"
"$TMP/$CHILD_NAME" 120 &
CHILD=$!
PIDS+=("$CHILD")

start_serve serve --web-config "$TMP/web.yml" || die "memwatch serve did not start"
SERVE=$SPID
MW_PORT=$PORT

PROM_PORT=$(free_port)
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: memwatch
    scheme: https
    tls_config:
      ca_file: $TMP/server.crt
    basic_auth:
      username: prometheus
      password_file: $TMP/password
    static_configs:
      - targets: ["127.0.0.1:$MW_PORT"]
EOF
start_prometheus

value_of() {
    python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    sys.exit(0)
r = d.get("data", {}).get("result", [])
if d.get("status") == "success" and r:
    print(r[0]["value"][1], r[0]["metric"].get("name", ""))
' "$1"
}

FOUND=""
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
    kill -0 "$PROM" 2>/dev/null || die "prometheus exited"
    kill -0 "$SERVE" 2>/dev/null || die "memwatch serve exited"
    FOUND=$(value_of "$(prom_query "process_memory_footprint_bytes{pid=\"$CHILD\"}")")
    [ -n "$FOUND" ] && break
    sleep 0.5
done
[ -n "$FOUND" ] || die "Prometheus has no process_memory_footprint_bytes{pid=\"$CHILD\"} after 40 s (targets: $(curl -s -m 2 "http://127.0.0.1:$PROM_PORT/api/v1/targets"))"

read -r VALUE NAME <<<"$FOUND"
check '[ "$NAME" = "$CHILD_NAME" ]' "name label is $CHILD_NAME (got $NAME)"
WANT=$("$MEMWATCH" -e "print(memwatch.process($CHILD).footprint)")
check '[ "$VALUE" = "$WANT" ] && [ "$VALUE" -gt 0 ]' "footprint $VALUE bytes = memwatch's reading $WANT"
UP=$(value_of "$(prom_query 'up{job="memwatch"}')")
check '[ "${UP%% *}" = 1 ]' "up{job=\"memwatch\"} is 1 over https with basic auth (got ${UP%% *})"
FAILS=$(value_of "$(prom_query 'memwatch_http_auth_failures_total')")
check '[ "${FAILS%% *}" = 0 ]' "no failed logins from Prometheus (got ${FAILS%% *})"

echo "finished in $(($(date +%s) - START)) s"
mw_test_done
