#!/usr/bin/env bash
# CLI tests of memwatch footprint (issue 15): the exact breakdown of a fixture
# process (tests/fixtures/linux/basic/100/smaps is real smaps text), every
# bad argument's exact error, and live children: a breakdown whose total is
# the record's footprint, a named memfd that --diff names as the top growth,
# and a NAME with several processes (--limit, --sum).
# Environment (from ctest): MEMWATCH, MW_FIXTURES.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init footprint

mw() {
    "$MEMWATCH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}
expect_rc() { # expected [what]
    if [ "$RC" -eq "$1" ]; then pass; else fail "${2:-exit code}: expected $1, got $RC; stderr: $(head -c 400 "$TMP/err")"; fi
}

if [ "$(uname -s)" != Linux ]; then
    not_run "memwatch footprint reads /proc/PID/smaps: Linux only for now"
    mw_test_done
    exit $?
fi

BASIC=$MW_FIXTURES/linux/basic
FIXTURE_USER=$(getent passwd 1000 | cut -d: -f1)
[ -n "$FIXTURE_USER" ] || FIXTURE_USER=1000

case_ "fixture breakdown"
MEMWATCH_ROOT=$BASIC mw footprint 100
expect_rc 0
expect_eq "$OUT" "footprint of 100 (firefox), user $FIXTURE_USER
CATEGORY        FOOTPRINT  CLEAN  SWAPPED  REGIONS
shared memory        704K     0B       0B        3
page tables          700K      -        -        -
data (written)        48K     0B       0B        6
stack                 40K     0B       0B        2
anonymous             24K     0B       0B        2
code                   0B   780K       0B        3
data                   0B   268K       0B        6
other                  0B     4K       0B        4
total                1.5M   1.0M       0B       26
the record's footprint is 96.4M (+94.9M): the process changed between the two reads" "breakdown of the fixture"

case_ "fixture csv"
MEMWATCH_ROOT=$BASIC mw footprint 100 --format=csv
expect_rc 0
expect_eq "$(tr -d '\r' <"$TMP/out")" "pid,name,category,footprint,clean,swap,regions
100,firefox,shared memory,720896,0,0,3
100,firefox,page tables,716800,0,0,0
100,firefox,data (written),49152,0,0,6
100,firefox,stack,40960,0,0,2
100,firefox,anonymous,24576,0,0,2
100,firefox,code,0,798720,0,3
100,firefox,data,0,274432,0,6
100,firefox,other,0,4096,0,4" "csv of the fixture"

case_ "fixture regions"
MEMWATCH_ROOT=$BASIC mw footprint 100 --regions
expect_rc 0
expect_eq "$(printf '%s\n' "$OUT" | sed -n 2,3p)" "ADDRESS           SIZE  RESIDENT  FOOTPRINT  SWAPPED  PERMS  CATEGORY        MAPPING
000055db8ed5a000    4K        4K         0B       0B  r--p   data            /tmp/rg/cap" "region table head"
expect_match "$OUT" '^00007f77aa2db000 +1\.0M +512K +512K +0B +rw-s +shared memory +/memfd:cache$' "the memfd row"
expect_match "$OUT" '^00007f77aa25b000 +256K +128K +128K +0B +rw-s +shared memory +/dev/zero$' "shared anonymous"
expect_match "$OUT" '^00007ffcb4102000 +1\.0M +32K +32K +0B +rw-p +stack +\[stack\]$' "the stack"
# task/101/syscall's stack pointer is in the unnamed mapping at 7f77aa3db000;
# task/102 is running (no stack pointer) and task/100 is the main thread.
expect_match "$OUT" '^00007f77aa3db000 +12K +8K +8K +0B +rw-p +stack +\[stack:101\]$' "a thread's stack"
expect_eq "$(printf '%s\n' "$OUT" | grep -Ec '^[0-9a-f]{16} ')" 26 "one line per region"

case_ "fixture json"
MEMWATCH_ROOT=$BASIC mw footprint 100 --format=json --regions
expect_rc 0
if needs python3; then
    expect_eq "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))[0]
print(d["pid"], d["total"], d["record_footprint"], d["categories"][0]["name"], len(d["regions"]),
      [r["path"] for r in d["regions"] if r["shmem"]])' "$TMP/out")" \
        "100 1552384 101068800 shared memory 26 ['/dev/zero', '/dev/shm/mwtest-seg', '/memfd:cache']" "json fields"
fi

case_ "kernel thread"
MEMWATCH_ROOT=$BASIC mw footprint 2
expect_rc 0
expect_eq "$OUT" "footprint of 2 (kthreadd), user root
CATEGORY  FOOTPRINT  CLEAN  SWAPPED  REGIONS
total            0B     0B       0B        0
a kernel thread: no user-space memory" "an empty breakdown"

case_ "bad arguments"
mw footprint
expect_rc 2 "footprint without arguments"
expect_eq "$ERR" "memwatch footprint: expected one PID or NAME
try 'memwatch footprint --help'" "error of footprint without arguments"
declare -A WANT=(
    ["1 2"]="expected one PID or NAME"
    ["--limit 0 1"]="--limit must be a positive integer, got '0'"
    ["--limit x 1"]="--limit must be a positive integer, got 'x'"
    ["--diff x 1"]="--diff: invalid duration 'x': expected a number with an optional unit ms, s, m or h (a bare number is seconds)"
    ["--diff 0 1"]="--diff must be greater than 0"
    ["--sum --regions 1"]="--sum and --regions cannot be used together"
    ["--sum --diff 1s 1"]="--sum and --diff cannot be used together"
    ["--format=xml 1"]="invalid value 'xml' for '--format' (expected json, csv)"
    ["--bogus 1"]="unknown option '--bogus'"
)
for args in "${!WANT[@]}"; do
    # shellcheck disable=SC2086
    mw footprint $args
    expect_rc 2 "footprint $args"
    expect_eq "$ERR" "memwatch footprint: ${WANT[$args]}
try 'memwatch footprint --help'" "error of footprint $args"
done

case_ "missing process"
mw footprint 999999999
expect_rc 1
expect_eq "$ERR" "memwatch footprint: pid 999999999: No such process" "no such pid"
mw footprint mw-no-such-name-$$
expect_rc 1
expect_eq "$ERR" "memwatch footprint: no process matches name 'mw-no-such-name-$$'" "no such name, as ps says it"

if ! needs python3; then
    mw_test_done
    exit $?
fi

# A child that maps a 64 MiB memfd called "grow", writes 1 MiB of it at once
# and, after GO appears, 2 MiB more every 0.1 s: a growth that one mapping holds.
cat >"$TMP/grow.py" <<'PY'
import mmap, os, sys, time
fd = os.memfd_create("grow")
os.ftruncate(fd, 64 << 20)
m = mmap.mmap(fd, 64 << 20, mmap.MAP_SHARED)
m[0:1 << 20] = b"x" * (1 << 20)
used = 1 << 20
print("ready", flush=True)
while True:
    if os.path.exists(sys.argv[1]) and used < (60 << 20):
        m[used:used + (2 << 20)] = b"y" * (2 << 20)
        used += 2 << 20
    time.sleep(0.1)
PY
python3 "$TMP/grow.py" "$TMP/GO" >"$TMP/grow.out" 2>&1 &
GROW=$!
PIDS+=("$GROW")
wait_for "$TMP/grow.out" ready 10 || fail "the grower did not start: $(cat "$TMP/grow.out")"

case_ "live breakdown"
mw footprint "$GROW"
expect_rc 0
expect_match "$OUT" '^total = the record.s footprint' "the total is the record's footprint"
expect_match "$OUT" '^shared memory +1\.0M +0B +0B +1$' "the memfd's written MiB is shared memory"
expect_match "$OUT" '^heap ' "a heap line"
expect_match "$OUT" '^page tables ' "a page-table line"

case_ "live diff"
touch "$TMP/GO"
mw footprint "$GROW" --diff 1s
expect_rc 0
expect_match "$(printf '%s\n' "$OUT" | sed -n 3p)" '^shared memory +\+[0-9.]+M ' "shared memory grew most"
expect_match "$(printf '%s\n' "$OUT" | grep -A1 '^REGION' | tail -1)" '^[0-9a-f]+ /memfd:grow +\+[0-9.]+M .* grown$' \
    "the memfd is the top growth"
mw footprint "$GROW" --diff 0.3s --format=json
expect_eq "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))[0]
print(d["regions"][0]["name"], d["regions"][0]["status"], d["regions"][0]["change"] > 0)' "$TMP/out")" \
    "/memfd:grow grown True" "json diff names the memfd"

case_ "a name that comes close"
cp "$(command -v sleep)" "$TMP/mwfpclose"
"$TMP/mwfpclose" 30 &
CLOSE=$!
PIDS+=("$CLOSE")
for _ in $(seq 100); do grep -q mwfpclose "/proc/$CLOSE/comm" 2>/dev/null && break; sleep 0.02; done
mw footprint mwfpclosr
expect_rc 1
expect_eq "$ERR" "memwatch footprint: no process matches name 'mwfpclosr' (closest: mwfpclose[$CLOSE])" \
    "the message and the closest name, as ps gives them"
kill "$CLOSE"

case_ "several processes"
NAME=mwfp$$
cp "$(command -v sleep)" "$TMP/$NAME"
"$TMP/$NAME" 60 &
PIDS+=("$!")
"$TMP/$NAME" 60 &
PIDS+=("$!")
sleep 0.3
mw footprint "$NAME"
expect_rc 0
expect_eq "$(printf '%s\n' "$OUT" | grep -c "^footprint of [0-9]* ($NAME)")" 2 "one breakdown each"
mw footprint "$NAME" --limit 1
expect_eq "$(printf '%s\n' "$OUT" | grep -c "^footprint of [0-9]* ($NAME)")" 1 "--limit 1"
mw footprint "$NAME" --sum
expect_rc 0
expect_eq "$(first=$(printf '%s\n' "$OUT" | head -1); echo "$first")" "footprint of 2 processes named $NAME" "--sum heading"
expect_match "$OUT" '^total = the record.s footprint' "the sum agrees with the records' footprints"

mw_test_done
