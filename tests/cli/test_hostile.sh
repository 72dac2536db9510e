#!/usr/bin/env bash
# Hostile input (issue 7 "Hostile input"), through the executable:
#  - processes whose names hold escape sequences (CSI, OSC with BEL), newlines
#    and carriage returns, invalid UTF-8, a C1 control (U+009B, a one-byte CSI)
#    and shell syntax never reach a terminal raw from memwatch ps, top --once,
#    watch, alert, ledger, memwatch.explain, print(record) or the prompt's
#    pretty-printer (a pty from script(1); everything checked by one strict
#    byte checker); the names are shown escaped instead;
#  - actions never pass through a shell: alert --exec and actions.exec get
#    names like "$(touch pwn1)" as data (MEMWATCH_KEY byte for byte) and
#    nothing runs them;
#  - the module search path of the executable has no relative entries, even
#    when LUA_PATH / LUA_CPATH / LUA_PATH_5_4 bring some, and a module in the
#    working directory is not loaded;
#  - memwatch.run with a short seconds limit: an endless rule callback or
#    metric is stopped by the CPU budget, one that allocates without bound by
#    the memory cap, each with a clear message, and the other rules go on.
# Already covered elsewhere (not repeated here): ps --format csv/json/influx/
# prometheus on hostile names checked by python's csv/json parsers and
# promtool (cli_test_format), ps and watch escaping ESC and \n on a pipe and
# ps on a pty (cli_test_cli), the exec argv and MEMWATCH_* environment
# (lua_test_watch_actions), the budget and cap in a replayed engine
# (lua_test_watch_rules), serve's HTTP policy and loopback default
# (cli_test_serve), no ./? entries in the default path (lua_test_noglobals).
# Environment (from ctest): MEMWATCH = the binary, MW_SOURCE_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
[ -x "$MEMWATCH" ] || { echo "MEMWATCH=$MEMWATCH is not executable" >&2; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the byte checker"; exit 77; }

. "$(dirname "$0")/lib.sh"
mw_test_init hostile

has() { # FILE TEXT what: FILE holds TEXT (fixed bytes)
    if grep -qF -- "$2" "$1"; then pass; else fail "$3: $(printf '%q' "$2") not in $(head -c 400 "$1" | od -c | head -5)"; fi
}

# The strict checker: after removing the escapes a command may write on
# purpose (given as Python regexes on bytes) and turning CR+ LF into LF,
# the output must be valid UTF-8 with no control character but LF and
# TAB, and no C1 control. Prints "ok" or what it found.
cat >"$TMP/rawcheck.py" <<'EOF'
import re, sys
data = open(sys.argv[1], 'rb').read()
for allowed in sys.argv[2:]:
    data = re.sub(allowed.encode(), b'', data)
data = re.sub(b'\r+\n', b'\n', data)  # the pty's CRLF, and CSV's own CRLF on a pty
try:
    text = data.decode('utf-8')
except UnicodeDecodeError as e:
    print('invalid UTF-8 at byte %d: %r' % (e.start, data[max(0, e.start - 20):e.start + 20]))
    sys.exit(0)
for i, ch in enumerate(text):
    c = ord(ch)
    if (c < 0x20 and ch not in '\n\t') or 0x7f <= c <= 0x9f:
        print('raw control U+%04X at %d: %r' % (c, i, text[max(0, i - 20):i + 20]))
        sys.exit(0)
print('ok')
EOF
# no_raw FILE WHAT [ALLOWED-REGEX...]
no_raw() {
    local file=$1 what=$2
    shift 2
    local r
    r=$(python3 "$TMP/rawcheck.py" "$file" "$@")
    if [ "$r" = ok ]; then pass; else fail "$what: $r"; fi
}
# on_tty FILE COMMAND...: runs the command on a pty (script from util-linux),
# the transcript in FILE. The command is passed as arguments, never re-parsed.
on_tty() {
    local file=$1
    shift
    MW_ARGV=$(printf '%q ' "$@") SHELL=/bin/bash timeout 20 script -qec 'eval "$MW_ARGV"' /dev/null \
        </dev/null >"$file" 2>&1
}
HAVE_SCRIPT=0
needs script timeout && HAVE_SCRIPT=1

# ---------------------------------------------------------------------------
# Copies of sleep with hostile names (comm: at most 15 bytes).
NAMES=($'\e[2J\e]0;T\a' $'nl\nx\ry' $'bad\xff\xfe\xc0' $'c1\xc2\x9b31m' '$(touch pwn1)' ';touch pwn2' '`touch pwn3`')
# How memwatch.text.printable shows each.
SHOWN=('\x1b[2J\x1b]0;T\x07' 'nl\nx\ry' 'bad\xff\xfe\xc0' 'c1\u{9b}31m' '$(touch pwn1)' ';touch pwn2' '`touch pwn3`')
HOSTILE_PIDS=()
mkdir -p "$TMP/cwd"
for i in "${!NAMES[@]}"; do
    mkdir -p "$TMP/bin$i"
    cp "$(command -v sleep)" "$TMP/bin$i/${NAMES[$i]}"
    "$TMP/bin$i/${NAMES[$i]}" 120 &
    HOSTILE_PIDS+=("$!")
    PIDS+=("$!")
done
for _ in $(seq 100); do
    n=0
    for i in "${!NAMES[@]}"; do
        [ "$(cat "/proc/${HOSTILE_PIDS[$i]}/comm" 2>/dev/null)" = "${NAMES[$i]}" ] && n=$((n + 1))
    done
    [ "$n" -eq "${#NAMES[@]}" ] && break
    sleep 0.02
done
PID_LIST=$(IFS=,; echo "${HOSTILE_PIDS[*]}")

# pwned: any file an injected command would have made.
pwned() { find "$TMP" "$TMP/cwd" /tmp / -maxdepth 1 \( -name 'pwn[0-9]*' -o -name pwned \) 2>/dev/null | head -3; }

# ---------------------------------------------------------------------------
case_ "ps, top --once, watch, ledger, explain on a pipe"
(cd "$TMP/cwd" && "$MEMWATCH" ps >"$TMP/ps" 2>&1 </dev/null)
no_raw "$TMP/ps" "memwatch ps"
(cd "$TMP/cwd" && "$MEMWATCH" top --once --limit=100000 >"$TMP/top" 2>&1 </dev/null)
expect_eq "$?" 0 "top --once exit status: $(head -c 300 "$TMP/top")"
no_raw "$TMP/top" "memwatch top --once"
for i in "${!NAMES[@]}"; do
    has "$TMP/top" "${SHOWN[$i]}" "top --once shows the name escaped"
    has "$TMP/ps" "${SHOWN[$i]}" "ps shows the name escaped"
done
"$MEMWATCH" watch --count=1 --every=0.1s --limit=100000 >"$TMP/watch" 2>&1 </dev/null
no_raw "$TMP/watch" "memwatch watch"
for i in "${!NAMES[@]}"; do
    "$MEMWATCH" ledger "${HOSTILE_PIDS[$i]}" >"$TMP/ledger.$i" 2>&1 </dev/null
    no_raw "$TMP/ledger.$i" "memwatch ledger of ${SHOWN[$i]}"
    "$MEMWATCH" -e "print(memwatch.explain(${HOSTILE_PIDS[$i]})) print(memwatch.process(${HOSTILE_PIDS[$i]}))" \
        >"$TMP/explain.$i" 2>&1 </dev/null
    no_raw "$TMP/explain.$i" "print(memwatch.explain(pid)) and print(record) of ${SHOWN[$i]}"
    has "$TMP/explain.$i" "pid ${HOSTILE_PIDS[$i]} (${SHOWN[$i]}): footprint" "explain shows the name escaped"
    has "$TMP/explain.$i" "process ${HOSTILE_PIDS[$i]} (${SHOWN[$i]}) footprint" "print(record) shows the name escaped"
done

# ---------------------------------------------------------------------------
case_ "the same on a terminal"
if [ "$HAVE_SCRIPT" -eq 1 ]; then
    on_tty "$TMP/tty.ps" "$MEMWATCH" ps
    no_raw "$TMP/tty.ps" "ps on a terminal"
    for f in csv json influx prometheus; do
        on_tty "$TMP/tty.ps.$f" "$MEMWATCH" ps --format=$f
        no_raw "$TMP/tty.ps.$f" "ps --format=$f on a terminal"
    done
    on_tty "$TMP/tty.top" "$MEMWATCH" top --once --limit=100000
    no_raw "$TMP/tty.top" "top --once on a terminal"
    # watch clears the screen before each frame on a terminal: that escape only.
    on_tty "$TMP/tty.watch" "$MEMWATCH" watch --count=1 --every=0.1s --limit=100000
    no_raw "$TMP/tty.watch" "watch on a terminal" '^\x1b\[H\x1b\[2J'
    on_tty "$TMP/tty.ledger" "$MEMWATCH" ledger "${HOSTILE_PIDS[0]}"
    no_raw "$TMP/tty.ledger" "ledger on a terminal"
fi

# ---------------------------------------------------------------------------
case_ "the prompt's pretty-printer"
if [ "$HAVE_SCRIPT" -eq 1 ]; then
    {
        for i in "${!NAMES[@]}"; do
            p=${HOSTILE_PIDS[$i]}
            echo "p = memwatch.process($p, {'cmdline', 'start_time'})"
            echo "p"
            echo "p.name"
            echo "{p.name, n = p.name, [p.name] = true, deeper = {p.name}}"
            echo "{p, x = p}"
            echo "tostring(p)"
            echo "print(p)"
            echo "memwatch.explain($p)"
            echo "print((memwatch.explain($p)))"
        done
        echo "memwatch.processes{pid = {$PID_LIST}}"
        echo "os.exit(0)"
    } >"$TMP/repl.in"
    HOME=$TMP SHELL=/bin/bash MW_ARGV=$(printf '%q' "$MEMWATCH") timeout 30 script -qec 'eval "$MW_ARGV"' /dev/null \
        <"$TMP/repl.in" >"$TMP/tty.repl" 2>&1
    # Allowed: readline's bracketed-paste switches, and the CR it writes to
    # return to the start of the line (a raw CR from a name would also leave
    # its escaped form missing below).
    no_raw "$TMP/tty.repl" "the prompt" '\x1b\[\?2004[hl]' '\r'
    for i in "${!NAMES[@]}"; do
        has "$TMP/tty.repl" "process ${HOSTILE_PIDS[$i]} (${SHOWN[$i]})" "the prompt shows the name escaped"
    done
    has "$TMP/tty.repl" '"\x1b[2J\x1b]0;T\x07"' "a name inside a table is shown as an escaped Lua literal"
fi

# ---------------------------------------------------------------------------
case_ "memwatch alert: lines, and --exec without a shell"
cat >"$TMP/rec.sh" <<'EOF'
#!/bin/sh
# A well-behaved --exec command: writes the event's key, as data, to $1.
printf '%s' "$MEMWATCH_KEY" >"$1"
EOF
chmod +x "$TMP/rec.sh"
ALERTS=()
for i in "${!NAMES[@]}"; do
    if [ "$HAVE_SCRIPT" -eq 1 ]; then
        (cd "$TMP/cwd" && on_tty "$TMP/alert.$i" "$MEMWATCH" alert "${NAMES[$i]}" --over 1 --group none \
            --every 0.2s --stop-after 1.2s --exec "$TMP/rec.sh" "$TMP/key.$i") &
    else
        (cd "$TMP/cwd" && "$MEMWATCH" alert "${NAMES[$i]}" --over 1 --group none --every 0.2s --stop-after 1.2s \
            --exec "$TMP/rec.sh" "$TMP/key.$i" >"$TMP/alert.$i" 2>&1 </dev/null) &
    fi
    ALERTS+=("$!")
done
for p in "${ALERTS[@]}"; do wait "$p"; done
for i in "${!NAMES[@]}"; do
    no_raw "$TMP/alert.$i" "alert ${SHOWN[$i]}"
    has "$TMP/alert.$i" " ALERT ${SHOWN[$i]}[${HOSTILE_PIDS[$i]}] 1 process " "the alert line shows the name escaped"
    for _ in $(seq 50); do [ -e "$TMP/key.$i" ] && break; sleep 0.02; done
    printf '%s[%s]' "${NAMES[$i]}" "${HOSTILE_PIDS[$i]}" >"$TMP/key.want.$i"
    check "cmp -s '$TMP/key.$i' '$TMP/key.want.$i'" "--exec got MEMWATCH_KEY byte for byte for ${SHOWN[$i]}"
done
expect_eq "$(pwned)" "" "no file made by a name run as a command"
expect_eq "$(ls -A "$TMP/cwd")" "" "nothing created in memwatch's working directory"

# ---------------------------------------------------------------------------
case_ "actions in a script: exec, log, signal dry run"
cat >"$TMP/actions.lua" <<'EOF'
local dir = arg[1]
local A = memwatch.actions
for i = 2, #arg do
    local name, n = arg[i], i - 1
    memwatch.watch {
        name = "hostile " .. n, select = { name = name }, above = 1,
        on_alert = {
            A.exec { "sh", "-c", 'printf "%s" "$MEMWATCH_KEY" > "$1"', "sh", dir .. "/akey." .. n },
            A.exec { "touch", dir .. "/ran." .. n },
            A.exec { "printf", "%s", name .. "$(touch pwn9)" },
            A.log(),
            A.signal { signal = "TERM" }, -- dry run: says what it would do
        },
    }
end
memwatch.run { seconds = 1, every = "0.2s" }
EOF
(cd "$TMP/cwd" && "$MEMWATCH" "$TMP/actions.lua" "$TMP" "${NAMES[@]}" >"$TMP/actions.out" 2>"$TMP/actions.err" </dev/null)
expect_eq "$?" 0 "the actions script: $(head -c 300 "$TMP/actions.err")"
no_raw "$TMP/actions.err" "actions.log and the signal dry run on stderr"
for i in "${!NAMES[@]}"; do
    n=$((i + 1))
    for _ in $(seq 50); do [ -e "$TMP/akey.$n" ] && [ -e "$TMP/ran.$n" ] && break; sleep 0.02; done
    check "[ -e '$TMP/ran.$n' ]" "actions.exec ran its command for ${SHOWN[$i]}"
    check "cmp -s '$TMP/akey.$n' '$TMP/key.want.$i'" "actions.exec: MEMWATCH_KEY byte for byte for ${SHOWN[$i]}"
    has "$TMP/actions.err" " ALERT ${SHOWN[$i]}[${HOSTILE_PIDS[$i]}] 1 process " "actions.log shows the name escaped"
    has "$TMP/actions.err" "rule 'hostile $n' (footprint above" "actions.log names the rule"
    has "$TMP/actions.err" "would send SIGTERM to pid ${HOSTILE_PIDS[$i]} (${SHOWN[$i]})" "the signal dry run shows the name escaped"
done
expect_eq "$(pwned)" "" "no file made by a name or an argument run as a command"
expect_eq "$(ls -A "$TMP/cwd")" "" "nothing created in memwatch's working directory"

# ---------------------------------------------------------------------------
case_ "module search path"
mkdir -p "$TMP/cwd/rel" "$TMP/scriptdir"
for d in "$TMP/cwd" "$TMP/cwd/rel" "$TMP/scriptdir"; do
    printf 'io.open(%q, "w"):close() return {}\n' "$TMP/evil-loaded" >"$d/evilmod.lua"
done
cat >"$TMP/scriptdir/paths.lua" <<'EOF'
local bad = {}
for _, field in ipairs { "path", "cpath" } do
    for entry in package[field]:gmatch("[^;]+") do
        if entry:sub(1, 1) ~= "/" then bad[#bad + 1] = field .. ": " .. entry end
    end
end
local ok = pcall(require, "evilmod")
print((#bad == 0 and "absolute" or table.concat(bad, ", ")) .. " " .. (ok and "loaded" or "not loaded"))
EOF
for var in LUA_PATH LUA_PATH_5_4; do
    out=$(cd "$TMP/cwd" && env "$var=./?.lua;?.lua;rel/?.lua;../cwd/?.lua;;" "LUA_CPATH=./?.so;rel/?.so;;" \
        "LUA_CPATH_5_4=?.so;;" "$MEMWATCH" "$TMP/scriptdir/paths.lua" 2>&1 </dev/null)
    expect_eq "$out" "absolute not loaded" "$var with relative entries: every entry absolute, no module from ./"
    out=$(cd "$TMP/cwd" && env "$var=./?.lua;?.lua;rel/?.lua;../cwd/?.lua;;" "$MEMWATCH" -e \
        'for e in package.path:gmatch("[^;]+") do if e:sub(1, 1) ~= "/" then print(e) end end
         print((pcall(require, "evilmod")))' 2>&1 </dev/null)
    expect_eq "$out" "false" "$var with memwatch -e: no relative entry, nothing loaded"
done
out=$(cd "$TMP/cwd" && "$MEMWATCH" "$TMP/scriptdir/paths.lua" 2>&1 </dev/null)
expect_eq "$out" "absolute not loaded" "default paths, a module beside the script and in the working directory"
check "[ ! -e '$TMP/evil-loaded' ]" "no evilmod.lua was ever loaded"

# ---------------------------------------------------------------------------
case_ "runaway rules: CPU budget and memory cap in memwatch.run"
cat >"$TMP/runaway.lua" <<'EOF'
local me = memwatch.self().pid
local ok_alerts, ok_metric, spins = 0, 0, 0
local sel = { pid = me }
memwatch.watch { name = "spin", select = sel, above = 1,
    on_alert = function() while true do end end }
memwatch.watch { name = "hog", select = sel, above = 1,
    on_alert = function() local t = {} for i = 1, math.huge do t[i] = { i, tostring(i) } end end }
memwatch.watch { name = "rep", select = sel, above = 1,
    on_alert = function() return string.rep("x", 1 << 30) end }
memwatch.watch { name = "spin metric", select = sel, above = 1,
    metric = function() spins = spins + 1 while true do end end }
memwatch.watch { name = "fine", select = sel, above = 1, repeat_every = "0.2s",
    metric = function(p) ok_metric = ok_metric + 1 return p.footprint end,
    on_alert = function() ok_alerts = ok_alerts + 1 end }
local t0 = memwatch.now()
local result = memwatch.run { seconds = 3, every = "0.2s", memory_limit = "32M" }
print(string.format("result %s elapsed %.1f fine_alerts %d fine_metric %d spins %d", result, memwatch.now() - t0,
    ok_alerts, ok_metric, spins))
EOF
T0=$(date +%s%N)
(cd "$TMP/cwd" && "$MEMWATCH" "$TMP/runaway.lua" >"$TMP/run.out" 2>"$TMP/run.err" </dev/null)
RC=$?
T1=$(date +%s%N)
expect_eq "$RC" 0 "exit status: $(head -c 400 "$TMP/run.err")"
S=$TMP/runaway.lua
expect_eq "$(grep -c "^memwatch: rule 'spin': on_alert stopped: $S:5: CPU budget exceeded (more than 10000000 instructions)\$" "$TMP/run.err")" 1 \
    "the endless callback is stopped by the CPU budget, said once: $(cat "$TMP/run.err")"
expect_eq "$(grep -c "^memwatch: rule 'hog': on_alert stopped: the interpreter memory cap of 32.0M was reached (not enough memory)\$" "$TMP/run.err")" 1 \
    "the endless allocation is stopped by the memory cap, said once"
expect_eq "$(grep -c "^memwatch: rule 'rep': on_alert stopped: the interpreter memory cap of 32.0M was reached (not enough memory)\$" "$TMP/run.err")" 1 \
    "one huge allocation is refused by the memory cap"
expect_eq "$(grep -c "^memwatch: rule 'spin metric': metric stopped: $S:11: CPU budget exceeded (more than 10000000 instructions)\$" "$TMP/run.err")" 1 \
    "an endless metric function is stopped by the CPU budget"
expect_eq "$(wc -l <"$TMP/run.err")" 4 "nothing else on stderr"
read -r _ result _ _ _ fine_alerts _ fine_metric _ spins <"$TMP/run.out"
expect_eq "$result" elapsed "memwatch.run returns after its seconds: $(cat "$TMP/run.out")"
# Every tick ran the endless metric (stopped each time) and then the fine
# rule; a slow machine has fewer ticks, never a fine rule left out.
check "[ '${spins:-0}' -ge 3 ] && [ '${fine_metric:-0}' -eq '${spins:-0}' ] && [ '${fine_alerts:-0}' -ge 2 ]" \
    "the other rule ran on every tick: $(cat "$TMP/run.out")"
MS=$(((T1 - T0) / 1000000))
check "[ $MS -lt 12000 ]" "the run took ${MS} ms for a 3 s limit"

# Only a time budget: the message gives the CPU seconds.
cat >"$TMP/slow.lua" <<'EOF'
memwatch.watch { name = "slow", select = { pid = memwatch.self().pid }, above = 1,
    on_alert = function() while true do end end }
memwatch.run { seconds = 0.5, every = "0.1s", budget = 0, budget_time = 0.2 }
print("after run")
EOF
"$MEMWATCH" "$TMP/slow.lua" >"$TMP/slow.out" 2>"$TMP/slow.err" </dev/null
expect_eq "$?" 0 "time budget run"
expect_eq "$(cat "$TMP/slow.err")" "memwatch: rule 'slow': on_alert stopped: $TMP/slow.lua:2: CPU budget exceeded (more than 0.2 s of CPU time)" \
    "the CPU-time budget message"
expect_eq "$(cat "$TMP/slow.out")" "after run" "the script goes on after memwatch.run"

mw_test_done
