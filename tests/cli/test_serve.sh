#!/usr/bin/env bash
# memwatch serve (issue 6 "memwatch serve", issue 7 hostile input): GET
# /metrics only (405, 404, 413, oversized requests), bounded connections,
# promtool-valid output (kept for the cli_promtool test), selection/top/grouping, a rules script's metrics,
# the loopback warning, exact option errors, SIGTERM/SIGINT, and the textfile
# mode written atomically. Everything on 127.0.0.1, every child killed on exit.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
for tool in curl python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (Debian: apt-get install $tool; scripts/setup.sh test installs it)"
        exit 77
    fi
done

. "$(dirname "$0")/lib.sh"
mw_test_init serve
# The whole file is bounded in time: a hung server must not hang ctest.
(sleep 100 </dev/null >/dev/null 2>&1 && echo "test_serve.sh: timed out after 100 s" >&2 && kill -TERM $$) &
WATCHDOG=$!
PIDS+=("$WATCHDOG")

# stop_serve SIGNAL: signals the server, waits (bounded), sets SRC.
stop_serve() {
    kill -"$1" "$SPID" 2>/dev/null
    for _ in $(seq 250); do
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.02
    done
    if kill -0 "$SPID" 2>/dev/null; then
        fail "memwatch serve did not stop on SIG$1"
        kill -KILL "$SPID"
    fi
    wait "$SPID"
    SRC=$?
}

# http ARGS... -> sets CODE, BODY, HEAD (headers)
http() {
    CODE=$(curl -s -m 5 -D "$TMP/head" -o "$TMP/body" -w '%{http_code}' "$@")
    BODY=$(cat "$TMP/body" 2>/dev/null)
    HEAD=$(tr -d '\r' <"$TMP/head" 2>/dev/null)
}

# A quiet child with a unique name (a copy of sleep).
CHILD_NAME="mwsrv$$"
CHILD_NAME=${CHILD_NAME:0:15}
cp "$(command -v sleep)" "$TMP/$CHILD_NAME"
"$TMP/$CHILD_NAME" 120 &
CHILD=$!
PIDS+=("$CHILD")

# ---------------------------------------------------------------------------
case_ "GET /metrics"
start_serve main || exit 1
expect_eq "$(head -n 1 "$TMP/main.err")" "memwatch serve: listening on http://127.0.0.1:$PORT/metrics" "startup line"
http "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 200 "status"
expect_contains "$HEAD" "Content-Type: text/plain; version=0.0.4; charset=utf-8" "content type"
printf '%s\n' "$BODY" >"$TMP/metrics.txt"
keep_exposition "$TMP/metrics.txt" "GET /metrics"
expect_contains "$BODY" "process_memory_footprint_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\",user=\"$(id -un)\"} " \
    "the child's footprint"
expect_contains "$BODY" "process_memory_usage_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\"," "the child's resident"
for fam in memwatch_scrape_duration_seconds memwatch_self_footprint_bytes memwatch_scrape_processes; do
    expect_contains "$BODY" "# TYPE $fam gauge" "$fam"
done
FP=$(printf '%s\n' "$BODY" | sed -n "s/^process_memory_footprint_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\",[^}]*} \([0-9]*\)$/\1/p")
if [ -n "$FP" ] && [ "$FP" -gt 0 ]; then pass; else fail "child footprint '$FP'"; fi
http "http://127.0.0.1:$PORT/metrics?x=1"
expect_eq "$CODE" 200 "a query string is ignored"

case_ "keep-alive: two scrapes on one connection"
N=$(curl -s -m 5 -o /dev/null -o /dev/null -w '%{num_connects}\n' "http://127.0.0.1:$PORT/metrics" \
    "http://127.0.0.1:$PORT/metrics" | tr '\n' ' ')
expect_eq "$N" "1 0 " "the second request reuses the connection"

case_ "only GET"
for m in POST PUT DELETE PATCH HEAD OPTIONS; do
    if [ "$m" = HEAD ]; then http -I "http://127.0.0.1:$PORT/metrics"; else http -X "$m" "http://127.0.0.1:$PORT/metrics"; fi
    expect_eq "$CODE" 405 "$m status"
    expect_contains "$HEAD" "Allow: GET" "$m Allow header"
done
http -X POST --data-binary 'x=1' "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 405 "POST with a body"
expect_eq "$BODY" "method POST not allowed: only GET /metrics" "405 text"

case_ "unknown paths"
for p in / /metric /metrics/ /metrics/x /../etc/passwd /favicon.ico; do
    http --path-as-is "http://127.0.0.1:$PORT$p"
    expect_eq "$CODE" 404 "GET $p"
done
expect_eq "$BODY" "not found: the metrics are at /metrics" "404 text"

case_ "no request body"
http -X GET --data-binary 'abc' "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 413 "GET with a body"
expect_eq "$BODY" "a request body is not allowed" "413 text"
http -X GET -H 'Transfer-Encoding: chunked' --data-binary 'abc' "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 413 "GET with a chunked body"

case_ "oversized requests"
BIG=$(head -c 40000 /dev/zero | tr '\0' a)
http -H "X-Big: $BIG" "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 431 "a 40 KB header"
http "http://127.0.0.1:$PORT/metrics?$BIG"
case "$CODE" in
414 | 431) pass ;;
*) fail "a 40 KB URL: status $CODE, expected 414 or 431" ;;
esac
# A request that never ends its headers is cut off at the memory limit.
RAW=$(python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    for _ in range(64):
        s.sendall(b"X-Pad: " + b"b" * 1000 + b"\r\n")
except OSError:
    pass
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except OSError:
    pass
print(data.split(b"\r\n", 1)[0].decode("latin-1"))
EOF
)
expect_eq "$RAW" "HTTP/1.1 431 Request Header Fields Too Large" "endless headers"
http "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 200 "still serving after the oversized requests"

case_ "bounded connections"
# 40 clients each send a request: at most 16 connections (the limit) are
# taken in and answered; the others wait in the kernel's backlog.
CONN=$(python3 - "$PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
time.sleep(1.5)
answered = 0
for s in socks:
    s.settimeout(0.01)
    try:
        if s.recv(16).startswith(b"HTTP/1.1 200"):
            answered += 1
    except OSError:
        pass
print(answered)
for s in socks:
    s.close()
EOF
)
expect_eq "$CONN" 16 "of 40 connections, those answered while all stay open"
sleep 0.2
http "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 200 "serving again once the connections are closed"

case_ "SIGTERM stops cleanly"
stop_serve TERM
expect_eq "$SRC" 0 "exit code"
expect_eq "$(tail -n 1 "$TMP/main.err")" "memwatch serve: stopped (SIGTERM)" "last line"
if curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/metrics"; then fail "still answering after SIGTERM"; else pass; fi

case_ "SIGINT"
start_serve int || exit 1
stop_serve INT
expect_eq "$SRC" 130 "exit code"
expect_eq "$(tail -n 1 "$TMP/int.err")" "memwatch serve: stopped (SIGINT)" "last line"

# ---------------------------------------------------------------------------
case_ "--name, --top, --group"
start_serve sel --name "$CHILD_NAME" || exit 1
http "http://127.0.0.1:$PORT/metrics"
N=$(printf '%s\n' "$BODY" | grep -c '^process_memory_footprint_bytes{')
expect_eq "$N" 1 "--name keeps one process"
expect_contains "$BODY" "pid=\"$CHILD\"" "the child"
stop_serve TERM

start_serve top --top 3 || exit 1
http "http://127.0.0.1:$PORT/metrics"
expect_eq "$(printf '%s\n' "$BODY" | grep -c '^process_memory_footprint_bytes{')" 3 "--top 3"
printf '%s\n' "$BODY" >"$TMP/top.txt"
keep_exposition "$TMP/top.txt" "--top 3"
stop_serve TERM

for g in name user tree app; do
    start_serve "g$g" --group "$g" || exit 1
    http "http://127.0.0.1:$PORT/metrics"
    printf '%s\n' "$BODY" >"$TMP/group-$g.txt"
    keep_exposition "$TMP/group-$g.txt" "--group $g"
    expect_contains "$BODY" "memwatch_group_memory_footprint_bytes{group=" "--group $g: group footprint"
    expect_contains "$BODY" "grouping=\"$g\"" "--group $g: grouping label"
    expect_contains "$BODY" "# TYPE memwatch_group_processes gauge" "--group $g: process count"
    expect_not_contains "$BODY" "process_memory_footprint_bytes{" "--group $g: no per-process series"
    stop_serve TERM
done
start_serve gname --group name --name "$CHILD_NAME" || exit 1
http "http://127.0.0.1:$PORT/metrics"
expect_contains "$BODY" "memwatch_group_processes{group=\"$CHILD_NAME\",grouping=\"name\"} 1" "one process in the group"
stop_serve TERM

start_serve pss --pss --name "$CHILD_NAME" || exit 1
http "http://127.0.0.1:$PORT/metrics"
if [ -r "/proc/$CHILD/smaps_rollup" ]; then
    expect_contains "$BODY" "process_memory_pss_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\"," "--pss"
else
    not_run "--pss: /proc/$CHILD/smaps_rollup is not readable (a kernel before 4.14?)"
fi
stop_serve TERM

case_ "--rules adds metrics"
cat >"$TMP/rules.lua" <<'EOF'
local metrics = require "memwatch.metrics"
local g = metrics.gauge("myrules_processes", "Processes seen by the rules script.", { "kind" })
local c = metrics.counter("myrules_scrapes_total", "Scrapes seen by the rules script.")
metrics.on_collect(function(recs)
    g:set({ kind = "all" }, #recs)
    c:inc()
end)
EOF
start_serve rules --rules "$TMP/rules.lua" || exit 1
http "http://127.0.0.1:$PORT/metrics"
http "http://127.0.0.1:$PORT/metrics"
expect_contains "$BODY" "# TYPE myrules_processes gauge" "the script's gauge"
expect_contains "$BODY" "myrules_scrapes_total 2" "the script's counter, once per scrape"
printf '%s\n' "$BODY" >"$TMP/rules.txt"
keep_exposition "$TMP/rules.txt" "with a script's metrics"
stop_serve TERM

# Watch rules in the script run between requests; their callbacks feed metrics.
cat >"$TMP/watchrules.lua" <<'EOF'
local metrics = require "memwatch.metrics"
local alerts = metrics.counter("myrules_alerts_total", "Alerts fired by the rules.", { "rule" })
require("memwatch.watch").watch { name = "any", above = 1, every = "0.1s",
    on_alert = function(ev) alerts:inc({ rule = ev.rule }) end }
EOF
start_serve watchrules --rules "$TMP/watchrules.lua" || exit 1
sleep 0.5
http "http://127.0.0.1:$PORT/metrics"
N=$(printf '%s\n' "$BODY" | sed -n 's/^myrules_alerts_total{rule="any"} \([0-9]*\)$/\1/p')
if [ -n "$N" ] && [ "$N" -ge 1 ]; then pass; else fail "the rules' on_alert did not run between requests (count '$N')"; fi
stop_serve TERM
expect_eq "$SRC" 0 "exit code with watch rules"

cat >"$TMP/badrules.lua" <<'EOF'
require("memwatch.metrics").on_collect(function() error("collector broke") end)
EOF
start_serve badrules --rules "$TMP/badrules.lua" || exit 1
http "http://127.0.0.1:$PORT/metrics"
expect_eq "$CODE" 200 "a failing collector does not fail the scrape"
stop_serve TERM
expect_contains "$(cat "$TMP/badrules.err")" "memwatch serve: metrics collector failed: " "the collector's error"
expect_contains "$(cat "$TMP/badrules.err")" "collector broke" "its message"

# ---------------------------------------------------------------------------
# serve_rc ARGS...: runs memwatch serve in the foreground (bounded); RC, ERR.
serve_rc() {
    timeout 10 "$MEMWATCH" serve "$@" >"$TMP/fg.out" 2>"$TMP/fg.err" </dev/null
    RC=$?
    ERR=$(cat "$TMP/fg.err")
}

case_ "loopback warning"
# 192.0.2.1 (TEST-NET-1) is not on this machine: the bind fails, after the
# warning, so the test never listens beyond loopback.
serve_rc --listen 192.0.2.1:9187
expect_eq "$RC" 1 "exit code"
expect_eq "$(sed -n 1p "$TMP/fg.err")" "memwatch serve: WARNING: listening on 192.0.2.1:9187, beyond loopback. Any host that can reach this address can read the name, user and memory of every exported process, without authentication or TLS. Keep the default 127.0.0.1, or put it behind a firewall or an authenticating proxy, or give --web-config a file with tls_server_config and basic_auth_users." "warning text"
expect_eq "$(sed -n 2p "$TMP/fg.err")" "memwatch serve: cannot listen on 192.0.2.1:9187: Cannot assign requested address" "bind error"
serve_rc --listen "[2001:db8::1]:9187"
expect_contains "$ERR" "memwatch serve: WARNING: listening on [2001:db8::1]:9187, beyond loopback." "IPv6 warning"
start_serve quiet || exit 1
expect_not_contains "$(cat "$TMP/quiet.err")" "WARNING" "no warning on 127.0.0.1"
case_ "port in use"
serve_rc --listen "127.0.0.1:$PORT"
expect_eq "$RC" 1 "exit code"
expect_eq "$ERR" "memwatch serve: cannot listen on 127.0.0.1:$PORT: Address already in use" "message"
stop_serve TERM

case_ "bad options"
bad() { # expected-first-line ARGS...
    local want=$1
    shift
    serve_rc "$@"
    expect_eq "$RC" 2 "serve $* exit code"
    expect_eq "$(sed -n 1p "$TMP/fg.err")" "$want" "serve $*"
}
bad "memwatch serve: --listen: 'foo' is not an IPv4 or IPv6 address" --listen foo:80
bad "memwatch serve: --listen: '999.1.1.1' is not an IPv4 or IPv6 address" --listen 999.1.1.1:80
bad "memwatch serve: --listen: '127.0.0.1' is not ADDRESS:PORT (for example 127.0.0.1:9187 or [::1]:9187)" --listen 127.0.0.1
bad "memwatch serve: --listen: port 99999 is not in 0..65535" --listen 127.0.0.1:99999
bad "memwatch serve: --top must be a positive integer, got '0'" --top 0
bad "memwatch serve: --top must be a positive integer, got 'x'" --top x
bad "memwatch serve: invalid value 'bogus' for '--group' (expected none, name, tree, app, user)" --group bogus
bad "memwatch serve: --every needs --textfile" --every 1s
bad "memwatch serve: --once needs --textfile" --once
bad "memwatch serve: --textfile and --listen cannot be used together" --textfile x.prom --listen 127.0.0.1:0
bad "memwatch serve: --every: invalid duration 'soon': expected a number with an optional unit ms, s, m or h (a bare number is seconds)" --textfile "$TMP/x.prom" --every soon
bad "memwatch serve: --every must be greater than 0" --textfile "$TMP/x.prom" --every 0
bad "memwatch serve: --pid must be a process id, got 'abc'" --pid abc
bad "memwatch serve: selection: no such user 'no-such-user-xyz'" --user no-such-user-xyz
bad "memwatch serve: selection: filter 'match' is not a valid Lua pattern: malformed pattern (missing ']')" --match '[a'
bad "memwatch serve: unexpected argument 'extra'" extra
bad "memwatch serve: unknown option '--frobnicate'" --frobnicate
serve_rc --rules "$TMP/no-such-rules.lua"
expect_eq "$RC" 1 "missing rules file"
expect_eq "$ERR" "memwatch serve: --rules: cannot open $TMP/no-such-rules.lua: No such file or directory" "missing rules message"
serve_rc --help
expect_eq "$RC" 0 "--help"
expect_contains "$(cat "$TMP/fg.out")" "usage: memwatch serve " "usage on stdout"

# ---------------------------------------------------------------------------
case_ "textfile --once"
serve_rc --textfile "$TMP/memwatch.prom" --once --name "$CHILD_NAME"
expect_eq "$RC" 0 "exit code"
expect_eq "$ERR" "" "quiet"
if [ -f "$TMP/memwatch.prom" ]; then pass; else fail "no file written"; fi
if [ -e "$TMP/memwatch.prom.tmp" ]; then fail "PATH.tmp left behind"; else pass; fi
expect_contains "$(cat "$TMP/memwatch.prom")" "process_memory_footprint_bytes{name=\"$CHILD_NAME\",pid=\"$CHILD\"," "content"
keep_exposition "$TMP/memwatch.prom" "textfile"
serve_rc --textfile "$TMP/no-such-dir/memwatch.prom" --once
expect_eq "$RC" 1 "unwritable directory"
expect_eq "$ERR" "memwatch serve: cannot write $TMP/no-such-dir/memwatch.prom.tmp: $TMP/no-such-dir/memwatch.prom.tmp: No such file or directory" "its message"

case_ "textfile loop: atomic replacement"
"$MEMWATCH" serve --textfile "$TMP/loop.prom" --every 0.05s >"$TMP/loop.out" 2>"$TMP/loop.err" </dev/null &
SPID=$!
PIDS+=("$SPID")
# A reader that checks every version it sees is whole (the self metrics come
# last) and counts the distinct versions (the scrape duration differs).
CHECK=$(python3 - "$TMP/loop.prom" <<'EOF'
import os, sys, time
path = sys.argv[1]
deadline = time.time() + 3
versions, reads, partial = set(), 0, 0
while time.time() < deadline:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        time.sleep(0.005)
        continue
    reads += 1
    versions.add(hash(data))
    if not data.endswith(b"\n") or b"# TYPE memwatch_scrape_duration_seconds gauge\n" not in data:
        partial += 1
print("reads=%d partial=%d versions=%s" % (reads, partial, "many" if len(versions) >= 5 else len(versions)))
EOF
)
expect_contains "$CHECK" "partial=0 versions=many" "every read is a whole file; the file is replaced"
stop_serve TERM
expect_eq "$SRC" 0 "SIGTERM exit code"
expect_eq "$(tail -n 1 "$TMP/loop.err")" "memwatch serve: stopped (SIGTERM)" "stopped line"
if [ -e "$TMP/loop.prom.tmp" ]; then fail "PATH.tmp left behind"; else pass; fi
keep_exposition "$TMP/loop.prom" "textfile loop"

kill "$WATCHDOG" 2>/dev/null
mw_test_done
