#!/usr/bin/env bash
# The firing state across restarts (issue 12, --state FILE): a restart with
# the state file neither fires again what still fires (no second ALERT line)
# nor forgets what ended while memwatch was down (a RESOLVED line saying
# so), for `memwatch alert --state` and for a watch script run as
# `memwatch SCRIPT --state FILE` and `memwatch --state FILE SCRIPT`; the
# file is JSON, replaced whole; a corrupt file is said (named, kept aside)
# and watching starts fresh; an unwritable one is an error at start.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"

. "$(dirname "$0")/lib.sh"
mw_test_init state

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}'

# alert_run PID OUT: one short `memwatch alert` over PID with the state file.
alert_run() {
    "$MEMWATCH" alert --pid "$1" --over 1K --every 0.2s --stop-after 1s --state "$TMP/alert.state" \
        >"$2" 2>"$2.err"
}

# ---------------------------------------------------------------------------
case_ "alert: fires once across a restart, resolves what ended while down"
sleep 60 &
SP=$!
PIDS+=("$SP")
alert_run "$SP" "$TMP/a1"
expect_eq "$?" 0 "first run"
expect_match "$(cat "$TMP/a1")" "^$ISO ALERT sleep\[$SP\] 1 process [0-9.]+[KM]$" "the first run fires"
state1=$(cat "$TMP/alert.state")
expect_match "$state1" "^\{\"memwatch_state\": 1, \"firing\": \[\{\"id\":\"tree:$SP@[0-9.]+\",\"key\":\"sleep\[$SP\]\",\"rule\":\"pid=$SP\",\"since\":[0-9.]+,\"value\":[0-9]+\}\]\}$" \
    "the state file names the firing group"
alert_run "$SP" "$TMP/a2"
expect_eq "$(cat "$TMP/a2")" "" "a restart does not print ALERT again for what still fires"
since1=$(grep -o '"since":[0-9.]*' <<<"$state1")
expect_contains "$(cat "$TMP/alert.state")" "$since1" "the original since is kept"
kill "$SP"
wait "$SP" 2>/dev/null
alert_run "$SP" "$TMP/a3"
expect_match "$(cat "$TMP/a3")" "^$ISO RESOLVED sleep\[$SP\] 0 processes 0B \(gone while memwatch was down\)$" \
    "what ended while memwatch was down resolves, saying so"
expect_eq "$(grep -c . "$TMP/a3")" 1 "one line"
expect_eq "$(cat "$TMP/alert.state")" '{"memwatch_state": 1, "firing": []}' "nothing fires any more"
alert_run "$SP" "$TMP/a4"
expect_eq "$(cat "$TMP/a4")" "" "and it is not resolved twice"
expect_eq "$(ls "$TMP" | grep -c '\.tmp\.')" 0 "no temporary file left behind"

# ---------------------------------------------------------------------------
case_ "a watch script: memwatch SCRIPT --state FILE, and --state before it"
# The value is read from a file, so the test decides when the group is over.
cat >"$TMP/rules.lua" <<'LUA'
local pid, level = tonumber(arg[1]), arg[2]
memwatch.watch { name = "level", select = { pid = pid }, group = "user", above = 50, every = "0.2s",
    metric = function()
        local f = io.open(level)
        local v = f and tonumber(f:read("l"))
        if f then f:close() end
        return v
    end,
    on_alert = function(ev) print("ALERT " .. ev.value .. " since " .. ev.since) end,
    on_resolve = function(ev) print("RESOLVED " .. ev.value .. " " .. tostring(ev.while_down) .. " " .. tostring(ev)) end }
print("args: " .. table.concat(arg, " ", 1, #arg))
memwatch.run("1s")
LUA
sleep 60 &
SP=$!
PIDS+=("$SP")
echo 100 >"$TMP/level"
"$MEMWATCH" "$TMP/rules.lua" --state "$TMP/script.state" "$SP" "$TMP/level" >"$TMP/s1" 2>"$TMP/s1.err"
expect_eq "$(sed -n 1p "$TMP/s1")" "args: $SP $TMP/level" "--state FILE is not among the script's arguments"
expect_match "$(cat "$TMP/s1")" "^ALERT 100 since [0-9.]+$" "fires"
since=$(grep -o 'since [0-9.]*' "$TMP/s1")
"$MEMWATCH" --state "$TMP/script.state" "$TMP/rules.lua" "$SP" "$TMP/level" >"$TMP/s2" 2>"$TMP/s2.err"
expect_eq "$(cat "$TMP/s2")" "args: $SP $TMP/level" "no second ALERT (--state before the script)"
echo 10 >"$TMP/level"
"$MEMWATCH" "$TMP/rules.lua" --state="$TMP/script.state" "$SP" "$TMP/level" >"$TMP/s3" 2>"$TMP/s3.err"
expect_eq "$(sed -n 2p "$TMP/s3")" "RESOLVED 10 true RESOLVED rule 'level' $(id -un) metric 10B (above 50B) 1 process (ended while memwatch was down)" \
    "a group still there but no longer over resolves, saying it ended while memwatch was down"
expect_eq "$(grep -c . "$TMP/s3")" 2 "one event"
echo 100 >"$TMP/level"
"$MEMWATCH" "$TMP/rules.lua" --state "$TMP/script.state" "$SP" "$TMP/level" >"$TMP/s4" 2>"$TMP/s4.err"
expect_match "$(cat "$TMP/s4")" "^ALERT 100 since [0-9.]+$" "over again: a new alert"
expect_not_contains "$(cat "$TMP/s4")" "$since" "with a new since"
expect_eq "$(cat "$TMP/s1.err" "$TMP/s2.err" "$TMP/s3.err" "$TMP/s4.err")" "" "nothing on stderr"

# ---------------------------------------------------------------------------
case_ "a corrupt state file: said, kept aside, fresh start"
echo '{"memwatch_state": 1, "firing": [' >"$TMP/alert.state"
alert_run "$SP" "$TMP/c1"
expect_eq "$(cat "$TMP/c1.err" | grep state)" "memwatch: state file $TMP/alert.state: it is not JSON: json: ']' expected near end of file at line 2, column 0; starting with nothing firing (the file is kept as $TMP/alert.state.corrupt)" \
    "the warning names the file and where it went"
expect_match "$(cat "$TMP/c1")" "^$ISO ALERT sleep\[$SP\] 1 process" "fires afresh"
expect_eq "$(cat "$TMP/alert.state.corrupt")" '{"memwatch_state": 1, "firing": [' "the old file is kept"
echo '{"memwatch_state": 7, "firing": []}' >"$TMP/alert.state"
alert_run "$SP" "$TMP/c2"
expect_eq "$(grep state "$TMP/c2.err")" "memwatch: state file $TMP/alert.state: it is not a memwatch state file: version 7, this memwatch reads version 1; starting with nothing firing (the file is kept as $TMP/alert.state.corrupt)" \
    "another version"
echo '{"memwatch_state": 1, "firing": [{"rule": "x"}]}' >"$TMP/alert.state"
alert_run "$SP" "$TMP/c3"
expect_eq "$(grep state "$TMP/c3.err")" "memwatch: state file $TMP/alert.state: it is not a memwatch state file: entry 1 is not {rule, id, key, since, value}; starting with nothing firing (the file is kept as $TMP/alert.state.corrupt)" \
    "a bad entry"

# ---------------------------------------------------------------------------
case_ "rules no longer defined"
printf '{"memwatch_state": 1, "firing": [{"rule": "old", "id": "a", "key": "k", "since": 1, "value": 2}, {"rule": "old", "id": "b", "key": "k2", "since": 1, "value": 2}]}\n' >"$TMP/alert.state"
alert_run "$SP" "$TMP/o1"
expect_eq "$(grep state "$TMP/o1.err")" "memwatch: state file $TMP/alert.state: rule 'old' is not defined any more: 2 firing groups forgotten (no RESOLVED)" \
    "said, not silently dropped"
expect_not_contains "$(cat "$TMP/alert.state")" '"old"' "and dropped from the file"

# ---------------------------------------------------------------------------
case_ "an unwritable state file: an error at start"
out=$("$MEMWATCH" alert --pid "$SP" --over 1K --stop-after 1s --state "$TMP/no/such/dir/s" 2>&1)
expect_eq "$?" 1 "exit status"
expect_eq "$out" "memwatch alert: state file $TMP/no/such/dir/s: cannot write it (No such file or directory)" "alert"
out=$("$MEMWATCH" "$TMP/rules.lua" --state "$TMP/no/such/dir/s" "$SP" "$TMP/level" 2>&1)
expect_eq "$?" 1 "exit status of the script"
expect_contains "$out" "$TMP/rules.lua:12: memwatch.run: state file $TMP/no/such/dir/s: cannot write it (No such file or directory)" \
    "the script's memwatch.run() line"
out=$("$MEMWATCH" "$TMP/rules.lua" --state 2>&1)
expect_eq "$?" 2 "--state without a file"
expect_eq "$out" "memwatch: '--state' needs a file name
try 'memwatch --help'" "its message"
out=$("$MEMWATCH" alert --pid 1 --over 1K --state= 2>&1)
expect_eq "$out" "memwatch alert: --state needs a file name
try 'memwatch alert --help'" "alert --state="

mw_test_done
