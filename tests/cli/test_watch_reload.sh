#!/usr/bin/env bash
# A watch script under the memwatch executable (issue 4, runtime): SIGHUP
# re-reads the script (arg[0]) and keeps the state of unchanged rules;
# SIGTERM stops it cleanly, without inventing RESOLVED events.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"

. "$(dirname "$0")/lib.sh"
mw_test_init reload

# The rules watch this very process (pid = the script's own memwatch).
write_script() {
    cat >"$TMP/rules.lua" <<EOF
local me = require("memwatch.core").getpid()
local W = require "memwatch.watch"
local function say(e) io.stdout:write(e.rule, " ", e.kind, "\n") io.stdout:flush() end
W.watch { name = "steady", select = { pid = me }, above = 0, on_alert = say, on_resolve = say }
W.watch { name = "changing", select = { pid = me }, above = $1, on_alert = say, on_resolve = say }
W.run { every = 0.1 }
EOF
}
write_script 0
"$MEMWATCH" "$TMP/rules.lua" >"$TMP/out" 2>"$TMP/err" &
M=$!
PIDS+=("$M")
wait_for "$TMP/out" "^changing alert" 5 || fail "no first alerts: $(cat "$TMP/out" "$TMP/err")"
write_script 1
kill -HUP "$M"
wait_for "$TMP/err" "reloaded" 5
check "grep -q '^memwatch: reloaded $TMP/rules.lua: 1 rule kept, 1 new or changed, 0 removed$' '$TMP/err'" \
    "reload report: $(cat "$TMP/err")"
wait_for "$TMP/out" "changing alert" 5
sleep 0.3
check "[ \$(grep -c '^steady alert' '$TMP/out') -eq 1 ]" "the unchanged rule kept its state: $(cat "$TMP/out")"
check "[ \$(grep -c '^changing alert' '$TMP/out') -eq 2 ]" "the changed rule started afresh: $(cat "$TMP/out")"
echo "this is not lua" >"$TMP/rules.lua"
kill -HUP "$M"
wait_for "$TMP/err" "reload failed" 5
check "grep -q '^memwatch: reload failed, keeping the current rules: ' '$TMP/err'" "bad reload: $(cat "$TMP/err")"
kill -TERM "$M"
wait "$M"
rc=$?
check "[ $rc -eq 0 ]" "exit status after SIGTERM: $rc"
check "! grep -q resolve '$TMP/out'" "no resolve invented on SIGTERM: $(cat "$TMP/out")"
check "kill -0 $$" "still here"

mw_test_done
