#!/usr/bin/env bash
# An app that dies is not "recovered" (issue 11): a child in a memory cgroup
# with a small limit grows past it under `memwatch alert` and is killed by
# the kernel's OOM killer; its RESOLVED line says "(gone: OOM-killed)" and
# --exec sees MEMWATCH_GONE=1 MEMWATCH_OOM_KILLED=1. A child that simply
# exits while over the threshold resolves "(gone)", without OOM-killed.
# Root only (a memory cgroup is made for the child): SKIPPED otherwise.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init oom

LUA=$(command -v lua5.4 || true)
CG=""
cleanup_cg() {
    [ -n "$CG" ] && [ -d "$CG" ] && rmdir "$CG" 2>/dev/null
    mw_test_cleanup
}
trap cleanup_cg EXIT

# A memory cgroup to put the child in: the v1 memory controller, or a
# cgroup2 hierarchy with the memory controller enabled.
make_cgroup() {
    local base
    if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
        base=/sys/fs/cgroup/memory
        CG=$base/memwatch-oom-test.$$
        mkdir "$CG" || return 1
        echo 48M >"$CG/memory.limit_in_bytes" || return 1
        # With swap, the limit alone would make the child swap, not die.
        [ -e "$CG/memory.memsw.limit_in_bytes" ] && echo 48M >"$CG/memory.memsw.limit_in_bytes" 2>/dev/null
        return 0
    fi
    for base in /sys/fs/cgroup/unified /sys/fs/cgroup; do
        if [ -e "$base/cgroup.controllers" ] && grep -qw memory "$base/cgroup.subtree_control" 2>/dev/null &&
            [ -w "$base" ]; then
            CG=$base/memwatch-oom-test.$$
            mkdir "$CG" || return 1
            echo 48M >"$CG/memory.max" || return 1
            echo 0 >"$CG/memory.swap.max" 2>/dev/null
            return 0
        fi
    done
    return 1
}

if [ -z "$LUA" ]; then
    not_run "needs lua5.4 for the growing child"
elif [ "$(id -u)" -ne 0 ]; then
    not_run "needs root: it makes a memory cgroup for the child the kernel kills"
elif ! make_cgroup; then
    not_run "no writable memory cgroup (v1 memory controller or cgroup2 with memory enabled)"
fi
if [ "${#NOT_RUN[@]}" -ne 0 ]; then
    mw_test_done
    exit $?
fi

# The child: a plain Lua interpreter under a name of its own. It holds 30M
# (over the alert's 20M, under the cgroup's 48M) until told to go on, then
# either grows past the cgroup's limit ("oom") or exits ("exit").
cat >"$TMP/child.lua" <<'EOF'
local dir, how = arg[1], arg[2]
-- 30M in 5M pieces: string.rep builds its result in a buffer and copies it,
-- so one 30M string would peak near 60M and meet the 48M limit too early.
local big = {}
for i = 1, 6 do big[i] = string.rep(string.char(64 + i), 5 * 1024 * 1024) end
local f = io.open(dir .. "/held", "w") f:close()
while not io.open(dir .. "/go") do os.execute("sleep 0.05") end
if how == "oom" then
    local more = {}
    for i = 1, 40 do more[i] = string.rep(string.char(64 + i % 26), 4 * 1024 * 1024) end
end
os.exit(#big > 0 and 0 or 1)
EOF

# run_case NAME HOW: alert on a child called NAME, let it fire, then go on.
run_case() {
    local name=$1 how=$2 alert
    rm -f "$TMP/held" "$TMP/go" "$TMP/out" "$TMP/err" "$TMP/exec.log"
    cp "$LUA" "$TMP/$name"
    "$MEMWATCH" alert "$name" --over 20M --every 0.2s \
        --exec sh -c 'echo "$MEMWATCH_EVENT gone=${MEMWATCH_GONE:-} oom=${MEMWATCH_OOM_KILLED:-}" >>"$0"' \
        "$TMP/exec.log" >"$TMP/out" 2>"$TMP/err" &
    alert=$!
    PIDS+=("$alert")
    sleep 0.3
    (
        if [ "$how" = oom ]; then echo "$BASHPID" >"$CG/cgroup.procs" || exit 1; fi
        cd "$TMP" && exec "./$name" child.lua "$TMP" "$how" >/dev/null 2>&1
    ) &
    PIDS+=("$!")
    if ! wait_for "$TMP/out" " ALERT " 10; then
        fail "no ALERT line: $(cat "$TMP/out" "$TMP/err")"
        return
    fi
    touch "$TMP/go"
    if ! wait_for "$TMP/out" " RESOLVED " 10; then
        fail "no RESOLVED line: $(cat "$TMP/out" "$TMP/err")"
    fi
    wait_for "$TMP/exec.log" "^resolve" 3
    kill -TERM "$alert" 2>/dev/null
    wait "$alert" 2>/dev/null
}

case_ "oom-killed"
oom_before=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
name=mwoomk$$
run_case "$name" oom
oom_after=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
check "[ '${oom_after:-0}' -gt '${oom_before:-0}' ]" "the kernel counted no OOM kill (oom_kill $oom_before -> $oom_after): the child was not killed"
expect_match "$(cat "$TMP/out")" "^[0-9T:+-]+ RESOLVED $name\\[[0-9]+\\] 0 processes 0B \\(gone: OOM-killed\\)\$" \
    "the RESOLVED line of a killed child"
expect_contains "$(cat "$TMP/exec.log" 2>/dev/null)" "resolve gone=1 oom=1" "--exec's environment"
expect_contains "$(cat "$TMP/exec.log" 2>/dev/null)" "alert gone= oom=" "an alert is neither gone nor killed"

case_ "exited"
name=mwoomx$$
run_case "$name" exit
expect_match "$(cat "$TMP/out")" "^[0-9T:+-]+ RESOLVED $name\\[[0-9]+\\] 0 processes 0B \\(gone\\)\$" \
    "the RESOLVED line of a child that exited"
expect_not_contains "$(cat "$TMP/out")" "OOM" "a child that exited was not OOM-killed"
expect_contains "$(cat "$TMP/exec.log" 2>/dev/null)" "resolve gone=1 oom=" "--exec's environment"
expect_not_contains "$(cat "$TMP/exec.log" 2>/dev/null)" "oom=1" "--exec's environment: no OOM kill"

mw_test_done
