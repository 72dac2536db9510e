#!/usr/bin/env bash
# Fleet rules end to end, on loopback: `memwatch rules --prometheus` turns a
# watch script into alerting rules; a real Prometheus loads them, scrapes a
# real `memwatch serve` every second and sends to a real Alertmanager. A
# program over the threshold makes each alert fire in Prometheus and reach
# the Alertmanager with memwatch's label set; when it frees its memory the
# alert resolves and leaves Alertmanager's active list. Temporary storage,
# free ports, bounded waits (~60 s at most). SKIPPED without prometheus,
# promtool, prometheus-alertmanager, curl or python3.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init rulesprom

LUA=$(command -v lua5.4 || command -v lua || true)
if ! needs prometheus promtool prometheus-alertmanager curl python3 || [ -z "$LUA" ]; then
    [ -z "$LUA" ] && not_run "needs lua5.4 for the growing child"
    mw_test_done
    exit $?
fi

START=$(date +%s)
DEADLINE=$((START + 60))
show_logs() {
    local f
    for f in serve.err prometheus.log alertmanager.log; do
        [ -s "$TMP/$f" ] && { echo "--- $f (tail)" >&2; tail -n 15 "$TMP/$f" >&2; }
    done
}
die() {
    fail "$*"
    show_logs
    mw_test_done
    exit 1
}

# The program: a Lua interpreter under a unique name that holds 64M until
# the file "free" appears, then frees it; and an idle copy of sleep under
# the same name (a few hundred K).
NAME="mwfleet$$"
NAME=${NAME:0:15}
cp "$LUA" "$TMP/$NAME"
cp "$(dirname "$0")/hold.lua" "$TMP/hold.lua"

# The watch script and the rules generated from it.
cat >"$TMP/fleet.lua" <<EOF
memwatch.watch { name = "big process", select = { name = "$NAME" }, above = "32M", sustain = "2s",
    on_alert = memwatch.actions.log() }
memwatch.watch { name = "big name", select = { match = "^mwfleet%d+$" }, group = "name", above = "32M",
    sustain = "2s" }
memwatch.run()
EOF
"$MEMWATCH" rules "$TMP/fleet.lua" --prometheus --match-on-name --label team=fleet-test >"$TMP/rules.yml" 2>"$TMP/rules.err"
expect_eq "$?" 0 "memwatch rules: exit status"
expect_eq "$(cat "$TMP/rules.err")" "" "memwatch rules: nothing left out"
OUT=$(promtool check rules "$TMP/rules.yml" 2>&1)
expect_eq "$?" 0 "promtool check rules: $OUT"

# memwatch serve as the header asks (a default serve), on a free port.
start_serve serve || die "memwatch serve did not start"
SERVE=$SPID
MW_PORT=$PORT

AM_PORT=$(free_port)
cat >"$TMP/alertmanager.yml" <<'EOF'
route:
  receiver: "null"
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: "null"
EOF
mkdir "$TMP/am"
prometheus-alertmanager --config.file="$TMP/alertmanager.yml" --storage.path="$TMP/am" \
    --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$TMP/alertmanager.log" 2>&1 </dev/null &
PIDS+=("$!")

# The target's instance label is the host's name, as memwatch's own
# Alertmanager action names it.
PROM_PORT=$(free_port)
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["$TMP/rules.yml"]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:$AM_PORT"]
scrape_configs:
  - job_name: memwatch
    static_configs:
      - targets: ["127.0.0.1:$MW_PORT"]
        labels:
          instance: fleet-host-1
EOF
start_prometheus

mkdir "$TMP/idle"
cp "$(command -v sleep)" "$TMP/idle/$NAME"
"$TMP/idle/$NAME" 120 &
IDLE=$!
PIDS+=("$IDLE")
(cd "$TMP" && exec "./$NAME" hold.lua "$TMP" >/dev/null 2>&1) &
HOLDER=$!
PIDS+=("$HOLDER")
wait_file "$TMP/grown" 10 || die "the child did not allocate"

# alerts SOURCE -> one line per alert: state, then its labels sorted as k=v.
alerts() {
    local url
    if [ "$1" = prometheus ]; then url="http://127.0.0.1:$PROM_PORT/api/v1/alerts"; else
        url="http://127.0.0.1:$AM_PORT/api/v2/alerts"; fi
    curl -s -m 2 "$url" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
if isinstance(d, dict):
    d = d.get("data", {}).get("alerts", [])
for a in d:
    state = a["state"] if "state" in a else a.get("status", {}).get("state", "")
    print(state, " ".join("%s=%s" % kv for kv in sorted(a["labels"].items())))
' 2>/dev/null
}
WANT_PROC="alertname=big process grouping=none instance=fleet-host-1 key=$NAME[$HOLDER] team=fleet-test"
WANT_NAME="alertname=big name grouping=name instance=fleet-host-1 key=$NAME team=fleet-test"
# wait_alerts SOURCE TEXT...: until every TEXT is a line of alerts SOURCE.
wait_alerts() {
    local src=$1 got t all
    shift
    while [ "$(date +%s)" -lt "$DEADLINE" ]; do
        kill -0 "$PROM" 2>/dev/null || die "prometheus exited"
        got=$(alerts "$src")
        all=1
        for t in "$@"; do grep -qxF -- "$t" <<<"$got" || all=0; done
        [ "$all" = 1 ] && return 0
        sleep 0.5
    done
    echo "last $src alerts: $got" >&2
    return 1
}

case_ "the alert fires in Prometheus"
wait_alerts prometheus "firing $WANT_PROC" "firing $WANT_NAME"
check "[ $? -eq 0 ]" "Prometheus fires both alerts with memwatch's labels"
# The idle copy (a few hundred K) stays under the threshold.
expect_not_contains "$(alerts prometheus)" "key=$NAME[$IDLE]" "the idle process does not fire"

case_ "the alert reaches the Alertmanager"
wait_alerts alertmanager "active $WANT_PROC" "active $WANT_NAME"
check "[ $? -eq 0 ]" "Alertmanager holds both alerts, with exactly memwatch's label set"

case_ "the program frees: the alert resolves"
: >"$TMP/free"
wait_file "$TMP/freed" 10 || die "the child did not free"
gone=""
while [ "$(date +%s)" -lt "$DEADLINE" ]; do
    got=$(alerts alertmanager)
    if ! grep -qF "key=$NAME[$HOLDER]" <<<"$got" && ! grep -qF "alertname=big name" <<<"$got"; then
        gone=1
        break
    fi
    sleep 0.5
done
check "[ -n '$gone' ]" "both alerts left Alertmanager's active list"
expect_eq "$(alerts prometheus)" "" "no alert in Prometheus"
echo "took $(($(date +%s) - START)) s"
[ "$FAIL" -eq 0 ] || show_logs
mw_test_done
