#!/usr/bin/env bash
# The views' shared vocabulary and their errors: an unknown command, a bad
# option (one line and where the usage is), ps --fields in every format and
# its refusals, top's column names, and plot's colours, y axis and gnuplot
# errors (that part SKIPPED without gnuplot).
. "$(dirname "$0")/lib.sh"
mw_test_init views

mw() {
    "$MEMWATCH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

case_ "unknown command"
(cd "$TMP" && "$MEMWATCH" frobnicate >"$TMP/out" 2>"$TMP/err" </dev/null)
expect_eq "$?" 2 "exit status"
expect_eq "$(sed -n 1p "$TMP/err")" "memwatch: unknown command 'frobnicate'" "message"
expect_eq "$(sed -n 2p "$TMP/err")" "Commands (memwatch COMMAND --help for each):" "the commands follow"
for cmd in alert ledger plot ps record replay serve top watch; do
    expect_match "$(cat "$TMP/err")" "^  $cmd +[A-Za-z]" "command $cmd listed"
done
expect_eq "$(cat "$TMP/out")" "" "nothing on stdout"
# A file of that name is still a script.
echo 'print("ran as a script")' >"$TMP/frobnicate"
(cd "$TMP" && "$MEMWATCH" frobnicate >"$TMP/out" 2>"$TMP/err" </dev/null)
expect_eq "$?:$(cat "$TMP/out")" "0:ran as a script" "an existing file runs"

case_ "a bad option: one line and where the usage is"
mw alert --bogus
expect_eq "$RC" 2 "alert --bogus exit status"
expect_eq "$ERR" "memwatch alert: unknown option '--bogus'
try 'memwatch alert --help'" "alert --bogus"
mw top --group=bogus
expect_eq "$RC" 2 "top --group=bogus exit status"
expect_eq "$ERR" "memwatch top: invalid value 'bogus' for '--group' (expected none, name, tree, app, user)
try 'memwatch top --help'" "top --group=bogus"
mw top --limit=0
expect_eq "$RC:$ERR" "2:memwatch top: --limit must be a positive integer
try 'memwatch top --help'" "an error found by the command itself"
mw ps --fields
expect_eq "$RC:$ERR" "2:memwatch ps: option '--fields' needs a value
try 'memwatch ps --help'" "--fields without a value"

# A child with a name nothing else has.
cp "$(command -v sleep)" "$TMP/mwviewkid"
"$TMP/mwviewkid" 60 &
KID=$!
PIDS+=("$KID")
for _ in $(seq 100); do grep -q mwviewkid "/proc/$KID/comm" 2>/dev/null && break; sleep 0.02; done

case_ "ps --fields, every format"
mw ps mwviewkid --fields=pid,name,pss,cpu_time
expect_eq "$RC" 0 "table"
expect_eq "$(sed -n 1p "$TMP/out")" "  PID  COMMAND     PSS  CPU TIME" "table header: the fields, in order"
expect_match "$OUT" "^ *$KID  mwviewkid +([0-9.]+[BKMG]|denied) +[0-9]+\.[0-9][0-9]$" "table row"
mw ps mwviewkid --fields=pss --fields=cpu_time,name --format=csv
expect_eq "$(sed -n 1p "$TMP/out")" $'pss,cpu_time,name\r' "csv header: repeated --fields add up"
expect_match "$OUT" $'^[0-9]*,[0-9.]+,mwviewkid\r$' "csv row"
mw ps mwviewkid --fields=pid,pss,cpu_time --format=json
if needs python3; then
    expect_eq "$(python3 -c 'import json, sys; print(",".join(sorted(json.loads(sys.stdin.readline()))))' \
        <"$TMP/out")" "cpu_time,pid,pss" "json: exactly the fields"
fi
mw ps mwviewkid --fields=pss,cpu_time,threads --format=prometheus
expect_eq "$RC" 0 "prometheus"
expect_contains "$OUT" "# TYPE process_cpu_seconds_total counter" "cpu_time is the standard CPU counter"
expect_match "$OUT" "^process_cpu_seconds_total\{name=\"mwviewkid\",pid=\"$KID\",user=\"[^\"]+\"\} [0-9.]+$" \
    "its sample, labelled pid, name and user"
expect_match "$OUT" "^process_threads\{name=\"mwviewkid\",pid=\"$KID\",user=\"[^\"]+\"\} 1$" "threads"
expect_not_contains "$OUT" "process_memory_footprint_bytes" "only the fields asked for"
mw ps mwviewkid --fields=footprint,state --format=influx
expect_match "$OUT" "^process_memory,name=mwviewkid,pid=$KID,user=[^ ]+ footprint=[0-9]+i,state=\"S\" [0-9]+$" \
    "influx: the fields, a string quoted; tags stay"
# comm, the kernel's short name that JSON writes, can be chosen too.
mw ps mwviewkid --fields=pid,name,comm --format=csv
expect_eq "$RC:$OUT" "0:pid,name,comm"$'\r\n'"$KID,mwviewkid,mwviewkid"$'\r' "csv: comm as a field"
mw ps mwviewkid --fields=pid,comm
expect_eq "$(sed -n 1p "$TMP/out")" "  PID  COMM" "table: comm's column"

case_ "ps --format=json without --fields: every field it read"
mw ps mwviewkid --format=json
if needs python3; then
    expect_eq "$(python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
want = {"pid", "ppid", "uid", "user", "name", "comm", "state", "threads", "footprint", "resident", "swap", "rss_anon",
        "rss_file", "rss_shmem", "page_table", "virtual", "resident_peak", "locked"}
print(sorted(want - set(o)))' <"$TMP/out")" "[]" "the status fields are all there"
fi

case_ "ps --fields errors"
mw ps --fields=pds
expect_eq "$RC:$ERR" "2:memwatch ps: --fields: unknown field 'pds' (did you mean 'pss'?)
try 'memwatch ps --help'" "a near name"
mw ps --fields=zzzzzz
expect_eq "$(sed -n 1p "$TMP/err")" "memwatch ps: --fields: unknown field 'zzzzzz' (fields: cmdline, comm, cpu_time, \
disk_read, disk_written, footprint, footprint_interval_peak, footprint_peak, kernel_thread, lazy_free, locked, name, \
page_table, path, pid, ppid, pss, resident, resident_peak, rss_anon, rss_file, rss_shmem, start_time, state, swap, \
swap_pss, threads, uid, unique_id, user, uss, virtual, wired)" "no near name: the list"
mw ps --fields=$'\e[2J'
FIRST=$(sed -n 1p "$TMP/err")
expect_eq "$RC:${FIRST%% (*}" "2:memwatch ps: --fields: unknown field '\x1b[2J'" "an unknown name is shown printable"
mw ps --fields=pss,,uss
expect_eq "$RC:$(sed -n 1p "$TMP/err")" "2:memwatch ps: --fields: an empty field name" "an empty name"
mw ps --fields=pss,state --format=prometheus
expect_eq "$RC:$(sed -n 1p "$TMP/err")" \
    "2:memwatch ps: --fields: field 'state' is not a number; samples are numbers (pid, name and user are labels)" \
    "a text field is no Prometheus sample"
expect_eq "$OUT" "" "nothing on stdout"

case_ "top: ps's column names"
mw top --once --filter=mwviewkid
expect_eq "$(sed -n 3p "$TMP/out")" "    PID COMMAND                   REAL MEMORY    MEMORY  CHANGE/MIN" "process header"
expect_match "$OUT" "^ +$KID mwviewkid +[0-9.]+[BKMG] +[0-9.]+[BKMG] +-$" "the row"
# The selection options choose the processes top shows.
mw top --once --pid="$KID"
expect_eq "$RC" 0 "top --pid: exit status"
expect_eq "$(sed -n '4,$p' "$TMP/out" | grep -c .)" 1 "top --pid: one row: $OUT"
expect_match "$OUT" "^ +$KID mwviewkid " "top --pid: the selected process"
mw top --once --name=mwviewkid --name=no-such-process-here
expect_match "$OUT" "^ +$KID mwviewkid " "top --name (a union of names)"
mw top --once --container=xyz
expect_eq "$RC:$(sed -n 1p "$TMP/err")" \
    "2:memwatch top: selection: filter 'container' must be a container id (at least 4 hex digits) or a Kubernetes pod UID, got 'xyz'" \
    "top: a bad selection"
mw top --once --group=user --limit=1
expect_eq "$(sed -n 3p "$TMP/out")" "  PROCS GROUP                     REAL MEMORY    MEMORY  CHANGE/MIN" "group header"
# Percentages with one decimal, in top's system line and in watch's.
TOP_LINE=$(sed -n 1p "$TMP/out")
mw watch --count=1 --limit=1
WATCH_LINE=$(sed -n 2p "$TMP/out")
expect_no_match "$TOP_LINE$WATCH_LINE" '[0-9]\.[0-9][0-9]%' "no percentage with two decimals"
if [ -r /proc/pressure/memory ]; then
    expect_match "$TOP_LINE" 'Pressure some [0-9]+\.[0-9]% full [0-9]+\.[0-9]%$' "top's pressure"
    expect_match "$WATCH_LINE" 'pressure some [0-9]+\.[0-9]% full [0-9]+\.[0-9]% \(avg10\)$' "watch's pressure"
fi

case_ "plot"
if needs gnuplot python3; then
    # A recording of 12 processes: more lines than gnuplot's own 8 colours.
    python3 - "$MW_FIXTURES/recordings/leak_spike.jsonl" >"$TMP/twelve.jsonl" <<'PY'
import json, sys
head = json.loads(open(sys.argv[1]).readline())
print(json.dumps(head))
for i in range(6):
    procs = [{"pid": 100 + n, "ppid": 1, "name": "p%d" % n, "start_time": 1764060000.0, "uid": 0, "user": "root",
              "footprint": (n + 1) * 1048576 * (10 + i), "resident": 1048576, "swap": 0} for n in range(12)]
    print(json.dumps({"mono": 10.0 * i, "t": head["start"] + 10.0 * i, "processes": procs}))
PY
    mw plot "$TMP/twelve.jsonl" -o "$TMP/twelve.svg" --top=12
    expect_eq "$RC:$ERR" "0:memwatch plot: wrote $TMP/twelve.svg: 12 lines, 6 samples" "drawn"
    expect_eq "$(grep -o "stroke='rgb([^)]*)'" "$TMP/twelve.svg" | sort -u | wc -l)" 12 "12 lines, 12 distinct colours"
    expect_contains "$(cat "$TMP/twelve.svg")" "<text>footprint (MiB)</text>" "the unit in the y label"
    expect_eq "$(grep -cE '>[0-9.]+ ?[KMGT]</text>' "$TMP/twelve.svg")" 0 "no unit again on the ticks"
    mw plot "$TMP/twelve.jsonl" -o "$TMP/no/such/dir/c.svg" --top=12
    expect_eq "$RC:$ERR" "1:memwatch plot: cannot write $TMP/no/such/dir/c.svg: No such file or directory" \
        "gnuplot's error as one memwatch line"
fi

mw_test_done
