#!/usr/bin/env bash
# memwatch under a service manager (issue 12, "A service"):
#  - sd_notify with a test socket: READY=1 (and STATUS) after the first scan,
#    WATCHDOG=1 at half of WATCHDOG_USEC (not when WATCHDOG_PID names another
#    process), RELOADING=1/READY=1 around SIGHUP, STOPPING=1 at exit; for
#    memwatch serve too; an abstract '@' socket; the errors core.notify
#    returns; nothing at all without NOTIFY_SOCKET.
#  - journald levels: with JOURNAL_STREAM naming the real dev:inode of
#    stderr, log lines carry <N> priority prefixes; unset, or naming another
#    file, they do not.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}" "${MW_SOURCE_DIR:?}"

. "$(dirname "$0")/lib.sh"
mw_test_init service
unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID JOURNAL_STREAM

RECEIVER="$MW_SOURCE_DIR/tests/cli/notify_receiver.py"

# receiver NAME OUT: a notify socket listening (path or @abstract); its pid in RPID.
receiver() {
    rm -f "$2.bound"
    python3 "$RECEIVER" "$1" "$2" "$2.bound" &
    RPID=$!
    PIDS+=("$RPID")
    wait_file "$2.bound" 5 || fail "the notify receiver did not bind $1"
}

if ! needs python3; then
    mw_test_done
    exit $?
fi

# A watch script whose metric function sends its own datagram, so the order
# of datagrams shows READY=1 came after the first scan's evaluation.
cat >"$TMP/rules.lua" <<'LUA'
local core = require "memwatch.core"
local me = core.getpid()
memwatch.watch { name = "self", select = { pid = me }, above = "1T", every = "1s",
    metric = function(g) core.notify("X-SCANNED=1") return g.footprint end }
memwatch.run()
LUA

# ---------------------------------------------------------------------------
case_ "watch: ready, watchdog, reload, stopping"
receiver "$TMP/notify.sock" "$TMP/n1"
NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=300000 "$MEMWATCH" "$TMP/rules.lua" >"$TMP/out1" 2>"$TMP/err1" &
M=$!
PIDS+=("$M")
wait_for "$TMP/n1" "READY=1" 10 || fail "no READY=1: $(cat "$TMP/n1" "$TMP/err1")"
sleep 1.6
kill -HUP "$M"
wait_for "$TMP/err1" "reloaded" 5 || fail "no reload: $(cat "$TMP/err1")"
sleep 0.3
kill -TERM "$M"
wait "$M"
expect_eq "$?" 0 "exit status after SIGTERM"
sleep 0.2
N1=$(cut -d' ' -f2- "$TMP/n1")
first=$(grep -n -m1 'X-SCANNED=1' <<<"$N1" | cut -d: -f1)
ready=$(grep -n -m1 '^READY=1' <<<"$N1" | cut -d: -f1)
check "[ -n '$first' ] && [ -n '$ready' ] && [ '$first' -lt '$ready' ]" \
    "READY=1 comes after the first scan: $N1"
expect_match "$N1" '^READY=1\|STATUS=watching 1 rule$' "READY=1 with a STATUS"
# Which sampler the scans use, and why, said once (memwatch.sampler()).
sampler=$("$MEMWATCH" -e 'print((memwatch.sampler()))')
expect_eq "$(grep -c '^memwatch: sampler ' "$TMP/err1")" 1 "the sampler is logged once"
expect_match "$(cat "$TMP/err1")" "^memwatch: sampler $sampler \\(.+\\)$" "the sampler line names memwatch.sampler()"
# 0.3 s watchdog: fed every 0.15 s, though the rule ticks once a second.
nwd=$(grep -c '^WATCHDOG=1$' <<<"$N1")
check "[ '$nwd' -ge 8 ]" "WATCHDOG=1 about every 0.15 s over ~2 s, got $nwd: $N1"
gaps=$(grep ' WATCHDOG=1$' "$TMP/n1" | awk 'NR > 1 && $1 - prev > g { g = $1 - prev } { prev = $1 } END { printf "%.3f", g }')
check "awk 'BEGIN { exit !($gaps < 0.3) }'" "the watchdog is fed within its interval (largest gap ${gaps}s)"
expect_match "$N1" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' "RELOADING=1 on SIGHUP"
reloading=$(grep -n -m1 '^RELOADING=1' <<<"$N1" | cut -d: -f1)
ready2=$(grep -n '^READY=1' <<<"$N1" | sed -n 2p | cut -d: -f1)
check "[ -n '$reloading' ] && [ -n '$ready2' ] && [ '$reloading' -lt '$ready2' ]" "READY=1 again after the reload: $N1"
expect_eq "$(tail -n 1 <<<"$N1")" "STOPPING=1" "STOPPING=1 is the last datagram"
expect_eq "$(cat "$TMP/out1")" "" "nothing on stdout"
kill "$RPID"

# ---------------------------------------------------------------------------
case_ "watch: WATCHDOG_PID of another process"
receiver "$TMP/notify2.sock" "$TMP/n2"
NOTIFY_SOCKET="$TMP/notify2.sock" WATCHDOG_USEC=200000 WATCHDOG_PID=1 \
    "$MEMWATCH" -e 'memwatch.watch { name = "x", select = { pid = 1 }, above = "1T" } memwatch.run(1)' 2>"$TMP/err2"
expect_eq "$?" 0 "exit status"
sleep 0.2
N2=$(cut -d' ' -f2- "$TMP/n2")
expect_match "$N2" '^READY=1' "READY=1"
expect_no_match "$N2" 'WATCHDOG=1' "no WATCHDOG=1 when WATCHDOG_PID names another process"
expect_eq "$(tail -n 1 <<<"$N2")" "STOPPING=1" "STOPPING=1 at the end of memwatch.run(1)"
kill "$RPID"

# ---------------------------------------------------------------------------
case_ "abstract socket"
if [ "$(uname -s)" = Linux ]; then
    ABS="@memwatch-test-$$-$RANDOM"
    receiver "$ABS" "$TMP/n3"
    out=$(NOTIFY_SOCKET="$ABS" "$MEMWATCH" -e 'print(require("memwatch.core").notify("READY=1\nSTATUS=abstract"))' 2>&1)
    expect_eq "$out" "true" "core.notify to an @abstract socket"
    sleep 0.2
    expect_eq "$(cut -d' ' -f2- "$TMP/n3")" "READY=1|STATUS=abstract" "the datagram arrived"
    kill "$RPID"
else
    not_run "abstract sockets are Linux-only"
fi

# ---------------------------------------------------------------------------
case_ "serve: ready and stopping"
receiver "$TMP/notify4.sock" "$TMP/n4"
NOTIFY_SOCKET="$TMP/notify4.sock" WATCHDOG_USEC=400000 "$MEMWATCH" serve --listen 127.0.0.1:0 2>"$TMP/err4" &
S=$!
PIDS+=("$S")
wait_for "$TMP/n4" "READY=1" 10 || fail "serve sent no READY=1: $(cat "$TMP/err4")"
sleep 1
kill -TERM "$S"
wait "$S"
expect_eq "$?" 0 "serve's exit status after SIGTERM"
sleep 0.2
N4=$(cut -d' ' -f2- "$TMP/n4")
expect_match "$N4" '^READY=1\|STATUS=listening on http://127\.0\.0\.1:[0-9]+/metrics$' "serve's READY=1"
nwd=$(grep -c '^WATCHDOG=1$' <<<"$N4")
check "[ '$nwd' -ge 3 ]" "serve feeds the watchdog, got $nwd: $N4"
expect_eq "$(tail -n 1 <<<"$N4")" "STOPPING=1" "serve's last datagram"
kill "$RPID"

# ---------------------------------------------------------------------------
case_ "core.notify results"
out=$("$MEMWATCH" -e 'local c = require "memwatch.core" print(c.notify("READY=1"))' 2>&1)
expect_eq "$out" "false" "no NOTIFY_SOCKET: false, quietly"
out=$(NOTIFY_SOCKET=relative "$MEMWATCH" -e 'print(require("memwatch.core").notify("READY=1"))' 2>&1)
expect_eq "$out" "nil	notify: NOTIFY_SOCKET 'relative': not a socket path or @abstract name	97" \
    "a NOTIFY_SOCKET that is not a path"
long=$(printf '/%0200d' 0)
out=$(NOTIFY_SOCKET=$long "$MEMWATCH" -e 'print(require("memwatch.core").notify("READY=1"))' 2>&1)
expect_eq "$out" "nil	notify: NOTIFY_SOCKET '$long': too long for a socket address	36" "too long"
out=$(NOTIFY_SOCKET="$TMP/nobody.sock" "$MEMWATCH" -e 'print(require("memwatch.core").notify("READY=1"))' 2>&1)
expect_eq "$out" "nil	notify: No such file or directory	2" "nobody listening"
out=$("$MEMWATCH" -e 'print(pcall(require("memwatch.core").notify, ""))' 2>&1)
expect_eq "$out" "false	bad argument #1 to 'memwatch.core.notify' (empty notification)" "an empty notification raises"
# A service whose socket went away says so once, and goes on watching.
NOTIFY_SOCKET="$TMP/nobody.sock" WATCHDOG_USEC=100000 "$MEMWATCH" \
    -e 'memwatch.watch { name = "x", select = { pid = require("memwatch.core").getpid() }, above = "1T" } memwatch.run(0.5)' 2>"$TMP/err5"
expect_eq "$?" 0 "exit status with an unreachable socket"
expect_eq "$(grep -v '^memwatch: sampler ' "$TMP/err5")" "memwatch: notify: No such file or directory; the service manager is not told of readiness or fed its watchdog" \
    "one warning for an unreachable socket"

# ---------------------------------------------------------------------------
case_ "journald levels"
# A rule that fires at once (ALERT, through actions.log on stderr), a failing
# callback (an error report) and an action warning.
cat >"$TMP/levels.lua" <<'LUA'
local core = require "memwatch.core"
local me = core.getpid()
memwatch.watch { name = "lvl", select = { pid = me }, above = 1, every = "0.1s",
    on_alert = { memwatch.actions.log(), function() error("boom") end } }
require("memwatch.actions").warn("a warning")
memwatch.run(0.35)
LUA
"$MEMWATCH" "$TMP/levels.lua" >"$TMP/plain.out" 2>"$TMP/plain.err"
expect_eq "$?" 0 "exit status without JOURNAL_STREAM"
: >"$TMP/j.err"
id=$(stat -L -c '%d:%i' "$TMP/j.err")
JOURNAL_STREAM=$id "$MEMWATCH" "$TMP/levels.lua" >"$TMP/j.out" 2>>"$TMP/j.err"
expect_eq "$?" 0 "exit status with JOURNAL_STREAM"
PLAIN=$(cat "$TMP/plain.err")
J=$(cat "$TMP/j.err")
expect_no_match "$PLAIN" '^<[0-7]>' "no prefixes without JOURNAL_STREAM"
expect_match "$PLAIN" '^memwatch: a warning$' "the warning, plain"
expect_match "$J" '^<4>memwatch: a warning$' "a warning is <4>"
expect_match "$J" '^<5>[0-9T:+-]+ ALERT memwatch\[[0-9]+\] 1 process .* rule .lvl.' "an ALERT is <5>"
expect_match "$J" "^<3>memwatch: rule 'lvl': on_alert.*boom" "a callback failure is <3>"
expect_eq "$(grep -vc '^<[3-6]>' <<<"$J")" 0 "every line under journald has a level: $J"
# The variable alone is not enough: it must name the file written to.
: >"$TMP/k.err"
JOURNAL_STREAM=$id "$MEMWATCH" "$TMP/levels.lua" >"$TMP/k.out" 2>>"$TMP/k.err"
expect_no_match "$(cat "$TMP/k.err")" '^<[0-7]>' "JOURNAL_STREAM naming another file: no prefixes"
# memwatch alert: ALERT lines on stdout <5>, the start line on stderr <6>.
: >"$TMP/a.out"
: >"$TMP/a.err"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$TMP/a.out") "$MEMWATCH" alert memwatch --over 1 --every 0.1s \
    --stop-after 0.35s >>"$TMP/a.out" 2>>"$TMP/a.err"
expect_match "$(cat "$TMP/a.out")" '^<5>[0-9T:+-]+ ALERT memwatch' "alert's ALERT line on the journal stream is <5>"
expect_match "$(cat "$TMP/a.err")" '^memwatch alert: watching memwatch' "stderr, not the journal stream: plain"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$TMP/a.err") "$MEMWATCH" alert memwatch --over 1 --every 0.1s \
    --stop-after 0.35s >"$TMP/b.out" 2>>"$TMP/a.err"
expect_match "$(cat "$TMP/a.err")" '^<6>memwatch alert: watching memwatch' "alert's start line is <6>"
# serve's reporter: information <6>, a failure <3>.
: >"$TMP/s.err"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$TMP/s.err") "$MEMWATCH" serve --textfile "$TMP/nodir/x.prom" --once \
    2>>"$TMP/s.err"
expect_eq "$?" 1 "serve --textfile into a missing directory fails"
expect_eq "$(cat "$TMP/s.err")" "<3>memwatch serve: cannot write $TMP/nodir/x.prom.tmp: $TMP/nodir/x.prom.tmp: No such file or directory" \
    "serve's failure is <3>"

mw_test_done
