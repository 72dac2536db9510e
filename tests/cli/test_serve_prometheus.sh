#!/usr/bin/env bash
# Integration (issue 6): a real Prometheus server scrapes `memwatch serve`
# every second; its HTTP API must then return the footprint of a known child
# process. Loopback only, a temporary data directory, bounded to ~40 s, and
# every process killed on exit. Needs prometheus (Debian package prometheus)
# and curl; skips with a message without them.
set -u
export LC_ALL=C
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh" # the harness, free_port, serve_port, start_prometheus

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
for tool in prometheus curl python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (Debian: apt-get install $tool; scripts/setup.sh test installs it)"
        exit 77
    fi
done

mw_test_init prom
START=$(date +%s)
DEADLINE=$((START + 40))

die() {
    echo "FAIL: $*" >&2
    for f in serve.err prometheus.log; do
        [ -s "$TMP/$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$TMP/$f" >&2; }
    done
    exit 1
}

# A known child: a copy of sleep under a unique name.
CHILD_NAME="mwprom$$"
CHILD_NAME=${CHILD_NAME:0:15}
cp "$(command -v sleep)" "$TMP/$CHILD_NAME"
"$TMP/$CHILD_NAME" 120 &
CHILD=$!
PIDS+=("$CHILD")

# memwatch serve on a free loopback port (port 0: the kernel picks; read it back).
start_serve serve || die "memwatch serve did not start"
SERVE=$SPID
MW_PORT=$PORT

# A free port for Prometheus itself.
PROM_PORT=$(free_port)
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: memwatch
    static_configs:
      - targets: ["127.0.0.1:$MW_PORT"]
EOF
start_prometheus

# value_of JSON -> the first sample's value and name label, or nothing
value_of() {
    python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    sys.exit(0)
r = d.get("data", {}).get("result", [])
if d.get("status") == "success" and r:
    print(r[0]["value"][1], r[0]["metric"].get("name", ""), r[0]["metric"].get("user", ""))
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
[ -n "$FOUND" ] || die "Prometheus has no process_memory_footprint_bytes{pid=\"$CHILD\"} after 40 s"

read -r VALUE NAME USER_ <<<"$FOUND"
check '[ "$NAME" = "$CHILD_NAME" ]' "name label is $CHILD_NAME (got $NAME)"
check '[ "$USER_" = "$(id -un)" ]' "user label is $(id -un) (got $USER_)"
# The footprint Prometheus stored is what memwatch reads for the child
# (a sleeping process: its footprint does not move).
WANT=$("$MEMWATCH" -e "print(memwatch.process($CHILD).footprint)")
check '[ "$VALUE" = "$WANT" ] && [ "$VALUE" -gt 0 ]' "footprint $VALUE bytes = memwatch's reading $WANT"
UP=$(value_of "$(prom_query 'up{job="memwatch"}')")
check '[ "${UP%% *}" = 1 ]' "up{job=\"memwatch\"} is 1 (got ${UP%% *})"
SELF=$(value_of "$(prom_query 'memwatch_self_footprint_bytes')")
check '[ -n "$SELF" ] && [ "${SELF%% *}" -gt 0 ]' "memwatch_self_footprint_bytes scraped (${SELF%% *})"
DUR=$(value_of "$(prom_query 'memwatch_scrape_duration_seconds')")
check '[ -n "$DUR" ]' "memwatch_scrape_duration_seconds scraped (${DUR%% *} s)"

echo "finished in $(($(date +%s) - START)) s"
mw_test_done
