#!/usr/bin/env bash
# PID reuse (issue 7 "Process churn and reuse"): in a new pid namespace with
# its own /proc (unshare --pid --fork --mount-proc, as root), memwatch runs
# tests/cli/pid_reuse.lua, which writes /proc/sys/kernel/ns_last_pid so a new
# process gets the pid of one that has just exited, and checks that the
# sampler's cached descriptor notices (new start time, lazily read fields of
# the old record are nil, no descriptor leaks) and that watch rules start
# afresh for the new process (no inherited sustain count, growth samples or
# alert; the old process's alert resolves as gone, attributed to it).
# memwatch reads /proc of its own pid namespace, so it runs inside it.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR. Exit 77: skipped.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
: "${MW_SOURCE_DIR:?MW_SOURCE_DIR must name the source tree}"

skip() {
    echo "SKIP: $*"
    exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root to create a pid namespace and write /proc/sys/kernel/ns_last_pid"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
[ -e /proc/sys/kernel/ns_last_pid ] ||
    skip "/proc/sys/kernel/ns_last_pid is missing (kernel without CONFIG_CHECKPOINT_RESTORE)"
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
    skip "unshare --pid --fork --mount-proc fails here (no permission for new namespaces?): $(unshare --pid --fork --mount-proc true 2>&1 | head -1)"
fi

# sh is the namespace's pid 1 (init: it reaps orphans, and memwatch is not
# given init's signal semantics); the trailing exit keeps sh from exec'ing.
timeout 60 unshare --pid --fork --mount-proc -- \
    sh -c '"$1" "$2"; rc=$?; exit $rc' sh "$MEMWATCH" "$MW_SOURCE_DIR/tests/cli/pid_reuse.lua"
rc=$?
[ "$rc" -eq 124 ] && echo "FAIL: timed out after 60 s" >&2
exit "$rc"
