#!/usr/bin/env bash
# The example watch scripts (scripts/examples/*.lua, issue 4), each run by
# the memwatch executable against a short-lived target and stopped with
# SIGTERM: what they print, and a clean exit.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
: "${MW_SOURCE_DIR:?MW_SOURCE_DIR must name the source tree}"
LUA=$(command -v lua5.4 || true)
if [ -z "$LUA" ]; then
    echo "SKIP: lua5.4 is needed for the target processes"
    exit 77
fi
EX="$MW_SOURCE_DIR/scripts/examples"

. "$(dirname "$0")/lib.sh"
mw_test_init examples

if ! "$MEMWATCH" -e 'assert(memwatch.watch and memwatch.run and memwatch.actions)' 2>/dev/null; then
    echo "FAIL: memwatch.watch / memwatch.run / memwatch.actions are missing from the memwatch module" \
        "(scripts/memwatch/watch/INIT_PATCH.txt is not applied to scripts/memwatch/init.lua)" >&2
    exit 1
fi

# Targets: plain Lua interpreters under their own names. mwbig holds 100M;
# mwleak grows by 2M every 0.1 s up to 300M.
cp "$LUA" "$TMP/mwbig"
cp "$LUA" "$TMP/mwleak"
cat >"$TMP/big.lua" <<'EOF'
local big = string.rep("x", 100 * 1024 * 1024)
local f = io.open(arg[1] .. "/big-ready", "w") f:close()
os.execute("sleep 20")
EOF
cat >"$TMP/leak.lua" <<'EOF'
local t = {}
for i = 1, 150 do
    t[i] = string.rep(string.char(65 + i % 26), 2 * 1024 * 1024)
    os.execute("sleep 0.1")
end
os.execute("sleep 20")
EOF
(cd "$TMP" && exec ./mwbig big.lua "$TMP" >/dev/null 2>&1) &
PIDS+=("$!")
BIG=$!
wait_file "$TMP/big-ready" 10 || fail "the 100M target did not start"

# run_example NAME PATTERN SECONDS SCRIPT ARGS...: runs the script until
# PATTERN shows on its stderr, then stops it with SIGTERM.
run_example() {
    local name=$1 pattern=$2 secs=$3
    shift 3
    PATH="$TMP/empty-path:$TMP/bin" "$MEMWATCH" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    if wait_for "$TMP/$name.err" "$pattern" "$secs"; then
        ok
    else
        fail "$name: no line matching '$pattern' on stderr: $(cat "$TMP/$name.err")"
    fi
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    local rc=$?
    check "[ $rc -eq 0 ]" "$name: exit status $rc after SIGTERM: $(cat "$TMP/$name.err")"
}
mkdir -p "$TMP/empty-path"
# The examples' PATH: the few commands a shell action may need, and no
# notify-send, so the missing-notifier warning is tested whether or not the
# machine has one.
mkdir -p "$TMP/bin"
for b in sh bash env sleep cat kill true false; do
    f=$(type -P "$b") && ln -s "$f" "$TMP/bin/$b"
done

# 1. A named app over a footprint, with a notification (notify-send is
#    not in PATH here: one clear warning, and the log line still comes).
run_example app_over_size " ALERT mwbig\[$BIG\] [0-9]* process.* 10[0-9]\.[0-9]M rule 'mwbig over 50.0M' (footprint above 50.0M)" 10 \
    "$EX/app_over_size.lua" mwbig 50M 0s
check "[ \$(grep -c 'notify-send was not found in PATH' '$TMP/app_over_size.err') -eq 1 ]" \
    "app_over_size: the missing notify-send is reported once: $(cat "$TMP/app_over_size.err")"

# 2. A leak detector with its time to the limit.
(cd "$TMP" && exec ./mwleak leak.lua >/dev/null 2>&1) &
PIDS+=("$!")
run_example leak_detector "^mwleak leak: mwleak\[[0-9]*\] grows [0-9.]*[MG]/s (r2 [01]\.[0-9][0-9]); 1\.0G reached in [0-9]*[sm]" 15 \
    "$EX/leak_detector.lua" mwleak 2s 5M/s 1G 0.2s

# 3. A per-app footprint log, to a file.
"$MEMWATCH" "$EX/app_footprint_log.lua" 50M 0.2s "$TMP/apps.log" 2>"$TMP/apps.err" &
LOGGER=$!
PIDS+=("$LOGGER")
wait_for "$TMP/apps.log" "ALERT mwbig\[$BIG\]" 5
sleep 0.5
kill -TERM "$LOGGER"
wait "$LOGGER"
rc=$?
check "[ $rc -eq 0 ]" "app_footprint_log: exit status $rc: $(cat "$TMP/apps.err")"
n=$(grep -c " ALERT mwbig\[$BIG\] [0-9]* process.* 10[0-9]\.[0-9]M rule 'app footprint' (footprint above 50.0M)$" "$TMP/apps.log")
check "[ $n -ge 2 ]" "app_footprint_log: a line for the 100M app at every interval: $(cat "$TMP/apps.log")"

# 4. A runaway helper, signalled in dry-run mode only.
run_example runaway_helper "signal (dry run): would send SIGTERM to pid $BIG (mwbig), then SIGKILL after 5s if it is still running" 10 \
    "$EX/runaway_helper.lua" mwbig 50M 0.3s
check "kill -0 $BIG" "runaway_helper: the dry run must not signal the target"

mw_test_done
