#!/usr/bin/env bash
# Never silent (issue 11): every failing callback is reported, each with its
# own message; a program missing from PATH is said when the action is made
# (actions.exec) or when `memwatch alert --exec` starts; `memwatch ledger`
# names the process and the groups it was not allowed to read; serve and
# record say when their selection matches nothing, and again when its last
# process goes.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init never-silent

# --- callback errors: one per callback and message -----------------------------------
case_ "callback errors"
: >"$TMP/notexec" # there, but not executable: spawning it fails when the alert fires
cat >"$TMP/two.lua" <<EOF
memwatch.watch { name = "self", select = { pid = memwatch.self().pid }, above = 1, every = "0.1s",
    on_alert = {
        memwatch.actions.exec { "$TMP/notexec" },
        function() error("my bug") end,
    } }
memwatch.run(0.35)
EOF
err=$("$MEMWATCH" "$TMP/two.lua" 2>&1 >/dev/null)
rc=$?
expect_eq "$rc" 0 "exit status"
expect_eq "$err" "memwatch: rule 'self': on_alert: exec: $TMP/notexec: Permission denied
memwatch: rule 'self': on_alert: $TMP/two.lua:4: my bug" "stderr: both callbacks' errors"

# --- a program not in PATH ---------------------------------------------------------------
case_ "exec not in PATH"
cat >"$TMP/missing.lua" <<'EOF'
memwatch.watch { name = "x", above = "1G",
    on_alert = memwatch.actions.exec { "memwatch-no-such-program" } }
memwatch.run(1)
EOF
err=$(PATH=/usr/bin:/bin "$MEMWATCH" "$TMP/missing.lua" 2>&1)
rc=$?
expect_eq "$rc" 1 "exit status of the script"
expect_eq "$(printf '%s\n' "$err" | head -1)" \
    "$TMP/missing.lua:2: memwatch.actions.exec: 'memwatch-no-such-program' not found in PATH (/usr/bin:/bin)" \
    "the script's error names its line and the PATH searched"
err=$(PATH=/usr/bin:/bin "$MEMWATCH" alert mwnothing --over 1M --exec memwatch-no-such-program --flag 2>&1)
rc=$?
expect_eq "$rc" 2 "memwatch alert --exec: exit status"
expect_eq "$err" "memwatch alert: --exec: 'memwatch-no-such-program' not found in PATH (/usr/bin:/bin)" \
    "memwatch alert --exec: one line naming the PATH searched"
err=$("$MEMWATCH" alert mwnothing --over 1M --exec /nonexistent/tool 2>&1)
rc=$?
expect_eq "$rc" 2 "memwatch alert --exec PATH: exit status"
expect_eq "$err" "memwatch alert: --exec: '/nonexistent/tool' not found" "memwatch alert --exec with a path"

# --- ledger: the process named, the refused sources said --------------------------------
case_ "ledger as another user"
sleep 30 &
SLEEPER=$!
PIDS+=("$SLEEPER")
out=$("$MEMWATCH" ledger "$SLEEPER" 2>&1)
expect_eq "$(printf '%s\n' "$out" | head -1)" "ledger of $SLEEPER (sleep), user $(id -un)" "the line naming the process"
expect_not_contains "$out" "not allowed" "nothing refused to the process's own user"
if [ "$(id -u)" -ne 0 ]; then
    not_run "needs root, to read a root process as nobody"
elif needs setpriv; then
    # What the owner reads and nobody may not: smaps_rollup, io (where the
    # kernel keeps it), the descriptor directory.
    want="smaps_rollup (physmem rows)"
    [ -r "/proc/$SLEEPER/io" ] && want="$want, io (res rows)"
    want="$want, fd (gpu rows)"
    as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
    mine=$(printf '%s\n' "$out" | tail -n +2 | wc -l)
    theirs=$(as_nobody "$MEMWATCH" ledger "$SLEEPER" 2>&1)
    rc=$?
    expect_eq "$rc" 0 "exit status as nobody"
    expect_eq "$(printf '%s\n' "$theirs" | head -1)" "ledger of $SLEEPER (sleep), user $(id -un)" \
        "the line naming the process, as nobody"
    expect_eq "$(printf '%s\n' "$theirs" | tail -1)" "not allowed to read: $want" "the last line names what was refused"
    rows=$(printf '%s\n' "$theirs" | grep -c '^ *[a-z]\+ [^ ]\+ \+-\?[0-9]\+ ')
    check "[ $rows -lt $mine ]" "fewer rows as nobody ($rows) than as the owner ($mine)"
    cat >"$TMP/refused.lua" <<'EOF'
local rows, refused = memwatch.ledger(tonumber(arg[1]))
local out = {}
for i, r in ipairs(refused) do out[i] = r.group .. ":" .. r.source end
print(#rows > 0, table.concat(out, " "))
local _, none = memwatch.ledger(memwatch.self().pid)
print(#none)
EOF
    chmod o+x "$TMP" && chmod o+r "$TMP/refused.lua" # for nobody to run it
    want_lua="physmem:smaps_rollup"
    [ -r "/proc/$SLEEPER/io" ] && want_lua="$want_lua res:io"
    expect_eq "$(as_nobody "$MEMWATCH" "$TMP/refused.lua" "$SLEEPER" 2>&1)" "true	$want_lua gpu:fd
0" "memwatch.ledger(pid): its second value"
fi

# --- serve and record: a selection that matches nothing -------------------------------
case_ "serve and record with nothing selected"
ERR=$("$MEMWATCH" serve --once --textfile "$TMP/none.prom" --name "mw-no-such-app-$$" 2>&1 >/dev/null)
expect_eq "$?:$ERR" "0:memwatch serve: no process matches name 'mw-no-such-app-$$' yet; serving" \
    "serve --once: said on stderr, the scrape still written"
expect_eq "$(grep -c '^memwatch_scrape_processes 0$' "$TMP/none.prom")" "1" "an empty scrape"
# A near name is offered, as ps offers it.
cp "$(command -v sleep)" "$TMP/mwnsrecrd"
"$TMP/mwnsrecrd" 300 &
NEAR=$!
ERR=$("$MEMWATCH" record "$TMP/none.jsonl" --name mwnsrecrx --every 0.1s --count 2 2>&1 >/dev/null)
expect_eq "$(sed -n 2p <<<"$ERR")" "memwatch record: no process matches name 'mwnsrecrx' yet; recording (closest: mwnsrecrd[$NEAR])" \
    "record: said once, with what comes close"
expect_eq "$(grep -c 'no process matches' <<<"$ERR")" "1" "said once, not at every sample"
# The last process of a selection going away is said too.
"$MEMWATCH" record "$TMP/gone.jsonl" --pid "$NEAR" --every 0.1s --count 30 2>"$TMP/gone.err" >/dev/null &
REC=$!
for _ in $(seq 100); do [ -s "$TMP/gone.jsonl" ] && [ "$(wc -l <"$TMP/gone.jsonl")" -ge 3 ] && break; sleep 0.1; done
kill "$NEAR"
wait "$NEAR" 2>/dev/null
wait "$REC"
expect_eq "$(grep 'no process matches' "$TMP/gone.err")" "memwatch record: no process matches pid '$NEAR' any more; recording" \
    "record: the last process going is said"

mw_test_done
