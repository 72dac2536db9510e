#!/usr/bin/env bash
# memwatch alert --syslog (issue 12), on the wire: a test socket (a python
# AF_UNIX datagram receiver, tests/cli/notify_receiver.py) gets exactly one
# datagram per event, "<PRI>Mmm dd hh:mm:ss memwatch[PID]: ..." with
# daemon.warning (28) for the ALERT and daemon.notice (29) for the RESOLVED,
# combined with --exec; a socket nobody listens on is said once on stderr,
# not per event, and the alert still runs to its end; bad values.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR.
set -u
export LC_ALL=C TZ=UTC
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}" "${MW_SOURCE_DIR:?}"

. "$(dirname "$0")/lib.sh"
mw_test_init syslog

RECEIVER="$MW_SOURCE_DIR/tests/cli/notify_receiver.py"

# "2026-12-06T08:56:18+00:00" -> "Dec  6 08:56:18", as syslog(3) stamps.
stamp() { date -u -d "$1" '+%b %e %H:%M:%S'; }

if needs python3; then
    case_ "ALERT and RESOLVED datagrams, with --exec"
    python3 "$RECEIVER" "$TMP/log" "$TMP/got" "$TMP/bound" &
    PIDS+=("$!")
    wait_file "$TMP/bound" 10 || fail "the receiver did not bind $TMP/log"
    sleep 60 &
    SP=$!
    PIDS+=("$SP")
    "$MEMWATCH" alert --pid "$SP" --over 1K --every 0.2s --stop-after 20s --syslog-socket "$TMP/log" \
        --exec sh -c 'echo "$MEMWATCH_EVENT" >>"$0"' "$TMP/exec.log" >"$TMP/out" 2>"$TMP/err" &
    M=$!
    PIDS+=("$M")
    wait_for "$TMP/out" " ALERT " 10 || fail "no ALERT: $(cat "$TMP/err")"
    kill "$SP"
    wait_for "$TMP/out" " RESOLVED " 10 || fail "no RESOLVED: $(cat "$TMP/err")"
    wait_for "$TMP/got" "RESOLVED" 5 || fail "no RESOLVED datagram: $(cat "$TMP/got" "$TMP/err")"
    kill -INT "$M"
    wait "$M"
    alert=$(grep ' ALERT ' "$TMP/out")
    resolved=$(grep ' RESOLVED ' "$TMP/out")
    value=${alert##* }
    expect_eq "$(cut -d' ' -f2- "$TMP/got")" \
"<28>$(stamp "${alert%% *}") memwatch[$M]: ALERT rule 'pid=$SP' sleep[$SP] footprint $value (above 1K) 1 process
<29>$(stamp "${resolved%% *}") memwatch[$M]: RESOLVED rule 'pid=$SP' sleep[$SP] footprint 0B (above 1K) 0 processes (gone)" \
        "one datagram per event, exactly"
    wait_for "$TMP/exec.log" resolve 5
    expect_eq "$(cat "$TMP/exec.log")" "alert
resolve" "--exec ran for both events too"
    expect_eq "$(grep -c syslog "$TMP/err")" 0 "nothing said about syslog when it answers"
fi

case_ "no one listens: said once, watching goes on"
sleep 60 &
SP=$!
PIDS+=("$SP")
"$MEMWATCH" alert --pid "$SP" --over 1K --every 0.2s --stop-after 20s --syslog-socket "$TMP/nobody" \
    >"$TMP/out2" 2>"$TMP/err2" &
M=$!
PIDS+=("$M")
wait_for "$TMP/out2" " ALERT " 10 || fail "no ALERT: $(cat "$TMP/err2")"
kill "$SP"
wait_for "$TMP/out2" " RESOLVED " 10 || fail "no RESOLVED after the socket failed: $(cat "$TMP/err2")"
kill -TERM "$M"
wait "$M"
expect_eq "$?" 0 "exit status after SIGTERM"
expect_eq "$(grep syslog "$TMP/err2")" "memwatch: syslog: cannot send to $TMP/nobody (No such file or directory): events are not logged there until it answers; watching goes on" \
    "one line for two events"

case_ "bad values"
out=$("$MEMWATCH" alert --pid 1 --over 1K --syslog-socket dev/log 2>&1)
expect_eq "$?" 2 "exit status of a bad --syslog-socket"
expect_eq "$out" "memwatch alert: --syslog-socket: must be a socket path or an @abstract name, got \"dev/log\"
try 'memwatch alert --help'" "the error"
out=$("$MEMWATCH" alert --pid 1 --over 1K --syslog=x 2>&1)
expect_eq "$out" "memwatch alert: option '--syslog' takes no value
try 'memwatch alert --help'" "--syslog takes no value"
expect_contains "$("$MEMWATCH" alert --help)" "--syslog-socket PATH" "the usage names the options"

mw_test_done
