#!/usr/bin/env bash
# CLI tests for the memwatch executable (issue 2, "The executable"): options,
# exit codes, script errors, the REPL on piped input, and the output of the
# bundled subcommands ps, ledger and watch.
# Environment (from ctest): MEMWATCH = the binary, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
if [ ! -x "$MEMWATCH" ]; then
    echo "MEMWATCH=$MEMWATCH is not executable" >&2
    exit 1
fi

. "$(dirname "$0")/lib.sh"
mw_test_init cli

# mw ARGS...: runs memwatch with stdin from /dev/null; sets RC, OUT, ERR
# (OUT/ERR without trailing newlines; the raw bytes stay in $TMP/out, $TMP/err).
mw() {
    "$MEMWATCH" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}
# mw_in INPUT ARGS...: the same with INPUT on stdin (a pipe).
mw_in() {
    local input=$1
    shift
    printf '%s' "$input" | "$MEMWATCH" "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

expect_rc() { # expected [what]
    if [ "$RC" -eq "$1" ]; then pass; else fail "${2:-exit code}: expected $1, got $RC; stderr: $(head -c 400 "$TMP/err")"; fi
}
first_line() { printf '%s\n' "$1" | head -n 1; }

# Size cell ("15.0M", "812K", "512B", "-") to bytes; "-" and "denied" to -1.
to_bytes_awk='
function tobytes(s,   n, u, i) {
    if (s == "-" || s == "denied") return -1
    u = substr(s, length(s), 1); n = substr(s, 1, length(s) - 1) + 0
    i = index("BKMGTPE", u)
    if (i == 0) return -2
    return n * 1024 ^ (i - 1)
}'

# ---------------------------------------------------------------------------
# Children with known names: a sleep, a name with a comma and a quote, and a
# hostile name with an escape sequence and a newline.
sleep 300.777 &
SLEEP_PID=$!
PIDS+=("$SLEEP_PID")

CSV_NAME='a,b"c'
cp /bin/sleep "$TMP/$CSV_NAME"
"$TMP/$CSV_NAME" 300 &
CSV_PID=$!
PIDS+=("$CSV_PID")

EVIL=$'ev\e[31m\nil'            # 10 bytes: within the 15-byte comm limit
EVIL_SHOWN='ev\x1b[31m\nil'     # how text.printable shows it
cp /bin/sleep "$TMP/$EVIL"
"$TMP/$EVIL" 300 &
EVIL_PID=$!
PIDS+=("$EVIL_PID")

# Wait until all three have exec'd (their comm is no longer bash's).
for _ in $(seq 100); do
    n1=$(cat "/proc/$SLEEP_PID/comm" 2>/dev/null)
    n2=$(cat "/proc/$CSV_PID/comm" 2>/dev/null)
    if [ "$n1" == sleep ] && [ "$n2" == "$CSV_NAME" ] && [ "$(cat "/proc/$EVIL_PID/comm" 2>/dev/null)" != bash ]; then
        break
    fi
    sleep 0.02
done

# ---------------------------------------------------------------------------
case_ "--version"
mw --version
expect_rc 0
expect_match "$OUT" '^memwatch 0\.1\.0( |$)' "version line"
expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "one line"
expect_eq "$ERR" "" "stderr"
mw -v
expect_rc 0 "-v"
expect_match "$OUT" '^memwatch 0\.1\.0( |$)' "-v prints the version"

case_ "--help"
mw --help
expect_rc 0
expect_match "$OUT" '^usage: memwatch ' "usage line"
for cmd in ps ledger watch; do
    expect_match "$OUT" "^  $cmd +[a-z]" "command $cmd listed with a summary"
done
expect_eq "$ERR" "" "stderr"
mw -h
expect_rc 0 "-h"
expect_match "$OUT" '^usage: memwatch ' "-h prints usage"

case_ "bad option"
mw --bogus
expect_rc 2
expect_eq "$(first_line "$ERR")" "memwatch: unknown option '--bogus'" "message"
expect_eq "$ERR" "memwatch: unknown option '--bogus'
try 'memwatch --help'" "one line and where the usage is, not the usage"
expect_eq "$OUT" "" "nothing on stdout"
mw -e
expect_rc 2 "-e without code"
expect_eq "$(first_line "$ERR")" "memwatch: '-e' needs an argument" "-e message"
expect_eq "$(sed -n 2p "$TMP/err")" "try 'memwatch --help'" "-e: where the usage is"

case_ "missing script"
mw "$TMP/no-such-script.lua"
expect_rc 1
expect_eq "$ERR" "memwatch: cannot open $TMP/no-such-script.lua: No such file or directory" "message"
expect_eq "$OUT" "" "stdout"

case_ "script error"
cat >"$TMP/err.lua" <<'EOF'
local function inner()
    error("boom")
end
local function outer() inner() end
outer()
print("not reached")
EOF
mw "$TMP/err.lua"
expect_rc 1
expect_eq "$(first_line "$ERR")" "$TMP/err.lua:2: boom" "file:line: message first"
expect_eq "$(printf '%s\n' "$ERR" | sed -n 2p)" "stack traceback:" "traceback follows"
expect_match "$ERR" "^	$TMP/err\\.lua:4: in " "traceback names the caller's line"
expect_match "$ERR" "^	$TMP/err\\.lua:5: in main chunk" "traceback reaches the main chunk"
expect_eq "$OUT" "" "nothing printed after the error"

# A bad rule definition names the script's line; its traceback starts there,
# not in memwatch's own modules that raised it.
printf -- '-- rules\nmemwatch.watch {\n    name = "x",\n    abov = 1 }\n' >"$TMP/rule.lua"
mw "$TMP/rule.lua"
expect_rc 1 "bad rule"
expect_eq "$(first_line "$ERR")" "$TMP/rule.lua:2: memwatch.watch: rule 'x': unknown key 'abov' (expected name, \
select, group, metric, fields, above, below, sustain, clear, repeat_every, every, growth, on_alert, on_resolve, explain)" \
    "the rule's file and line"
expect_eq "$(printf '%s\n' "$ERR" | sed -n 3p)" "	$TMP/rule.lua:2: in main chunk" "the traceback starts at the user's line"
expect_not_contains "$ERR" "memwatch/" "no line of memwatch's own modules"

printf 'x = = 1\n' >"$TMP/syntax.lua"
mw "$TMP/syntax.lua"
expect_rc 1 "syntax error"
expect_eq "$(first_line "$ERR")" "$TMP/syntax.lua:1: unexpected symbol near '='" "syntax error message"

printf 'error({})\n' >"$TMP/errobj.lua"
mw "$TMP/errobj.lua"
expect_rc 1 "non-string error"
expect_eq "$(first_line "$ERR")" "(error object is a table value)" "non-string error object"

printf 'os.exit(3)\n' >"$TMP/exit3.lua"
mw "$TMP/exit3.lua"
expect_rc 3 "os.exit(3)"

printf 'local mw = require "memwatch"\nmw.process("x")\n' >"$TMP/misuse.lua"
mw "$TMP/misuse.lua"
expect_rc 1 "API misuse"
expect_eq "$(first_line "$ERR")" "$TMP/misuse.lua:2: bad argument #1 to 'process' (integer expected, got string)" \
    "misuse is blamed on the script line"

case_ "-e"
mw -e 'print(1 + 1)'
expect_rc 0
expect_eq "$OUT" "2" "-e runs code"
mw -e 'x = 20' -e 'print(x + 1)'
expect_rc 0 "two -e"
expect_eq "$OUT" "21" "-e chunks run in order in one state"
mw -e 'print(memwatch.platform, rawequal(memwatch, require "memwatch"))'
expect_eq "$OUT" "linux	true" "memwatch is a global and require returns it"
mw -e 'error("bad")'
expect_rc 1 "-e error"
expect_eq "$(first_line "$ERR")" "(command line):1: bad" "-e error message"
expect_eq "$(printf '%s\n' "$ERR" | sed -n 2p)" "stack traceback:" "-e error traceback"
printf 'print(greeting, ...)\n' >"$TMP/greet.lua"
mw -e 'greeting = "hi"' "$TMP/greet.lua" x
expect_rc 0 "-e before a script"
expect_eq "$OUT" "hi	x" "-e runs before the script, in the same state"
mw -e 'error("first")' "$TMP/greet.lua"
expect_rc 1 "-e error stops before the script"
expect_eq "$OUT" "" "script not run after an -e error"

case_ "arg table"
cat >"$TMP/args.lua" <<'EOF'
print(arg[0], #arg, arg[1], arg[2], select("#", ...), ...)
print(arg[-1])
EOF
mw "$TMP/args.lua" a b
expect_rc 0
expect_eq "$(first_line "$OUT")" "$TMP/args.lua	2	a	b	2	a	b" "arg[0], arg[1..n] and ..."
expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "$MEMWATCH" "arg[-1] is the executable"
mw -e 'x=1' "$TMP/args.lua" 'with space'
expect_eq "$(first_line "$OUT")" "$TMP/args.lua	1	with space	nil	1	with space" "one argument with a space"
expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "x=1" "arg[-1] is the option before the script"
mw -- "$TMP/args.lua" -e
expect_eq "$(first_line "$OUT")" "$TMP/args.lua	1	-e	nil	1	-e" "-- ends options; later -e is an argument"

case_ "stdin as a script"
mw_in 'print("from stdin", 6 * 7)'
expect_rc 0
expect_eq "$OUT" "from stdin	42" "stdin runs as a script when not a tty"
mw_in 'print(arg[1], ...)' - xyz
expect_rc 0 "memwatch - ARG"
expect_eq "$OUT" "xyz	xyz" "'-' reads the script from stdin, with arguments"
mw_in 'local t = {}
error("from stdin")'
expect_rc 1 "stdin error"
expect_eq "$(first_line "$ERR")" "stdin:2: from stdin" "stdin error names stdin:line"

case_ "-i with piped input"
REPL_IN='1+1
x = 10
x * 2
function f(a)
  return a * 3
end
f(4)
=x
error("oops")
x + 1
return "a", "b"
local z = 1
z
t = {
  1,
  2 }
#t
print("printed")
nil
'
mw_in "$REPL_IN" -i
expect_rc 0
expect_eq "$OUT" "2
20
12
10
11
a	b
nil
2
printed
nil" "REPL transcript"
expect_eq "$(first_line "$ERR")" "stdin:1: oops" "error in the REPL goes to stderr"
expect_match "$ERR" '^stack traceback:' "with a traceback"
expect_no_match "$OUT" '^>' "no prompts when stdin is not a terminal"
mw_in 'y * 2' -e 'y = 21' -i
expect_rc 0 "-e then -i"
expect_eq "$OUT" "42" "-i runs after -e, in the same state"
mw_in 'print("never")' -e 'print("only")'
expect_eq "$OUT" "only" "-e without -i does not read stdin"
# A chunk still incomplete at the end of input: the syntax error is reported
# (stock lua.c 5.4.4 prints "(null)" here; memwatch must say what is wrong).
mw_in 'function g(' -i
expect_rc 0 "incomplete chunk at end of input"
expect_eq "$(first_line "$ERR")" "stdin:1: <name> or '...' expected near <eof>" "incomplete chunk reported"

# ---------------------------------------------------------------------------
case_ "ps table"
mw ps
expect_rc 0
PS_OUT=$OUT
expect_match "$(first_line "$PS_OUT")" '^ +PID  COMMAND +REAL MEMORY  MEMORY$' "header"
SIZE_RE='([0-9]+B|[0-9]+K|[0-9]+\.[0-9][MGTPE]|-|denied)'
BAD_ROWS=$(printf '%s\n' "$PS_OUT" | tail -n +2 | grep -Ev "^ *[0-9]+  .*  +$SIZE_RE  +$SIZE_RE\$")
expect_eq "$BAD_ROWS" "" "every row is PID COMMAND REAL-MEMORY MEMORY in human units"
expect_match "$PS_OUT" '  [0-9]+\.[0-9]M$' "some footprint shown in M with one decimal"
expect_match "$PS_OUT" "^ *$SLEEP_PID  sleep +$SIZE_RE  +$SIZE_RE\$" "the sleep child has a row"
expect_match "$PS_OUT" "^ *$$  bash " "this shell has a row"
expect_no_match "$PS_OUT" '^ *2  kthreadd ' "kernel threads are left out"
UNSORTED=$(printf '%s\n' "$PS_OUT" | tail -n +2 | awk "$to_bytes_awk"'
    { v = tobytes($NF); if (NR > 1 && v > prev) print "row " NR ": " $0 " after " prevline; prev = v; prevline = $0 }')
expect_eq "$UNSORTED" "" "rows by footprint (MEMORY), largest first"
# Widths: every line is as wide as the header up to the MEMORY column end.
HDR_LEN=$(first_line "$PS_OUT" | awk '{ print length($0) }')
RAGGED=$(printf '%s\n' "$PS_OUT" | awk -v w="$HDR_LEN" 'length($0) != w && !/[^ -~]/ { print }' | head -3)
expect_eq "$RAGGED" "" "aligned columns (all lines as wide as the header)"

case_ "ps NAME"
mw ps sleep
expect_rc 0
expect_match "$(first_line "$OUT")" '^ +PID  COMMAND +REAL MEMORY  MEMORY$' "header"
expect_match "$OUT" "^ *$SLEEP_PID  sleep " "the sleep child"
OTHER=$(printf '%s\n' "$OUT" | tail -n +2 | awk '$2 != "sleep"')
expect_eq "$OTHER" "" "only processes named sleep"
mw ps sleep bash
expect_match "$OUT" "^ *$SLEEP_PID  sleep " "two names: sleep"
expect_match "$OUT" "^ *$$  bash " "two names: bash"
mw ps no-such-process-name
expect_rc 1 "no match"
expect_eq "$OUT" "" "nothing on stdout when no NAME matches"
expect_eq "$ERR" "memwatch ps: no process matches name 'no-such-process-name'" "no match said on stderr"
mw ps sleeq
expect_rc 1 "a near miss"
expect_match "$ERR" "^memwatch ps: no process matches name 'sleeq' \\(closest: ([^;]*; )*sleep\\[[0-9]+\\]" \
    "a near miss suggests the close name"
mw ps sleep no-such-process-name
expect_rc 0 "one of two names matches"
expect_match "$OUT" "^ *$SLEEP_PID  sleep " "the name that matches is listed"
expect_eq "$ERR" "memwatch ps: no process matches name 'no-such-process-name'" "the other is said"
mw ps slee
expect_no_match "$OUT" "^ *$SLEEP_PID " "NAME is an exact name, not a prefix"

case_ "ps --all"
mw ps --all
expect_rc 0
if [ "$(cat /proc/2/comm 2>/dev/null)" == kthreadd ]; then
    expect_match "$OUT" '^ +2  kthreadd +-  +-$' "kernel threads with --all, sizes shown as -"
fi

case_ "ps --sort"
mw ps --sort=pid
expect_rc 0 "--sort=pid"
UNSORTED=$(printf '%s\n' "$OUT" | tail -n +2 | awk 'NR > 1 && $1 + 0 <= prev { print "row " NR ": " $1 " after " prev } { prev = $1 + 0 }')
expect_eq "$UNSORTED" "" "--sort=pid: ascending pids"
mw ps -s pid
expect_rc 0 "-s pid"
mw ps --sort pid
expect_rc 0 "--sort pid (separate value)"
mw ps --sort=resident
expect_rc 0 "--sort=resident"
UNSORTED=$(printf '%s\n' "$OUT" | tail -n +2 | awk "$to_bytes_awk"'
    { v = tobytes($(NF - 1)); if (NR > 1 && v > prev) print "row " NR ": " $0; prev = v }')
expect_eq "$UNSORTED" "" "--sort=resident: REAL MEMORY largest first"

# Exact order checks on the CSV form (numbers in bytes, names raw).
check_csv_order() { # sort-key python-key-expression what
    mw ps --sort="$1" --format=csv
    expect_rc 0 "--sort=$1 --format=csv"
    local verdict
    verdict=$(python3 - "$TMP/out" "$2" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8', errors='surrogateescape')))[1:]
def num(s): return int(s) if s != '' else -1
def name(s): return s.encode('utf-8', 'surrogateescape')
key = eval("lambda r: " + sys.argv[2])
keys = [key(r) for r in rows]
bad = [i for i in range(1, len(keys)) if keys[i] < keys[i - 1]]
print("ok" if not bad else "out of order at row %d: %r after %r" % (bad[0] + 1, rows[bad[0]], rows[bad[0] - 1]))
EOF
)
    expect_eq "$verdict" "ok" "$3"
}
if needs python3; then
    check_csv_order footprint '(-num(r[5]), int(r[0]))' "default order: footprint descending, then pid"
    check_csv_order resident '(-num(r[4]), int(r[0]))' "--sort=resident: resident descending, then pid"
    check_csv_order pid 'int(r[0])' "--sort=pid: pid ascending"
    check_csv_order name '(name(r[3]), int(r[0]))' "--sort=name: name ascending (bytes), then pid"
fi

case_ "ps bad --sort / --format"
mw ps --sort=bogus
expect_rc 2
expect_eq "$(first_line "$ERR")" "memwatch ps: invalid value 'bogus' for '--sort' (expected footprint, resident, pid, name)" \
    "message names the accepted values"
expect_eq "$(sed -n 2p "$TMP/err")" "try 'memwatch ps --help'" "where the usage is"
expect_eq "$(wc -l <"$TMP/err")" 2 "not the whole usage"
expect_eq "$OUT" "" "nothing on stdout"
mw ps --format=xml
expect_rc 2 "--format=xml"
expect_eq "$(first_line "$ERR")" "memwatch ps: invalid value 'xml' for '--format' (expected table, csv, json, prometheus, influx)" "format message"
mw ps --sort
expect_rc 2 "--sort without a value"
expect_eq "$(first_line "$ERR")" "memwatch ps: option '--sort' needs a value" "missing value message"
mw ps --frobnicate
expect_rc 2 "unknown ps option"
expect_eq "$(first_line "$ERR")" "memwatch ps: unknown option '--frobnicate'" "unknown ps option message"
mw ps --help
expect_rc 0 "ps --help"
expect_match "$OUT" '^usage: memwatch ps ' "ps --help prints usage on stdout"

case_ "ps --format=csv"
mw ps --format=csv
expect_rc 0
expect_eq "$(head -n 1 "$TMP/out")" $'pid,ppid,user,name,resident,footprint,swap,state\r' "RFC 4180 header with CRLF"
# Every record ends in CRLF: count LF and CRLF outside quoted fields via python.
if needs python3; then
    CSV_CHECK=$(python3 - "$TMP/out" "$SLEEP_PID" "$CSV_PID" "$CSV_NAME" "$EVIL_PID" "$EVIL" "$(id -un)" <<'EOF'
import csv, sys
path, sleep_pid, csv_pid, csv_name, evil_pid, evil, me = sys.argv[1:8]
raw = open(path, 'rb').read()
problems = []
if not raw.endswith(b'\r\n'):
    problems.append('output does not end in CRLF')
rows = list(csv.reader(open(path, newline='', encoding='utf-8', errors='surrogateescape')))
header, rows = rows[0], rows[1:]
if len(rows) < 3:
    problems.append('too few rows: %d' % len(rows))
for r in rows:
    if len(r) != 8:
        problems.append('row with %d fields: %r' % (len(r), r))
    elif not r[0].isdigit() or not (r[5] == '' or r[5].isdigit()) or not (r[4] == '' or r[4].isdigit()):
        problems.append('row with non-numeric fields: %r' % (r,))
by_pid = {r[0]: r for r in rows if len(r) == 8}
def expect(pid, name):
    r = by_pid.get(pid)
    if not r:
        problems.append('no row for pid %s' % pid)
        return
    if r[3] != name:
        problems.append('pid %s: name %r, expected %r' % (pid, r[3], name))
    if r[2] != me:
        problems.append('pid %s: user %r, expected %r' % (pid, r[2], me))
    if not r[5].isdigit() or int(r[5]) <= 0:
        problems.append('pid %s: footprint %r' % (pid, r[5]))
    if r[7] != 'S':
        problems.append('pid %s: state %r' % (pid, r[7]))
expect(sleep_pid, 'sleep')
expect(csv_pid, csv_name)
expect(evil_pid, evil)
print('; '.join(problems) or 'ok')
EOF
)
    expect_eq "$CSV_CHECK" "ok" "CSV parses (RFC 4180) with the expected rows"
fi
expect_match "$OUT" "^$CSV_PID,[0-9]+,[^,]*,\"a,b\"\"c\",[0-9]+,[0-9]+,[0-9]+,S"$'\r'"\$" \
    "a name with a comma and a quote is quoted, the quote doubled"
expect_match "$OUT" "^$SLEEP_PID,$$,$(id -un),sleep,[0-9]+,[0-9]+,[0-9]+,S"$'\r'"\$" "the sleep row"
CSV_SLEEP_FP=$(printf '%s\n' "$OUT" | awk -F, -v p="$SLEEP_PID" '$1 == p { print $6 }')

case_ "ps --format=json"
mw ps --format=json
if [ "$RC" -ne 0 ] && grep -q "lua-cjson" "$TMP/err"; then
    expect_rc 1 "without lua-cjson"
    expect_eq "$(first_line "$ERR")" \
        "memwatch ps: JSON output needs the lua-cjson module (Debian: lua-cjson; Homebrew: luarocks install lua-cjson)" \
        "a plain message when lua-cjson is missing"
    not_run "json content checks: lua-cjson is not installed (apt-get install lua-cjson)"
elif needs python3; then
    expect_rc 0
    if grep -q $'\e' "$TMP/out"; then fail "raw ESC byte in JSON output"; else pass; fi
    JSON_CHECK=$(python3 - "$TMP/out" "$SLEEP_PID" "$EVIL_PID" "$EVIL" "${CSV_SLEEP_FP:-}" <<'EOF'
import json, sys
path, sleep_pid, evil_pid, evil, csv_fp = sys.argv[1:6]
problems = []
objs = []
for n, line in enumerate(open(path, encoding='utf-8'), 1):
    try:
        objs.append(json.loads(line))
    except ValueError as e:
        problems.append('line %d does not parse: %s: %r' % (n, e, line[:200]))
by_pid = {o.get('pid'): o for o in objs if isinstance(o, dict)}
if len(by_pid) != len(objs) or len(objs) < 3:
    problems.append('expected one object per process, got %d objects, %d pids' % (len(objs), len(by_pid)))
SIZES = ['footprint', 'resident', 'rss_anon', 'rss_file', 'rss_shmem', 'swap', 'page_table',
         'resident_peak', 'virtual', 'locked']
for o in objs:
    for k in SIZES + ['pid', 'ppid', 'uid', 'threads']:
        if k in o and (not isinstance(o[k], int) or isinstance(o[k], bool)):
            problems.append('pid %s: %s is %r, not an integer' % (o.get('pid'), k, o[k]))
    for k in ('start_time', 'cpu_time'):
        if k in o and not isinstance(o[k], (int, float)):
            problems.append('pid %s: %s is %r' % (o.get('pid'), k, o[k]))
s = by_pid.get(int(sleep_pid))
if not s:
    problems.append('no object for the sleep child')
else:
    if s.get('name') != 'sleep': problems.append('sleep name %r' % s.get('name'))
    if s.get('ppid') is None: problems.append('sleep: no ppid')
    if csv_fp and s.get('footprint') != int(csv_fp):
        problems.append('sleep footprint %r in JSON, %s in CSV' % (s.get('footprint'), csv_fp))
e = by_pid.get(int(evil_pid))
if not e:
    problems.append('no object for the hostile name')
elif e.get('name') != evil:
    problems.append('hostile name %r, expected %r' % (e.get('name'), evil))
print('; '.join(problems[:8]) or 'ok')
EOF
)
    expect_eq "$JSON_CHECK" "ok" "every line is a JSON object with exact integer sizes"

    # Sizes beyond 14 significant digits must stay exact integers (bytes):
    # a process that reserves >= 10^14 bytes of address space (PROT_NONE).
    python3 - "$TMP/bigvm.pid" <<'EOF' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
total = 0
for _ in range(16):
    if total >= 10 ** 14 + (1 << 40):
        break
    p = libc.mmap(None, 8 << 40, 0, 0x02 | 0x20 | 0x4000, -1, 0)  # PROT_NONE, PRIVATE|ANON|NORESERVE
    if p in (None, ctypes.c_void_p(-1).value):
        break
    total += 8 << 40
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write('%d %d\n' % (os.getpid(), total))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(30)
EOF
    PIDS+=("$!")
    for _ in $(seq 150); do [ -s "$TMP/bigvm.pid" ] && break; sleep 0.02; done
    read -r BIG_PID BIG_TOTAL <"$TMP/bigvm.pid" 2>/dev/null || BIG_PID=""
    if [ -n "$BIG_PID" ] && [ "${BIG_TOTAL:-0}" -ge 100000000000000 ]; then
        VM_KB=$(awk '/^VmSize:/ { print $2 }' "/proc/$BIG_PID/status")
        mw ps --format=json
        BIG_JSON=$(grep -E "\"pid\":$BIG_PID[,}]" "$TMP/out")
        expect_match "$BIG_JSON" "\"virtual\":$((VM_KB * 1024))[,}]" \
            "virtual of $((VM_KB * 1024)) bytes is an exact integer in JSON"
    else
        not_run "json large-integer check: could not reserve 10^14 bytes of address space"
    fi
fi

# ---------------------------------------------------------------------------
case_ "hostile process name"
mw ps
expect_rc 0
if grep -q $'\e' "$TMP/out"; then fail "a raw ESC byte reached the output of memwatch ps"; else pass; fi
expect_match "$OUT" "^ *$EVIL_PID  ev\\\\x1b\\[31m\\\\nil +$SIZE_RE  +$SIZE_RE\$" \
    "the name is shown escaped (\\x1b, \\n) on one row"
mw ps --all --sort=name
if grep -q $'\e' "$TMP/out"; then fail "raw ESC in ps --all --sort=name"; else pass; fi
mw watch --count=1 --every=0.1s --limit=1000000
if grep -q $'\e' "$TMP/out"; then fail "a raw ESC byte reached the output of memwatch watch"; else pass; fi
expect_contains "$OUT" "$EVIL_SHOWN" "watch shows the name escaped"

# ---------------------------------------------------------------------------
case_ "ledger"
mw ledger $$
expect_rc 0
expect_eq "$(first_line "$OUT")" "ledger of $$ (bash), user $(id -un)" "the line naming the process"
expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" \
    "      GROUP LEDGER                                   BALANCE       CREDIT        DEBIT UNITS" "header"
expect_match "$OUT" '^    physmem footprint +[0-9]+ +- +- bytes$' "a physmem footprint row"
expect_match "$OUT" '^      sched user_time +[0-9]+ +- +- ns$' "a sched user_time row in ns"
BAD_ROWS=$(printf '%s\n' "$OUT" | tail -n +3 | grep -Ev '^ *[a-z]+ [^ ]+ +-?[0-9]+ +(-?[0-9]+|-) +(-?[0-9]+|-) [a-z]+$')
expect_eq "$BAD_ROWS" "" "every row is GROUP LEDGER BALANCE CREDIT DEBIT UNITS"
mw ledger "$SLEEP_PID"
expect_rc 0 "ledger of the sleep child"
LEDGER_FP=$(printf '%s\n' "$OUT" | awk '$1 == "physmem" && $2 == "footprint" { print $3 }')
STATUS_FP=$(awk '/^(RssAnon|RssShmem|VmSwap|VmPTE):/ { s += $2 } END { print s * 1024 }' "/proc/$SLEEP_PID/status")
expect_eq "$LEDGER_FP" "$STATUS_FP" "footprint = RssAnon + RssShmem + VmSwap + VmPTE of a quiet process"
if [ -n "${CSV_SLEEP_FP:-}" ]; then
    expect_eq "$LEDGER_FP" "$CSV_SLEEP_FP" "ledger footprint = ps footprint of a quiet process"
fi
LEDGER_RSS=$(printf '%s\n' "$OUT" | awk '$1 == "physmem" && $2 == "VmRSS" { print $3 }')
STATUS_RSS=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$SLEEP_PID/status")
expect_eq "$LEDGER_RSS" "$STATUS_RSS" "physmem VmRSS in bytes"

mw ledger 999999999
expect_rc 1 "no such pid"
expect_eq "$ERR" "memwatch ledger: pid 999999999: No such process" "no such pid message"
expect_eq "$OUT" "" "no table for a missing pid"
mw ledger abc
expect_rc 2 "ledger abc"
expect_eq "$(first_line "$ERR")" "memwatch ledger: invalid PID 'abc'" "invalid PID message"
expect_eq "$(sed -n 2p "$TMP/err")" "try 'memwatch ledger --help'" "where the usage is"
mw ledger
expect_rc 2 "ledger without a pid"
expect_eq "$(first_line "$ERR")" "memwatch ledger: expected one PID" "missing PID message"
mw ledger 1 2
expect_rc 2 "ledger with two pids"
mw ledger -- -5
expect_rc 2 "negative pid"
expect_eq "$(first_line "$ERR")" "memwatch ledger: invalid PID '-5'" "negative PID message"

# ---------------------------------------------------------------------------
case_ "watch"
T0=$(date +%s%N)
mw watch --count=2 --every=0.1s
T1=$(date +%s%N)
expect_rc 0
expect_eq "$(grep -c '  (Ctrl-C to stop)$' "$TMP/out")" 2 "two frames"
expect_eq "$(grep -c '^  PID  USER  REAL MEMORY  MEMORY  COMMAND$' "$TMP/out")" 2 "a table header per frame"
expect_eq "$(grep -cE '^memory [0-9.]+[BKMGTPE] total, [0-9.]+[BKMGTPE] available' "$TMP/out")" 2 "a system line per frame"
expect_match "$OUT" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  \(Ctrl-C to stop\)$' "frame time stamp"
if grep -q $'\e' "$TMP/out"; then fail "screen-clearing escapes when stdout is not a terminal"; else pass; fi
expect_eq "$(grep -c '^$' "$TMP/out")" 2 "frames separated by a blank line"
ELAPSED_MS=$(((T1 - T0) / 1000000))
if [ "$ELAPSED_MS" -ge 100 ] && [ "$ELAPSED_MS" -lt 5000 ]; then pass; else fail "two frames 0.1s apart took ${ELAPSED_MS} ms"; fi
mw watch --count=1 --limit=3 --every=1s
expect_rc 0 "--limit=3"
ROWS=$(awk '/^  PID  USER/ { on = 1; next } on && /^$/ { on = 0 } on { n++ } END { print n + 0 }' "$TMP/out")
expect_eq "$ROWS" 3 "--limit=3 shows three processes"
UNSORTED=$(awk "$to_bytes_awk"'/^  PID  USER/ { on = 1; next } on && NF >= 5 { v = tobytes($4); if (seen && v > prev) print; prev = v; seen = 1 }' "$TMP/out")
expect_eq "$UNSORTED" "" "watch rows by footprint, largest first"

mw watch --every=2Q
expect_rc 2 "--every=2Q"
expect_eq "$(first_line "$ERR")" \
    "memwatch watch: invalid duration '2Q': expected a number with an optional unit ms, s, m or h (a bare number is seconds)" \
    "message names the units"
expect_eq "$(sed -n 2p "$TMP/err")" "try 'memwatch watch --help'" "where the usage is"
mw watch --every=0
expect_rc 2 "--every=0"
expect_eq "$(first_line "$ERR")" "memwatch watch: --every must be greater than 0" "--every=0 message"
mw watch --count=0
expect_rc 2 "--count=0"
expect_eq "$(first_line "$ERR")" "memwatch watch: --count must be a positive integer" "--count message"
mw watch --count=x
expect_rc 2 "--count=x"
mw watch --limit=-1 --count=1
expect_rc 2 "--limit=-1"
expect_eq "$(first_line "$ERR")" "memwatch watch: --limit must be a positive integer" "--limit message"

# Ctrl-C (SIGINT) stops a running watch promptly with the interrupt status.
case_ "watch interrupted"
"$MEMWATCH" watch --every=10s >"$TMP/out" 2>"$TMP/err" </dev/null &
WPID=$!
for _ in $(seq 100); do grep -q 'Ctrl-C to stop' "$TMP/out" 2>/dev/null && break; sleep 0.02; done
T0=$(date +%s%N)
kill -INT "$WPID"
wait "$WPID"
RC=$?
T1=$(date +%s%N)
expect_rc 130 "SIGINT during the sleep"
expect_eq "$(cat "$TMP/err")" "interrupted!" "says interrupted!"
ELAPSED_MS=$(((T1 - T0) / 1000000))
if [ "$ELAPSED_MS" -lt 2000 ]; then pass; else fail "took ${ELAPSED_MS} ms to stop after SIGINT"; fi

# ---------------------------------------------------------------------------
# On a terminal (a pty from util-linux script): plain memwatch is a REPL with
# prompts, watch redraws the screen, ps still escapes hostile names.
case_ "terminal"
if needs script timeout; then
    printf 'print(6 * 7)\nfunction f()\nreturn 1 end\nf()\nos.exit(0)\n' |
        HOME="$TMP" timeout 10 script -qec "$(printf '%q' "$MEMWATCH")" /dev/null >"$TMP/tty" 2>&1
    # readline echoes each line after its prompt and brackets it with the
    # paste-mode switches (ESC [?2004h / l); drop those to read the transcript.
    TTY_OUT=$(tr -d '\r' <"$TMP/tty" | sed 's/\x1b\[?2004[hl]//g')
    expect_match "$TTY_OUT" '^> print\(6 \* 7\)$' "plain memwatch on a terminal is a REPL with a '> ' prompt"
    expect_match "$TTY_OUT" '^42$' "the prompt prints the result"
    expect_match "$TTY_OUT" '^>> return 1 end$' "a continuation line gets the '>> ' prompt"
    timeout 10 script -qec "$(printf '%q' "$MEMWATCH") watch --count=1 --every=0.1s --limit=2" /dev/null \
        </dev/null >"$TMP/tty" 2>&1
    if head -c 7 "$TMP/tty" | cmp -s - <(printf '\033[H\033[2J'); then pass; else
        fail "watch on a terminal starts each frame by clearing the screen: $(head -c 40 "$TMP/tty" | od -c | head -2)"
    fi
    expect_eq "$(grep -c 'Ctrl-C to stop' "$TMP/tty")" 1 "one frame on the terminal"
    timeout 10 script -qec "$(printf '%q' "$MEMWATCH") ps" /dev/null </dev/null >"$TMP/tty" 2>&1
    if grep -q $'\e' "$TMP/tty"; then fail "a raw ESC byte reached the terminal from memwatch ps"; else pass; fi
    expect_contains "$(cat "$TMP/tty")" "$EVIL_SHOWN" "the hostile name is shown escaped on the terminal"
fi

# ---------------------------------------------------------------------------
mw_test_done
