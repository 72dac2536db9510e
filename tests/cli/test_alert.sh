#!/usr/bin/env bash
# memwatch alert (issue 4), end to end: a child process grows past a
# threshold and frees again; `memwatch alert NAME --over 50M --for 1s
# --every 0.2s` prints ALERT within sustain plus two intervals and RESOLVED
# after the child frees; --exec runs with the event in its environment;
# SIGTERM and Ctrl-C stop cleanly without inventing a RESOLVED line.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
LUA=$(command -v lua5.4 || true)
if [ -z "$LUA" ]; then
    echo "SKIP: lua5.4 is needed for the growing child (a plain interpreter, not a sanitizer build)"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init alert

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# The growing child: a plain Lua interpreter under its own name, so the
# alert matches it alone. It holds 100M for HOLD seconds (forever when
# HOLD is 0), then frees it and idles. Marker files say when.
cp "$LUA" "$TMP/mwgrow"
cat >"$TMP/grow.lua" <<'EOF'
local dir, hold = arg[1], tonumber(arg[2])
local function touch(name) local f = io.open(dir .. "/" .. name, "w") f:close() end
os.execute("sleep 0.3")
touch("growing")
local big = string.rep("x", 100 * 1024 * 1024)
touch("grown")
if hold == 0 then hold = 20 end
os.execute("sleep " .. hold)
big = nil
collectgarbage()
collectgarbage()
touch("freed")
os.execute("sleep 20")
EOF

# --- ALERT, RESOLVED, --exec -------------------------------------------------------
"$MEMWATCH" alert mwgrow --over 50M --for 1s --every 0.2s \
    --exec sh -c 'echo "$MEMWATCH_EVENT|$MEMWATCH_RULE|$MEMWATCH_KEY|$MEMWATCH_COUNT|$MEMWATCH_VALUE|$MEMWATCH_VALUE_HUMAN|$MEMWATCH_THRESHOLD" >>"$0"' \
    "$TMP/exec.log" >"$TMP/out" 2>"$TMP/err" &
ALERT=$!
PIDS+=("$ALERT")
sleep 0.3
(cd "$TMP" && exec ./mwgrow grow.lua "$TMP" 2.5 >/dev/null 2>&1) &
PIDS+=("$!")

# The child crosses 50M somewhere between its "growing" and "grown" marks.
if wait_file "$TMP/growing" 5; then
    growing=$(now)
    wait_file "$TMP/grown" 5
    grown=$(now)
    if wait_for "$TMP/out" " ALERT " 5; then
        t=$(now)
        # sustain (1 s) + two intervals (0.4 s), plus the test's own polling.
        check "le $(elapsed "$grown" "$t") 1.6" "ALERT came $(elapsed "$grown" "$t")s after the child grew (expected <= 1.4s + polling)"
        check "le 1.0 $(elapsed "$growing" "$t")" "ALERT came $(elapsed "$growing" "$t")s after the child started to grow: before the 1s sustain"
    else
        fail "no ALERT line: $(cat "$TMP/out" "$TMP/err")"
    fi
else
    fail "the growing child did not start"
fi
if wait_file "$TMP/freed" 6; then
    freed=$(now)
    if wait_for "$TMP/out" " RESOLVED " 3; then
        t=$(elapsed "$freed" "$(now)")
        check "le $t 0.7" "RESOLVED came ${t}s after the child freed (expected <= 2 intervals + polling)"
    else
        fail "no RESOLVED line: $(cat "$TMP/out")"
    fi
fi
wait_for "$TMP/exec.log" "^resolve" 3

lines=$(wc -l <"$TMP/out")
check "[ $lines -eq 2 ]" "two lines expected, got: $(cat "$TMP/out")"
check "grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2} ALERT mwgrow\[[0-9]+\] [0-9]+ process(es)? [0-9]+\.[0-9]M$' '$TMP/out'" \
    "ALERT line shape: $(head -1 "$TMP/out")"
# The value when it fired: over the threshold, at most the 100M string plus
# the buffer Lua builds it in (a loaded machine can fire mid-build).
alert_mb=$(head -1 "$TMP/out" | sed -n 's/.* \([0-9.]*\)M$/\1/p')
check "le 50 ${alert_mb:-0} && le ${alert_mb:-0} 210" "ALERT value ${alert_mb:-?}M, expected over 50M and at most 210M"
check "grep -Eq '^[0-9-]{10}T[0-9:]{8}[+-][0-9:]{5} RESOLVED mwgrow\[[0-9]+\] [0-9]+ process(es)? [0-9.]+[KM]$' '$TMP/out'" \
    "RESOLVED line shape: $(tail -1 "$TMP/out")"
check "grep -Eq '^alert\|mwgrow\|mwgrow\[[0-9]+\]\|[0-9]+\|[0-9]{8,9}\|[0-9]+\.[0-9]M\|52428800$' '$TMP/exec.log'" \
    "--exec got the alert in its environment: $(cat "$TMP/exec.log")"
check "grep -Eq '^resolve\|mwgrow\|mwgrow\[[0-9]+\]\|' '$TMP/exec.log'" "--exec got the resolve: $(cat "$TMP/exec.log")"
check "grep -q 'watching mwgrow (group app) over 50.0M for 1s, every 0.2s' '$TMP/err'" "header on stderr: $(cat "$TMP/err")"

# SIGTERM stops cleanly (exit 0) and the already RESOLVED state adds nothing.
kill -TERM "$ALERT"
wait "$ALERT"
rc=$?
check "[ $rc -eq 0 ]" "exit status after SIGTERM: $rc"
check "[ $(wc -l <"$TMP/out") -eq 2 ]" "nothing printed on SIGTERM: $(cat "$TMP/out")"

# --- stopping while firing invents no RESOLVED -------------------------------------------
rm -f "$TMP/grown" "$TMP/freed"
(cd "$TMP" && exec ./mwgrow grow.lua "$TMP" 0 >/dev/null 2>&1) &
PIDS+=("$!")
for sig in TERM INT; do
    "$MEMWATCH" alert mwgrow --over 50M --every 0.1s >"$TMP/out.$sig" 2>/dev/null &
    a=$!
    PIDS+=("$a")
    if wait_for "$TMP/out.$sig" " ALERT " 8; then
        kill -"$sig" "$a"
        wait "$a"
        rc=$?
        want=0
        [ "$sig" = INT ] && want=130
        check "[ $rc -eq $want ]" "exit status after SIG$sig: $rc (expected $want)"
        check "! grep -q RESOLVED '$TMP/out.$sig'" "SIG$sig invented a RESOLVED line: $(cat "$TMP/out.$sig")"
    else
        fail "no ALERT while the child holds its memory (SIG$sig run)"
    fi
done

# --- --repeat: ALERT again while still over ------------------------------------------------
"$MEMWATCH" alert mwgrow --over 50M --clear 40M --repeat 0.5s --every 0.1s >"$TMP/out.rep" 2>"$TMP/err.rep" &
a=$!
PIDS+=("$a")
if wait_for "$TMP/out.rep" " ALERT " 8; then
    sleep 1.4
    kill -TERM "$a"
    wait "$a"
    n=$(grep -c ' ALERT ' "$TMP/out.rep")
    check "[ $n -ge 3 ] && [ $n -le 4 ]" "--repeat 0.5s over about 1.4s: $n ALERT lines (expected 3 or 4): $(cat "$TMP/out.rep")"
    check "! grep -q RESOLVED '$TMP/out.rep'" "no RESOLVED while held: $(cat "$TMP/out.rep")"
    check "grep -q '^memwatch alert: watching mwgrow (group app) over 50.0M, every 0.1s; resolves below 40.0M; again every 0.5s while over; Ctrl-C to stop$' '$TMP/err.rep'" \
        "--clear and --repeat in the header: $(cat "$TMP/err.rep")"
else
    fail "no ALERT for the --repeat run: $(cat "$TMP/out.rep" "$TMP/err.rep")"
fi

# --- never silent: no match, what comes close, when the first verdict can come -----------------
# A program whose name is longer than the kernel's 15 bytes, asked for with
# a typo in its tail: the suggestion names it and its executable.
cp "$LUA" "$TMP/mw-leaky-service-long"
(cd "$TMP" && exec ./mw-leaky-service-long -e 'os.execute("sleep 20")' >/dev/null 2>&1) &
LONG=$!
PIDS+=("$LONG")
sleep 0.3
"$MEMWATCH" alert mw-leaky-service-lnog --over 20% --for 1s --every 0.1s --stop-after 0.5s >"$TMP/out.nm" 2>"$TMP/err.nm"
rc=$?
check "[ $rc -eq 0 ] && [ ! -s '$TMP/out.nm' ]" "no match: rc $rc, stdout $(cat "$TMP/out.nm")"
check "grep -Eq '^memwatch alert: watching mw-leaky-service-lnog \(group app\) over 20% \([0-9]+(\.[0-9])?[KMGT]\) for 1s, every 0.1s; Ctrl-C to stop$' '$TMP/err.nm'" \
    "a share of memory printed both ways: $(head -1 "$TMP/err.nm")"
check "[ \"\$(sed -n 2p '$TMP/err.nm')\" = 'memwatch alert: first verdict after 1s over the threshold' ]" \
    "first verdict line: $(sed -n 2p "$TMP/err.nm")"
check "sed -n 3p '$TMP/err.nm' | grep -Eq \"^memwatch alert: no process matches name 'mw-leaky-service-lnog' yet; watching \\(closest: mw-leaky-servic[^[]*\\[$LONG\\], from $TMP/mw-leaky-service-long\\)\$\"" \
    "no match with the closest process: $(sed -n 3p "$TMP/err.nm")"
check "[ \$(wc -l <'$TMP/err.nm') -eq 3 ]" "said once: $(cat "$TMP/err.nm")"
kill "$LONG" 2>/dev/null

# The last matching process goes away: said again, and watching goes on.
cp /bin/sleep "$TMP/mw11brief"
"$TMP/mw11brief" 1 &
PIDS+=("$!")
"$MEMWATCH" alert mw11brief --over 1G --every 0.1s --stop-after 2.5s >/dev/null 2>"$TMP/err.gone"
rc=$?
check "[ $rc -eq 0 ]" "watching went on after the process left: rc $rc"
check "grep -qx \"memwatch alert: no process matches name 'mw11brief' any more; watching\" '$TMP/err.gone'" \
    "the last one going away is said: $(cat "$TMP/err.gone")"
check "! grep -q 'yet; watching' '$TMP/err.gone'" "it matched at the start: $(cat "$TMP/err.gone")"

# --- --stop-after, bad options ---------------------------------------------------------------
"$MEMWATCH" alert no-such-process-name --over 1M --every 0.1s --stop-after 0.3s >"$TMP/quiet" 2>/dev/null
rc=$?
check "[ $rc -eq 0 ] && [ ! -s '$TMP/quiet' ]" "--stop-after: rc $rc, output $(cat "$TMP/quiet")"
"$MEMWATCH" alert mwgrow --over 2Q >/dev/null 2>"$TMP/bad"
rc=$?
check "[ $rc -eq 2 ]" "bad size: exit status $rc"
check "grep -q \"^memwatch alert: --over: invalid size '2Q': expected a number with an optional unit\" '$TMP/bad'" \
    "bad size message: $(head -1 "$TMP/bad")"
"$MEMWATCH" alert mwgrow >/dev/null 2>"$TMP/bad"
rc=$?
check "[ $rc -eq 2 ] && grep -q '^memwatch alert: --over SIZE is required$' '$TMP/bad'" "missing --over: $(head -1 "$TMP/bad")"
"$MEMWATCH" alert mwgrow --over 1M --for -1s >/dev/null 2>"$TMP/bad"
rc=$?
check "[ $rc -eq 2 ] && grep -q \"^memwatch alert: --for: invalid duration '-1s'\" '$TMP/bad'" "negative --for: $(head -1 "$TMP/bad")"
"$MEMWATCH" alert mwgrow --over 1M --exec >/dev/null 2>"$TMP/bad"
rc=$?
check "[ $rc -eq 2 ] && grep -q '^memwatch alert: --exec needs a command$' '$TMP/bad'" "empty --exec: $(head -1 "$TMP/bad")"
"$MEMWATCH" alert a b --over 1M >/dev/null 2>"$TMP/bad"
rc=$?
check "[ $rc -eq 2 ] && grep -q \"^memwatch alert: unexpected argument 'b'$\" '$TMP/bad'" "two names: $(head -1 "$TMP/bad")"
SIZES="expected a number with an optional unit B, K, M, G, T, P or % (of physical memory; binary multiples: 1K = 1024 bytes; KB and KiB mean the same as K)"
bad_alert() { # expected-message ARGS...
    local want=$1
    shift
    "$MEMWATCH" alert "$@" >/dev/null 2>"$TMP/bad"
    rc=$?
    check "[ $rc -eq 2 ]" "alert $*: exit status $rc"
    check "[ \"\$(head -1 '$TMP/bad')\" = \"\$want\" ]" "alert $*: $(head -1 "$TMP/bad") (expected $want)"
}
bad_alert "memwatch alert: --over: invalid size '1.5Q': $SIZES" x --over 1.5Q
bad_alert "memwatch alert: --over: invalid size '120%x': $SIZES" x --over 120%x
bad_alert "memwatch alert: --clear: invalid size '1x': $SIZES" x --over 1G --clear 1x
bad_alert "memwatch alert: --clear 2.0G must be below --over 1.0G: it is the level at which the alert resolves" \
    x --over 1G --clear 2G
bad_alert "memwatch alert: --clear 1.0G must be below --over 1.0G: it is the level at which the alert resolves" \
    x --over 1G --clear 1G
"$MEMWATCH" alert x --over 0.5% --clear 1% >/dev/null 2>"$TMP/bad"
check "head -1 '$TMP/bad' | grep -Eq '^memwatch alert: --clear 1% \([0-9.]+[KMGT]\) must be below --over 0\.5% \([0-9.]+[KMGT]\): it is the level at which the alert resolves$'" \
    "alert --clear above --over in percentages: $(head -1 "$TMP/bad")"
bad_alert "memwatch alert: --repeat must be greater than 0" x --over 1G --repeat 0
bad_alert "memwatch alert: --repeat: invalid duration 'often': expected a number with an optional unit ms, s, m or h (a bare number is seconds)" \
    x --over 1G --repeat often
"$MEMWATCH" alert --help >"$TMP/help"
rc=$?
check "[ $rc -eq 0 ] && grep -q '^usage: memwatch alert \[NAME\] \[selection options\] --over SIZE' '$TMP/help'" "--help"
check "grep -q '^  --clear SIZE ' '$TMP/help' && grep -q '^  --repeat DURATION ' '$TMP/help' && grep -q 'or % of physical memory' '$TMP/help'" \
    "--help names --clear, --repeat and percentages"

mw_test_done
