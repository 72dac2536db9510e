#!/usr/bin/env bash
# memwatch footprint --diff on a mapping the program named with
# PR_SET_VMA_ANON_NAME (issue 15): the [anon:NAME] region is the top growth.
# SKIPPED where the kernel lacks CONFIG_ANON_VMA_NAME.
# Environment (from ctest): MEMWATCH.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init footprint_named

mw() {
    "$MEMWATCH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out")
}

if [ "$(uname -s)" != Linux ] || ! needs python3; then
    [ "$(uname -s)" = Linux ] || not_run "memwatch footprint reads /proc/PID/smaps: Linux only for now"
    mw_test_done
    exit $?
fi

case_ "named anonymous memory"
# PR_SET_VMA_ANON_NAME (Linux 5.17, CONFIG_ANON_VMA_NAME) names a private
# anonymous mapping [anon:NAME]; a kernel without it refuses with EINVAL.
cat >"$TMP/named.py" <<'PY'
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
size = 64 << 20
m = mmap.mmap(-1, size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
PR_SET_VMA, PR_SET_VMA_ANON_NAME = 0x53564D41, 0
if libc.prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ctypes.c_ulong(addr), ctypes.c_ulong(size),
              ctypes.c_char_p(b"mw_pool")) != 0:
    print("unnamed", os.strerror(ctypes.get_errno()), flush=True)
    sys.exit(0)
print("ready", flush=True)
used = 0
while True:
    if os.path.exists(sys.argv[1]) and used < (60 << 20):
        m[used:used + (2 << 20)] = b"z" * (2 << 20)
        used += 2 << 20
    time.sleep(0.1)
PY
touch "$TMP/GO"
python3 "$TMP/named.py" "$TMP/GO" >"$TMP/named.out" 2>&1 &
NAMED=$!
PIDS+=("$NAMED")
wait_for "$TMP/named.out" "ready\|unnamed" 10
check 'grep -q "ready\|unnamed" "$TMP/named.out"' "the child started and tried to name its mapping"
if grep -q ready "$TMP/named.out"; then
    mw footprint "$NAMED" --diff 1s
    expect_eq "$RC" 0 "exit code"
    expect_match "$(printf '%s\n' "$OUT" | grep -A1 '^REGION' | tail -1)" \
        '^[0-9a-f]+ \[anon:mw_pool\] +\+[0-9.]+M .* grown$' "the named mapping is the top growth"
else
    not_run "PR_SET_VMA_ANON_NAME: $(cat "$TMP/named.out") (this kernel lacks CONFIG_ANON_VMA_NAME)"
fi

mw_test_done
