#!/usr/bin/env bash
# Names as users know them (issue 11), end to end: a program whose file name
# is 23 characters long (Linux keeps 15 of them as comm) is reached by that
# name through every selection path in a real run: ps, processes{name=},
# a rule's select, alert (it must ALERT), serve --name (the label has the
# full name) and record --name (the row has name and comm). Then --exe,
# --pidfile, --unit and --container (the last two in a cgroup2 tree mounted
# for the test: root only, SKIPPED otherwise), and each bad input's text.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
LUA=$(command -v lua5.4 || true)
if [ -z "$LUA" ]; then
    echo "SKIP: lua5.4 is needed for the long-named child (a plain interpreter, not a sanitizer build)"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init names

# 23 characters, unique to this run: comm is its first 15.
NAME=$(printf 'mw-long-name-%010d' $$)
COMM=${NAME:0:15}
[ ${#NAME} -eq 23 ] || {
    echo "FAIL: the test name is ${#NAME} characters"
    exit 1
}
cp "$LUA" "$TMP/$NAME"
cat >"$TMP/hold.lua" <<'EOF'
-- Holds 40M until killed; says when it has it.
local big = string.rep("x", 40 * 1024 * 1024)
local f = io.open(arg[1], "w") f:write(#big) f:close()
os.execute("sleep 60")
EOF
(cd "$TMP" && exec "./$NAME" hold.lua "$TMP/held" >/dev/null 2>&1) &
CHILD=$!
PIDS+=("$CHILD")
wait_file "$TMP/held" 10 || {
    echo "FAIL: the long-named child did not start"
    exit 1
}
expect_eq "$(cat "/proc/$CHILD/comm")" "$COMM" "the kernel keeps 15 bytes"

# ---------------------------------------------------------------------------
case_ "ps NAME"
out=$("$MEMWATCH" ps "$NAME")
expect_match "$out" "^ *$CHILD +$NAME " "ps lists the child under its full name"
expect_eq "$(printf '%s\n' "$out" | grep -c .)" 2 "the header and the child"
out=$("$MEMWATCH" ps --name "$NAME" --format=csv)
expect_match "$out" "^$CHILD,.*,$NAME," "--name, csv"
out=$("$MEMWATCH" ps "$COMM")
expect_no_match "$out" "^ *$CHILD " "comm alone is not the name"

# ---------------------------------------------------------------------------
case_ "processes{name=}"
out=$("$MEMWATCH" -e "for _, p in ipairs(memwatch.processes { name = '$NAME' }) do
    print(p.pid, p.name, p.comm) end")
expect_eq "$out" "$CHILD	$NAME	$COMM" "processes{name=} and the record's name and comm"

# ---------------------------------------------------------------------------
case_ "rule select"
cat >"$TMP/rule.lua" <<EOF
memwatch.watch { name = "big", select = { name = "$NAME" }, above = "10M", every = "0.2s",
    on_alert = function(ev) print("alert", ev.count, ev.processes[1].pid, ev.processes[1].name) end }
memwatch.run(1)
EOF
out=$(timeout 20 "$MEMWATCH" "$TMP/rule.lua" 2>&1)
expect_eq "$out" "alert	1	$CHILD	$NAME" "the rule selects the child by its full name and fires"

# ---------------------------------------------------------------------------
case_ "alert NAME"
out=$(timeout 20 "$MEMWATCH" alert "$NAME" --over 10M --every 0.2s --stop-after 1.5s 2>"$TMP/alert.err")
expect_match "$out" " ALERT $NAME\\[$CHILD\\] [0-9]+ process" "alert NAME fires for the long name"
expect_contains "$(cat "$TMP/alert.err")" "memwatch alert: watching $NAME (group app) over 10.0M" "start line"
out=$(timeout 20 "$MEMWATCH" alert --exe "$TMP/$NAME" --over 10M --every 0.2s --stop-after 1.5s 2>"$TMP/alert.err")
expect_match "$out" " ALERT $NAME\\[$CHILD\\] [0-9]+ process" "alert --exe fires"
expect_contains "$(cat "$TMP/alert.err")" "memwatch alert: watching exe=$TMP/$NAME (group app)" "a selection without a name is described by its keys"

# ---------------------------------------------------------------------------
case_ "serve --name"
"$MEMWATCH" serve --textfile "$TMP/m.prom" --once --name "$NAME" 2>/dev/null
body=$(cat "$TMP/m.prom" 2>/dev/null)
expect_match "$body" "^process_memory_footprint_bytes\\{name=\"$NAME\",pid=\"$CHILD\"" "the label has the full name"

# ---------------------------------------------------------------------------
case_ "record --name"
"$MEMWATCH" record "$TMP/r.jsonl" --name "$NAME" --count 1 --every 0.1s 2>/dev/null
rec=$(cat "$TMP/r.jsonl" 2>/dev/null)
expect_contains "$rec" '"format":2' "format 2"
expect_contains "$rec" "\"comm\":\"$COMM\"" "the row carries comm"
expect_contains "$rec" "\"name\":\"$NAME\"" "the row's name is the full name"
expect_contains "$rec" "\"select\":{\"name\":[\"$NAME\"]}" "the header says what was selected"

# ---------------------------------------------------------------------------
case_ "--exe"
for exe in "$TMP/$NAME" "$NAME"; do
    out=$("$MEMWATCH" ps --exe "$exe")
    expect_match "$out" "^ *$CHILD +$NAME " "--exe $exe"
done
out=$("$MEMWATCH" ps --exe "/nowhere/$NAME")
expect_no_match "$out" "^ *$CHILD " "--exe with another directory"

# ---------------------------------------------------------------------------
case_ "--match, and the wrappers that started memwatch"
# timeout, sh -c and runuser carry memwatch's command line in theirs, so the
# pattern is there too: they are memwatch's, neither selected nor suggested.
PAT=long.name.00 # matches the name, and itself in the wrappers' command lines
out=$(timeout 20 "$MEMWATCH" ps --match "$PAT")
expect_match "$out" "^ *$CHILD +$NAME " "--match on the name"
expect_eq "$(printf '%s\n' "$out" | grep -c .)" 2 "--match: the header and the child, not timeout"
case "$MEMWATCH" in
*[[:space:]]*) not_run "sh -c with a binary path holding a blank" ;;
*)
    out=$(sh -c "$MEMWATCH ps --match $PAT; :")
    expect_eq "$(printf '%s\n' "$out" | grep -c .)" 2 "--match: not the sh -c that started memwatch"
    ;;
esac
err=$(timeout 20 "$MEMWATCH" ps "${NAME}x" 2>&1 >/dev/null)
expect_eq "$err" "memwatch ps: no process matches name '${NAME}x' (closest: $NAME[$CHILD], from $TMP/$NAME)" \
    "the closest: the child, not the timeout whose command line holds the name"

# ---------------------------------------------------------------------------
case_ "--pidfile"
echo "$CHILD" >"$TMP/pid"
out=$("$MEMWATCH" ps --pidfile "$TMP/pid")
expect_match "$out" "^ *$CHILD +$NAME " "--pidfile"
out=$("$MEMWATCH" ps --pidfile "$TMP/pid" --name other-name)
expect_no_match "$out" "^ *$CHILD " "--pidfile and --name both hold"
out=$("$MEMWATCH" ps --pidfile "$TMP/nopid" 2>&1)
expect_contains "$out" "memwatch ps: pidfile '$TMP/nopid': No such file or directory" "a missing pidfile is said"
echo "nonsense" >"$TMP/pid"
out=$("$MEMWATCH" ps --pidfile "$TMP/pid" 2>&1)
expect_contains "$out" "memwatch ps: pidfile '$TMP/pid' holds no process id (it reads 'nonsense')" "a garbled pidfile is said"
expect_no_match "$out" "^ *[0-9]+ " "and selects nothing"

# ---------------------------------------------------------------------------
case_ "bad input"
bad() { # expected-first-line-of-stderr args...
    local want=$1 got
    shift
    got=$("$MEMWATCH" "$@" 2>&1 >/dev/null | head -n 1)
    expect_eq "$got" "$want" "$*"
}
bad "memwatch ps: selection: filter 'container' must be a container id (at least 4 hex digits) or a Kubernetes pod UID, got 'xyz'" ps --container xyz
bad "memwatch ps: selection: filter 'container' must be a container id (at least 4 hex digits) or a Kubernetes pod UID, got 'abc'" ps --container abc
bad "memwatch ps: selection: filter 'exe' must be a non-empty string, got ''" ps --exe ""
bad "memwatch ps: selection: filter 'unit' must be a non-empty string, got ''" ps --unit ""
bad "memwatch ps: selection: filter 'pidfile' must be a non-empty string, got ''" ps --pidfile ""
bad "memwatch ps: selection: no such user 'no-such-user-xyz'" ps --user no-such-user-xyz
bad "memwatch ps: --pid must be a process id, got 'x'" ps --pid x
bad "memwatch alert: expected a process NAME or a selection option" alert --over 1M
bad "memwatch alert: give the NAME or --name, not both" alert a --name b --over 1M
bad "memwatch alert: --name: one NAME (an alert watches one selection)" alert --name a --name b --over 1M
bad "memwatch alert: unexpected argument 'b'" alert a b --over 1M
bad "memwatch record: selection: filter 'container' must be a container id (at least 4 hex digits) or a Kubernetes pod UID, got 'xyz'" record "$TMP/x.jsonl" --container xyz
bad "memwatch serve: selection: filter 'container' must be a container id (at least 4 hex digits) or a Kubernetes pod UID, got 'xyz'" serve --textfile "$TMP/x.prom" --once --container xyz

# ---------------------------------------------------------------------------
# --unit and --container: a cgroup2 tree of our own, a child moved into a
# systemd-style service and one into a docker-style scope. Mounted fresh in
# the init cgroup namespace, /proc/PID/cgroup shows the path from the root
# of the hierarchy: 0::/mwtest-PID/system.slice/mwtest-PID.service.
case_ "--unit, --container"
CG=""
cg_cleanup() {
    [ -n "$CG" ] || return 0
    local d
    for d in "$CG/$TOPCG/machine.slice/$SCOPE" "$CG/$TOPCG/system.slice/$UNIT"; do
        if [ -e "$d/cgroup.procs" ]; then
            while read -r p; do echo "$p" >"$CG/cgroup.procs" 2>/dev/null; done <"$d/cgroup.procs"
        fi
    done
    rmdir "$CG/$TOPCG/machine.slice/$SCOPE" "$CG/$TOPCG/system.slice/$UNIT" \
        "$CG/$TOPCG/machine.slice" "$CG/$TOPCG/system.slice" "$CG/$TOPCG" 2>/dev/null
    umount "$CG" 2>/dev/null
    rmdir "$CG" 2>/dev/null
}
trap 'cg_cleanup; mw_test_cleanup' EXIT
ID=$(printf '%08x' $$)3f5c2a1b9d8e7f60123456789abcdef0123456789abcdef0123456
TOPCG=mwtest-$$
UNIT=mwtest-$$.service
SCOPE=docker-$ID.scope
if [ "$(id -u)" -ne 0 ]; then
    not_run "needs root to mount a cgroup2 tree"
elif ! CG=$(mktemp -d "${TMPDIR:-/tmp}/mw-cg.XXXXXX") || ! mount -t cgroup2 none "$CG" 2>"$TMP/mount.err"; then
    not_run "cannot mount cgroup2 here: $(cat "$TMP/mount.err" 2>/dev/null)"
    rmdir "$CG" 2>/dev/null
    CG=""
elif ! mkdir -p "$CG/$TOPCG/system.slice/$UNIT" "$CG/$TOPCG/machine.slice/$SCOPE"; then
    not_run "cannot create cgroups in $CG"
else
    sleep 60 &
    S1=$!
    sleep 60 &
    S2=$!
    PIDS+=("$S1" "$S2")
    if ! echo "$S1" >"$CG/$TOPCG/system.slice/$UNIT/cgroup.procs" ||
        ! echo "$S2" >"$CG/$TOPCG/machine.slice/$SCOPE/cgroup.procs"; then
        not_run "cannot move processes into cgroups of $CG"
    else
        expect_contains "$(cat "/proc/$S1/cgroup")" "0::/$TOPCG/system.slice/$UNIT" "/proc/PID/cgroup shows the path"
        for u in "$UNIT" "mwtest-$$"; do
            out=$("$MEMWATCH" ps --unit "$u")
            expect_match "$out" "^ *$S1 +sleep " "--unit $u"
            expect_eq "$(printf '%s\n' "$out" | grep -c .)" 2 "--unit $u selects the one process"
        done
        for c in "$ID" "${ID:0:12}" "${ID:0:4}"; do
            out=$("$MEMWATCH" ps --container "$c")
            expect_match "$out" "^ *$S2 +sleep " "--container ${#c} hex digits"
        done
        out=$("$MEMWATCH" ps --container "$(printf '%s' "$ID" | tr '0-9a-f' 'f0-9a-e' | cut -c1-12)")
        expect_no_match "$out" "^ *$S2 " "another container id"
        out=$("$MEMWATCH" -e "local p = memwatch.process($S2) print(p.container, p.container_runtime, p.unit)
            p = memwatch.process($S1) print(p.unit, p.container)")
        expect_eq "$out" "$ID	docker	nil
$UNIT	nil" "the record's unit, container and runtime"
        out=$(timeout 20 "$MEMWATCH" alert --unit "mwtest-$$" --over 1K --every 0.2s --stop-after 1s 2>/dev/null)
        expect_match "$out" " ALERT $UNIT 1 process " "alert --unit: the group is the unit"
    fi
fi

mw_test_done
