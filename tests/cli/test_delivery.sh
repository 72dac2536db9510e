#!/usr/bin/env bash
# Alerts over HTTP (issue 12), end to end on loopback: webhook bodies (JSON
# schema 1, Slack, ntfy) as a python receiver gets them, exactly; endpoints
# that never answer or answer 500 delay neither the ticks nor the event lines
# and are reported with their URL redacted; heartbeats; serve's delivery
# counters; `memwatch alert --alertmanager` against a real Alertmanager (the
# alert appears with memwatch's labels and annotations, and leaves the
# active list when the program frees); bad URLs and labels exit 2.
# SKIPPED (in part) without python3, curl, prometheus-alertmanager or lua5.4.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init delivery
HERE=$(cd "$(dirname "$0")" && pwd)

START=$(date +%s)
LUA=$(command -v lua5.4 || command -v lua || true)
show() { [ -s "$1" ] && { echo "--- $1" >&2; tail -n 20 "$1" >&2; }; }

# receiver MODE NAME: starts tests/cli/webhook_receiver.py; sets PORT.
receiver() {
    python3 "$HERE/webhook_receiver.py" "$1" "$TMP/$2.port" "$TMP/$2.jsonl" 2>"$TMP/$2.err" &
    PIDS+=("$!")
    wait_file "$TMP/$2.port" 10 || { fail "receiver $2 did not start"; show "$TMP/$2.err"; }
    PORT=$(cat "$TMP/$2.port")
}

# ---- bad input: exit 2 with the reason ----------------------------------------------------
case_ "bad URLs and labels"
OUT=$("$MEMWATCH" alert x --over 1G --webhook 'ftp://u:s3cr3t@h/x' 2>&1)
expect_eq "$?" 2 "--webhook ftp://: exit status"
expect_eq "$OUT" "memwatch alert: --webhook: 'ftp://***@h/x' is not an http:// or https:// URL
try 'memwatch alert --help'" "--webhook ftp://: message, redacted"
OUT=$("$MEMWATCH" alert x --over 1G --alertmanager 'http://' 2>&1)
expect_eq "$?" 2 "--alertmanager http://: exit status"
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --alertmanager: 'http://' has no host" "--alertmanager without a host"
OUT=$("$MEMWATCH" alert x --over 1G --alertmanager http://127.0.0.1:9 --label key=1 2>&1)
expect_eq "$?" 2 "--label key=1: exit status"
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --label: 'key=1' (key) is set by memwatch (alertname, key, grouping, instance)" \
    "--label of a reserved name"
OUT=$("$MEMWATCH" alert x --over 1G --label team 2>&1)
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --label: 'team' is not NAME=VALUE" "--label without ="
OUT=$("$MEMWATCH" alert x --over 1G --label team=ops 2>&1)
expect_eq "$?" 2 "--label alone: exit status"
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --label: only Alertmanager alerts carry labels; give --alertmanager URL" \
    "--label alone does nothing, so it is refused"
OUT=$("$MEMWATCH" alert x --over 1G --webhook http://127.0.0.1:9/ --label team=ops 2>&1)
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --label: only Alertmanager alerts carry labels; give --alertmanager URL" \
    "--label with only a webhook"
OUT=$("$MEMWATCH" alert x --over 1G --instance h1 2>&1)
expect_eq "$(head -n 1 <<<"$OUT")" "memwatch alert: --instance: only Alertmanager alerts and webhooks carry it; give --alertmanager URL or --webhook URL" \
    "--instance alone"

if ! needs python3 curl; then
    mw_test_done
    exit $?
fi

# ---- the bodies, exactly --------------------------------------------------------------------
case_ "webhook bodies"
receiver ok hook
OK_PORT=$PORT
# One rule over memwatch itself whose metric is 64M for three ticks, then 0:
# an ALERT, then a RESOLVED, each sent as JSON, Slack and ntfy; and a
# heartbeat every second.
cat >"$TMP/bodies.lua" <<'EOF'
local port = arg[1]
local n = 0
local base = "http://127.0.0.1:" .. port
local actions = {
    memwatch.actions.webhook { url = base .. "/json?token=s3cr3t", instance = "test-host", heartbeat = "1s" },
    memwatch.actions.webhook { url = base .. "/slack", body = "slack", instance = "test-host" },
    memwatch.actions.webhook { url = base .. "/ntfy", body = "ntfy", instance = "test-host",
        headers = { ["X-Extra"] = "1" }, method = "PUT" },
    memwatch.actions.webhook { url = base .. "/mine", body = function(ev) return ev.kind .. " " .. ev.rule end,
        content_type = "text/x-mine" },
}
local resolved = { table.unpack(actions) }
resolved[#resolved + 1] = function() memwatch.watch.default():stop() end
memwatch.watch { name = "flip", select = { pid = memwatch.self().pid }, group = "none", every = "0.4s",
    metric = function() n = n + 1; return n <= 3 and 64 * 1024 * 1024 or 0 end, above = "32M",
    on_alert = actions, on_resolve = resolved }
memwatch.run("30s") -- stopped at the resolve
assert(require("memwatch.delivery").flush(5), "everything delivered")
for _, d in ipairs(memwatch.delivery()) do
    print(string.format("%s %s sent=%d failed=%d dropped=%d queued=%d", d.name, d.url, d.sent, d.failed, d.dropped,
        d.queued))
end
EOF
"$MEMWATCH" "$TMP/bodies.lua" "$OK_PORT" >"$TMP/bodies.out" 2>"$TMP/bodies.err"
expect_eq "$?" 0 "the script's exit status"
expect_eq "$(cat "$TMP/bodies.err")" "" "nothing on stderr"
BEATS=$(grep -c '"heartbeat' "$TMP/hook.jsonl")
# Three ticks 0.4 s apart at least, from the alert to the resolve: one beat or more.
check "[ $BEATS -ge 1 ]" "heartbeats ($BEATS)"
expect_eq "$(cat "$TMP/bodies.out")" "webhook http://127.0.0.1:$OK_PORT/json?token=*** sent=$((2 + BEATS)) failed=0 dropped=0 queued=0
webhook http://127.0.0.1:$OK_PORT/slack sent=2 failed=0 dropped=0 queued=0
webhook http://127.0.0.1:$OK_PORT/ntfy sent=2 failed=0 dropped=0 queued=0
webhook http://127.0.0.1:$OK_PORT/mine sent=2 failed=0 dropped=0 queued=0" "memwatch.delivery(): the counters, URLs redacted"
# Each body rebuilt from the values that vary (times, the pid) and compared whole.
OUT=$(python3 - "$TMP/hook.jsonl" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
def show(r):
    return "%s %s %s %s" % (r["method"], r["path"], json.dumps(r["headers"], sort_keys=True), r["body"])
events = [r for r in reqs if r["path"].startswith("/json") and '"heartbeat"' not in r["body"]]
beats = [r for r in reqs if '"heartbeat"' in r["body"]]
bad = []
for r, kind in zip(events, ["alert", "resolve"]):
    b = json.loads(r["body"])
    pid = b["key"][len("memwatch["):-1]
    word = "ALERT" if kind == "alert" else "RESOLVED"
    value, text = (67108864, "64.0M") if kind == "alert" else (0, "0B")
    want = ('{"count":1,"direction":"above","gone":false,"grouping":"none","instance":"test-host",'
            '"key":"memwatch[%s]","kind":"%s","metric":"metric","oom_killed":false,'
            '"processes":[{"name":"memwatch","pid":%s}],"repeated":0,"rule":"flip","since":"%s",'
            '"summary":"%s rule \'flip\' memwatch[%s]: metric %s (above 32.0M), 1 process on test-host",'
            '"threshold":33554432,"threshold_text":"32.0M","time":"%s","value":%d,"value_text":"%s","version":1}'
            % (pid, kind, pid, b["since"], word, pid, text, b["time"], value, text))
    if r["body"] != want:
        bad.append("json %s: %s != %s" % (kind, r["body"], want))
    if r["headers"] != {"Content-Type": "application/json"}:
        bad.append("json headers: %r" % r["headers"])
    summary = "%s rule 'flip' memwatch[%s]: metric %s (above 32.0M), 1 process on test-host" % (word, pid, text)
    slack = [s for s in reqs if s["path"] == "/slack"]
    ntfy = [s for s in reqs if s["path"] == "/ntfy"]
    mine = [s for s in reqs if s["path"] == "/mine"]
    i = 0 if kind == "alert" else 1
    if show(slack[i]) != "POST /slack %s %s" % (json.dumps({"Content-Type": "application/json"}),
                                                  json.dumps({"text": summary}, separators=(",", ":"))):
        bad.append("slack: " + show(slack[i]))
    want_h = {"Content-Type": "text/plain; charset=utf-8", "Priority": "high" if i == 0 else "default",
              "Tags": "warning" if i == 0 else "white_check_mark", "Title": "memwatch %s: flip" % word,
              "X-Extra": "1"}
    if show(ntfy[i]) != "PUT /ntfy %s %s" % (json.dumps(want_h, sort_keys=True), summary):
        bad.append("ntfy: " + show(ntfy[i]))
    if show(mine[i]) != 'POST /mine {"Content-Type": "text/x-mine"} %s flip' % kind:
        bad.append("function body: " + show(mine[i]))
if len(events) != 2:
    bad.append("%d events at /json" % len(events))
for b in beats:
    d = json.loads(b["body"])
    want = ('{"instance":"test-host","kind":"heartbeat","summary":"memwatch on test-host is running",'
            '"time":"%s","version":1}' % d["time"])
    if b["body"] != want:
        bad.append("heartbeat: " + b["body"])
print("\n".join(bad) or "bodies ok")
EOF
)
expect_eq "$OUT" "bodies ok" "JSON, Slack, ntfy and function bodies and heartbeats, exactly"

# ---- Alertmanager: re-posted while firing, ended by the resolve -------------------------------
case_ "alertmanager re-posts"
cat >"$TMP/resend.lua" <<'EOF'
local n = 0
local am = memwatch.actions.alertmanager { url = "http://127.0.0.1:" .. arg[1] .. "/am", resend = "0.5s",
    instance = "test-host" }
memwatch.watch { name = "held", select = { pid = memwatch.self().pid }, group = "none", every = "0.25s",
    metric = function() n = n + 1; return n <= 8 and 2048 or 0 end, above = 1024, on_alert = am,
    on_resolve = { am, function() memwatch.watch.default():stop() end } }
memwatch.run("30s") -- stopped at the resolve
EOF
"$MEMWATCH" "$TMP/resend.lua" "$OK_PORT" >/dev/null 2>"$TMP/resend.err"
expect_eq "$?" 0 "exit status"
OUT=$(python3 - "$TMP/hook.jsonl" <<'EOF'
import json, sys
from datetime import datetime
t = lambda s: datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
posts = [json.loads(json.loads(l)["body"])[0] for l in open(sys.argv[1]) if '"/am/api/v2/alerts"' in l]
firing, last = posts[:-1], posts[-1]
bad = []
if len(firing) < 3:
    bad.append("%d firing posts" % len(firing))
if len({p["startsAt"] for p in posts}) != 1:
    bad.append("startsAt changed")
for p in firing:
    if abs(t(p["endsAt"]) - t(p["startsAt"]) - 2.0) > 2.0 + 1.5:  # four resends (2 s) ahead of the post
        bad.append("endsAt %s for startsAt %s" % (p["endsAt"], p["startsAt"]))
ends = [t(p["endsAt"]) for p in firing]
if ends != sorted(ends) or ends[-1] - ends[0] < 0.9:
    bad.append("endsAt does not move on: %r" % ends)
if not last["annotations"]["summary"].startswith("RESOLVED") or t(last["endsAt"]) >= ends[-1]:
    bad.append("last post: %r" % last)
print("\n".join(bad) or "ok")
EOF
)
expect_eq "$OUT" "ok" "a firing alert is posted again every resend with endsAt ahead; the resolve ends it"

# ---- endpoints that hang or fail delay nothing --------------------------------------------
case_ "slow endpoints"
receiver hang hang
HANG_PORT=$PORT
receiver fail broken
FAIL_PORT=$PORT
# Every 0.5 s, a rule that fires and resolves every two ticks (until its
# second resolve), with
# its events sent to an endpoint that never answers and one that answers
# 500; the script writes each tick's end and each event's delay past its
# tick's start. The bounds are generous (the machine may be loaded): a tick
# or line held up by a request would take the 1 s timeout and more.
cat >"$TMP/slow.lua" <<'EOF'
local dir, hang, broken = arg[1], arg[2], arg[3]
local ticks = assert(io.open(dir .. "/ticks", "w"))
require("memwatch.watch.engine").on_tick(function(now) ticks:write(string.format("%.3f\n", now)); ticks:flush() end)
local n = 0
local function line(ev)
    io.stdout:write(string.format("%s %.3f\n", ev.kind == "alert" and "ALERT" or "RESOLVED", memwatch.now() - ev.now))
    io.stdout:flush()
end
local actions = { line,
    memwatch.actions.webhook { url = "http://127.0.0.1:" .. hang .. "/hang?token=s3cr3t", timeout = "1s", retries = 1 },
    memwatch.actions.alertmanager { url = "http://127.0.0.1:" .. hang .. "/am?apikey=s3cr3t", timeout = "1s",
        retries = 1 },
    memwatch.actions.webhook { url = "http://127.0.0.1:" .. broken .. "/fail?token=s3cr3t", retries = 1 } }
local resolves = 0
local on_resolve = { table.unpack(actions) }
on_resolve[#on_resolve + 1] = function()
    resolves = resolves + 1
    if resolves == 2 then memwatch.watch.default():stop() end
end
memwatch.watch { name = "flap", select = { pid = memwatch.self().pid }, group = "none", every = "0.5s",
    metric = function() n = n + 1; return (n - 1) % 4 < 2 and 2048 or 0 end, above = 1024,
    on_alert = actions, on_resolve = on_resolve }
memwatch.run("30s") -- stopped at the second resolve
EOF
T0=$(date +%s.%N)
"$MEMWATCH" "$TMP/slow.lua" "$TMP" "$HANG_PORT" "$FAIL_PORT" >"$TMP/slow.out" 2>"$TMP/slow.err"
expect_eq "$?" 0 "exit status"
T1=$(date +%s.%N)
ERR=$(cat "$TMP/slow.err")
expect_eq "$(awk '{print $1}' "$TMP/slow.out" | tr '\n' ' ')" "ALERT RESOLVED ALERT RESOLVED " "the event lines"
LATE=$(awk '$2 >= 1.5' "$TMP/slow.out")
expect_eq "$LATE" "" "no event line printed 1.5 s or more after its tick began"
GAPS=$(awk 'NR > 1 { g = $1 - prev; if (g > max) max = g } { prev = $1 } END { printf "%d ticks, longest gap %.3f", NR, max }' "$TMP/ticks")
echo "slow endpoints: $GAPS; exit after $(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", b - a }') s"
check "awk '{ if (NR > 1 && \$1 - prev >= 1.5) bad = 1; prev = \$1 } END { exit bad || NR < 7 }' '$TMP/ticks'" \
    "ticks every 0.5 s, none 1.5 s or more apart ($GAPS)"
P="http://127\\.0\\.0\\.1"
expect_match "$ERR" "^memwatch: webhook $P:$HANG_PORT/hang\\?token=\\*\\*\\*: failed \\(Operation timed out after [0-9]+ milliseconds with 0 bytes received\\); retrying in 1s \\(attempt 2 of 2\\)\$" \
    "the silent endpoint's timeout is reported"
expect_match "$ERR" "^memwatch: alertmanager $P:$HANG_PORT/am/api/v2/alerts\\?apikey=\\*\\*\\*: gave up after 2 attempts \\(Operation timed out after [0-9]+ milliseconds with 0 bytes received\\); further losses are counted, not reported, until a delivery succeeds\$" \
    "the Alertmanager that never answers: given up, reported"
expect_match "$ERR" "^memwatch: webhook $P:$FAIL_PORT/fail\\?token=\\*\\*\\*: failed \\(HTTP 500: server broke\\); retrying in 1s \\(attempt 2 of 2\\)\$" \
    "the 500 is reported"
expect_match "$ERR" "^memwatch: webhook $P:$FAIL_PORT/fail\\?token=\\*\\*\\*: gave up after 2 attempts \\(HTTP 500: server broke\\); further losses are counted, not reported, until a delivery succeeds\$" \
    "the 500 is given up after its retry"
expect_not_contains "$ERR" "s3cr3t" "no token on stderr"

# ---- a body function that fails is a callback error -----------------------------------------
case_ "body function error"
cat >"$TMP/boom.lua" <<'EOF'
memwatch.watch { name = "boom", select = { pid = memwatch.self().pid }, group = "none", above = "1K", every = "0.2s",
    on_alert = memwatch.actions.webhook { url = "http://127.0.0.1:" .. arg[1] .. "/boom",
        body = function(ev) error("no body for " .. ev.rule) end } }
memwatch.run("0.5s")
EOF
"$MEMWATCH" "$TMP/boom.lua" "$OK_PORT" >/dev/null 2>"$TMP/boom.err"
expect_eq "$?" 0 "exit status"
expect_eq "$(cat "$TMP/boom.err")" "memwatch: rule 'boom': on_alert: $TMP/boom.lua:3: no body for boom" \
    "reported as any callback's error"
expect_eq "$(grep -c '"/boom"' "$TMP/hook.jsonl")" 0 "nothing sent"

# ---- at exit: a bounded flush ---------------------------------------------------------------
case_ "exit"
# Posted as the script ends: the executable's exit still sends it...
cat >"$TMP/last.lua" <<'EOF'
local d = require("memwatch.delivery").destination { name = "webhook", url = "http://127.0.0.1:" .. arg[1] .. "/last" }
assert(d:post("k", "bye", "text/plain"))
EOF
"$MEMWATCH" "$TMP/last.lua" "$OK_PORT" 2>"$TMP/last.err"
expect_eq "$?" 0 "exit status"
expect_eq "$(grep -c '"/last"' "$TMP/hook.jsonl")" 1 "a delivery queued at exit is sent"
# ... and gives up on an endpoint that never answers after 5 s, saying so.
S0=$(date +%s)
"$MEMWATCH" "$TMP/last.lua" "$HANG_PORT" 2>"$TMP/last.err"
expect_eq "$?" 0 "exit status with a silent endpoint"
S1=$(date +%s)
check "[ $((S1 - S0)) -le 8 ]" "exit waited about 5 s, not the 10 s timeout and its retries ($((S1 - S0)) s)"
expect_eq "$(cat "$TMP/last.err")" "memwatch: delivery: 1 delivery was not sent at exit (waited 5s)" \
    "what was not sent is said"

# memwatch.delivery.flush waits in the one wait, so Ctrl-C ends it at once
# ("interrupted!"; the exit's own flush then waits its 5 s): about 5.5 s in
# all, where a flush deaf to Ctrl-C took its 5 s, then the exit's 5 more.
cat >"$TMP/flush.lua" <<'EOF'
local delivery = require("memwatch.delivery")
local d = delivery.destination { name = "webhook", url = "http://127.0.0.1:" .. arg[1] .. "/flush" }
assert(d:post("k", "bye", "text/plain"))
io.open(arg[2], "w"):close()
delivery.flush(5)
print("flush returned")
EOF
S0=$(date +%s.%N)
"$MEMWATCH" "$TMP/flush.lua" "$HANG_PORT" "$TMP/flushing" >"$TMP/flush.out" 2>"$TMP/flush.err" &
MW=$!
PIDS+=("$MW")
wait_file "$TMP/flushing" 10 || fail "the flush script did not start"
sleep 0.5
kill -INT "$MW"
wait "$MW"
expect_eq "$?" 130 "Ctrl-C during flush: exit status"
S1=$(date +%s.%N)
check "awk 'BEGIN { exit !($S1 - $S0 < 8.5) }'" "Ctrl-C ended the flush at once ($(awk "BEGIN { print $S1 - $S0 }") s in all)"
expect_eq "$(cat "$TMP/flush.out")" "" "Ctrl-C during flush: the script did not go on"
expect_eq "$(cat "$TMP/flush.err")" "interrupted!
memwatch: delivery: 1 delivery was not sent at exit (waited 5s)" "Ctrl-C during flush: what is said"

# A stock lua5.4 with memwatch/core.so: the state's close flushes the same way.
SO="${MW_BUILD_DIR:-}/lua/memwatch/core.so"
if [ -n "$LUA" ] && [ -n "${MW_SOURCE_DIR:-}" ] && [ -f "$SO" ]; then
    PRELOAD="" # an ASan build's module needs the runtime preloaded (as in test_stock_lua.sh)
    if nm -D "$SO" 2>/dev/null | grep -q '__asan'; then
        PRELOAD=$(ldd "$SO" 2>/dev/null | awk '/asan/ && $3 ~ /^\// { print $3; exit }')
        [ -n "$PRELOAD" ] || PRELOAD=$(gcc -print-file-name=libasan.so 2>/dev/null)
    fi
    LD_PRELOAD="$PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}" ASAN_OPTIONS="detect_leaks=0" \
        LUA_CPATH="$MW_BUILD_DIR/lua/?.so;;" LUA_PATH="$MW_SOURCE_DIR/scripts/?.lua;$MW_SOURCE_DIR/scripts/?/init.lua;;" \
        "$LUA" -e 'require "memwatch"' "$TMP/last.lua" "$OK_PORT" 2>"$TMP/stock.err"
    expect_eq "$?" 0 "stock lua5.4: exit status"
    expect_eq "$(grep -c '"/last"' "$TMP/hook.jsonl")" 2 "stock lua5.4: the delivery is sent as the state closes"
    expect_eq "$(cat "$TMP/stock.err")" "" "stock lua5.4: nothing on stderr"
else
    not_run "a stock lua5.4 and the build's memwatch/core.so (MW_BUILD_DIR, MW_SOURCE_DIR)"
fi

# ---- TLS: verified unless insecure = true ----------------------------------------------------
if needs openssl; then
    case_ "TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 1 \
        -subj "/CN=127.0.0.1" >/dev/null 2>&1 || fail "openssl could not make a certificate"
    MW_TLS_CERT="$TMP/cert.pem" MW_TLS_KEY="$TMP/key.pem" receiver tls tls
    cat >"$TMP/tls.lua" <<'EOF'
local delivery = require "memwatch.delivery"
local d = delivery.destination { name = "webhook", url = "https://127.0.0.1:" .. arg[1] .. "/tls", retries = 0,
    insecure = arg[2] == "insecure" }
assert(d:post("k", "secret", "text/plain"))
assert(delivery.flush(5))
local s = d:stats()
print(s.sent, s.failed)
EOF
    expect_eq "$("$MEMWATCH" "$TMP/tls.lua" "$PORT" 2>"$TMP/tls.err")" "0	1" "a self-signed certificate is refused"
    expect_match "$(cat "$TMP/tls.err")" "^memwatch: webhook https://127\\.0\\.0\\.1:$PORT/tls: (refused|gave up after 1 attempts) \\(SSL certificate problem: self.signed certificate\\)" \
        "the refusal is reported"
    check "[ ! -s '$TMP/tls.jsonl' ]" "nothing reached the server"
    expect_eq "$("$MEMWATCH" "$TMP/tls.lua" "$PORT" insecure 2>&1)" "1	0" "insecure = true sends it"
    expect_eq "$(grep -c '"/tls"' "$TMP/tls.jsonl")" 1 "the server got it"
fi

# ---- serve's counters ---------------------------------------------------------------------
case_ "serve exports delivery counters"
cat >"$TMP/serve-rules.lua" <<EOF
memwatch.watch { name = "self", select = { pid = memwatch.self().pid }, group = "none", every = "0.3s",
    above = "1K", on_alert = memwatch.actions.webhook { url = "http://127.0.0.1:$OK_PORT/serve?token=s3cr3t" } }
EOF
start_serve serve --pid 1 --rules "$TMP/serve-rules.lua"
SERVE=$SPID
MW_PORT=$PORT
wait_for "$TMP/hook.jsonl" '"/serve?token=s3cr3t"' 10
METRICS=$(curl -s -m 5 "http://127.0.0.1:$MW_PORT/metrics" | grep '^memwatch_delivery_')
kill "$SERVE"
expect_eq "$METRICS" "memwatch_delivery_sent_total{destination=\"http://127.0.0.1:$OK_PORT/serve?token=***\"} 1
memwatch_delivery_failed_total{destination=\"http://127.0.0.1:$OK_PORT/serve?token=***\"} 0
memwatch_delivery_dropped_total{destination=\"http://127.0.0.1:$OK_PORT/serve?token=***\"} 0" "the counters, URL redacted"
start_serve serve2 --pid 1
SERVE=$SPID
MW_PORT=$PORT
expect_not_contains "$(curl -s -m 5 "http://127.0.0.1:$MW_PORT/metrics")" "memwatch_delivery_" \
    "no delivery series without destinations"
kill "$SERVE"

# ---- a real Alertmanager ------------------------------------------------------------------
if [ -z "$LUA" ]; then
    not_run "needs lua5.4 for the growing child"
elif needs prometheus-alertmanager; then
    case_ "memwatch alert --alertmanager"
    AM_PORT=$(free_port)
    printf 'route:\n  receiver: "null"\n  group_wait: 0s\n  group_interval: 1s\nreceivers:\n  - name: "null"\n' \
        >"$TMP/alertmanager.yml"
    mkdir "$TMP/am"
    prometheus-alertmanager --config.file="$TMP/alertmanager.yml" --storage.path="$TMP/am" \
        --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$TMP/alertmanager.log" 2>&1 </dev/null &
    PIDS+=("$!")
    for _ in $(seq 100); do curl -s -m 1 "http://127.0.0.1:$AM_PORT/-/ready" >/dev/null && break; sleep 0.1; done

    NAME="mwdeliv$$"
    NAME=${NAME:0:15}
    cp "$LUA" "$TMP/$NAME"
    cp "$(dirname "$0")/hold.lua" "$TMP/hold.lua"
    "$MEMWATCH" alert "$NAME" --over 32M --group name --every 0.5s --alertmanager "http://127.0.0.1:$AM_PORT" \
        --webhook "http://127.0.0.1:$OK_PORT/cli" --instance test-host --label team=ops --stop-after 40s \
        >"$TMP/alert.out" 2>"$TMP/alert.err" &
    ALERT=$!
    PIDS+=("$ALERT")
    (cd "$TMP" && exec "./$NAME" hold.lua "$TMP" >/dev/null 2>&1) &
    HOLDER=$!
    PIDS+=("$HOLDER")
    wait_file "$TMP/grown" 10 || fail "the child did not allocate"

    # One line per active alert: its labels sorted as k=v, then its annotations.
    am_alerts() {
        curl -s -m 2 "http://127.0.0.1:$AM_PORT/api/v2/alerts" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for a in d:
    if a.get("status", {}).get("state") != "active":
        continue
    print(" ".join("%s=%s" % kv for kv in sorted(a["labels"].items())), "|",
          " ".join("%s=%s" % kv for kv in sorted(a["annotations"].items())))
' 2>/dev/null
    }
    WANT="alertname=$NAME grouping=name instance=test-host key=$NAME team=ops"
    GOT=""
    for _ in $(seq 150); do
        GOT=$(am_alerts)
        grep -qF -- "$WANT |" <<<"$GOT" && break
        sleep 0.2
    done
    expect_match "$GOT" "^$WANT \\| pids=$HOLDER processes=1 summary=ALERT rule '$NAME' $NAME: footprint [0-9.]+M \\(above 32\\.0M\\), 1 process on test-host threshold=32\\.0M value=[0-9.]+M\$" \
        "the alert is active in Alertmanager with memwatch's labels and annotations"
    expect_match "$(cat "$TMP/alert.out")" "^[0-9T:+-]+ ALERT $NAME 1 process [0-9.]+M\$" "the ALERT line"
    : >"$TMP/free"
    wait_file "$TMP/freed" 10 || fail "the child did not free"
    for _ in $(seq 150); do
        GOT=$(am_alerts)
        grep -qF -- "$WANT |" <<<"$GOT" || break
        sleep 0.2
    done
    expect_not_contains "$GOT" "$WANT |" "the resolve (endsAt now) took it off the active list"
    expect_match "$(cat "$TMP/alert.out")" "^[0-9T:+-]+ RESOLVED $NAME 1 process [0-9.]+[KM]\$" "the RESOLVED line"
    expect_eq "$(grep -c '"/cli"' "$TMP/hook.jsonl")" 2 "--webhook got the alert and the resolve"
    kill "$ALERT" 2>/dev/null
    wait "$ALERT" 2>/dev/null
    expect_eq "$(grep -v '^memwatch alert: watching' "$TMP/alert.err")" "" "nothing else on stderr"

    case_ "Alertmanager heartbeat"
    cat >"$TMP/beat.lua" <<EOF
memwatch.watch { name = "quiet", select = { pid = memwatch.self().pid }, above = "1T", every = "0.5s",
    on_alert = memwatch.actions.alertmanager { url = "http://127.0.0.1:$AM_PORT", heartbeat = "1s",
        instance = "beat-host", labels = { team = "ops" } } }
memwatch.run("2.2s")
EOF
    "$MEMWATCH" "$TMP/beat.lua" >"$TMP/beat.out" 2>"$TMP/beat.err"
    expect_eq "$?" 0 "exit status"
    expect_match "$(am_alerts)" "^alertname=MemwatchHeartbeat instance=beat-host team=ops \\| summary=memwatch on beat-host is running \\(posted every 1s\\)\$" \
        "MemwatchHeartbeat fires in Alertmanager"
fi

echo "took $(($(date +%s) - START)) s"
[ "$FAIL" -eq 0 ] || { show "$TMP/slow.err"; show "$TMP/alert.err"; show "$TMP/alertmanager.log"; }
mw_test_done
