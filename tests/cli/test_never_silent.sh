#!/usr/bin/env bash
# Never silent (issue 11): every failing callback is reported, each with its
# own message; a program missing from PATH is said when the action is made
# (actions.exec) or when `memwatch alert --exec` starts; `memwatch ledger`
# names the process and the groups it was not allowed to read.
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

mw_test_done
