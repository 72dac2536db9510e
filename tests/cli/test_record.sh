#!/usr/bin/env bash
# memwatch record, replay and plot (issue 6), end to end: record a real child
# that grows to 100M and frees again; the file is JSON Lines with a header;
# replaying an alert rule over it prints ALERT then RESOLVED at the recorded
# times of the samples that crossed the line; SIGTERM and Ctrl-C stop a
# recorder cleanly; appending checks the header; bad files and options give
# exact errors; plot draws a well-formed SVG naming the child, with a size
# unit on the axis (without gnuplot those checks do not run and the test
# ends SKIPPED).
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
set -u
export LC_ALL=C
export TZ=UTC

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
LUA=$(command -v lua5.4 || true)
if [ -z "$LUA" ]; then
    echo "SKIP: lua5.4 is needed for the growing child (a plain interpreter, not a sanitizer build)"
    exit 77
fi
if ! command -v python3 >/dev/null; then
    echo "SKIP: python3 is needed to check the JSON and the SVG"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init record

# same ACTUAL EXPECTED WHAT
same() { if [ "$1" == "$2" ]; then ok; else fail "$3: expected [$2], got [$1]"; fi; }

# The child: a plain Lua interpreter under its own name. 0.6 s small, then
# 100M for 1.2 s, then small again.
cp "$LUA" "$TMP/mwrecgrow"
cat >"$TMP/grow.lua" <<'EOF'
os.execute("sleep 0.6")
local big = string.rep("x", 100 * 1024 * 1024)
os.execute("sleep 1.2")
big = nil
collectgarbage()
collectgarbage()
os.execute("sleep 8")
EOF
"$TMP/mwrecgrow" "$TMP/grow.lua" >/dev/null 2>&1 &
CHILD=$!
PIDS+=("$CHILD")

# Two more recorders of the same child, stopped by SIGTERM and by SIGINT.
"$MEMWATCH" record "$TMP/term.jsonl" --name mwrecgrow --every 0.1s >"$TMP/term.out" 2>"$TMP/term.err" &
TERM_PID=$!
PIDS+=("$TERM_PID")
"$MEMWATCH" record "$TMP/int.jsonl" --name mwrecgrow --every 0.1s >"$TMP/int.out" 2>"$TMP/int.err" &
INT_PID=$!
PIDS+=("$INT_PID")

# --- record -----------------------------------------------------------------------------
"$MEMWATCH" record "$TMP/rec.jsonl" --name mwrecgrow --every 0.2s --duration 5s --fields rss_anon \
    >"$TMP/rec.out" 2>"$TMP/rec.err"
same "$?" 0 "record exit status"
same "$(cat "$TMP/rec.err")" "memwatch record: recording footprint, resident, swap, rss_anon every 0.2s to $TMP/rec.jsonl; Ctrl-C to stop" "record's stderr"
same "$(wc -l <"$TMP/rec.jsonl")" 27 "a header and 26 samples (0 to 5 s every 0.2 s)"

python3 - "$TMP/rec.jsonl" "$CHILD" >"$TMP/py.out" 2>&1 <<'EOF'
import json, sys, socket
path, child = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(path)]
h = lines[0]
assert h["memwatch"] == "recording" and h["format"] == 2, h
assert h["fields"] == ["footprint", "resident", "swap", "rss_anon"], h["fields"]
assert h["every"] == 0.2 and h["select"] == {"name": ["mwrecgrow"]}, h
m = h["machine"]
assert m["hostname"] == socket.gethostname(), m
for k in ("platform", "kernel", "os", "memory_total", "page_size"):
    assert k in m, k
assert isinstance(m["memory_total"], int) and m["page_size"] >= 4096, m
monos = []
for s in lines[1:]:
    assert set(s) == {"t", "mono", "processes"}, s
    monos.append(s["mono"])
    for p in s["processes"]:
        assert p["pid"] == child and p["name"] == "mwrecgrow", p
        for k in ("start_time", "ppid", "user", "uid", "footprint", "resident", "swap", "rss_anon"):
            assert k in p, k
        assert isinstance(p["footprint"], int)
assert monos == sorted(monos) and monos[0] < 0.1 and 4.9 < monos[-1] < 5.3, monos
big = [s for s in lines[1:] if any(p["footprint"] > 50 * 2**20 for p in s["processes"])]
# 1.2 s at 100M, sampled every 0.2 s: at least 4 samples, more when a loaded
# machine holds the child up; the recording goes on 3 s past it.
assert 4 <= len(big) <= 20, len(big)
last_big = max(i for i, s in enumerate(lines[1:]) if s in big)
assert any(p["footprint"] < 50 * 2**20 for s in lines[2 + last_big:] for p in s["processes"]), "never small again"
print("ok")
EOF
same "$(cat "$TMP/py.out")" ok "the recording's header and samples (python3's json)"

# --- replay -------------------------------------------------------------------------------
cat >"$TMP/rules.lua" <<'EOF'
memwatch.watch {
    name = "grow", select = { name = "mwrecgrow" }, above = "50M", every = "0.2s",
    on_alert = memwatch.actions.exec { "touch", arg[1] },
}
memwatch.run()
EOF
"$MEMWATCH" replay "$TMP/rec.jsonl" "$TMP/rules.lua" "$TMP/exec-ran" >"$TMP/replay.out" 2>"$TMP/replay.err"
same "$?" 0 "replay exit status"
check "[ ! -e '$TMP/exec-ran' ]" "an exec action ran during the replay"
# The expected lines, from the recording: the first sample over 50M, the first one after it back under.
python3 - "$TMP/rec.jsonl" "$CHILD" "$TMP/rec.jsonl" >"$TMP/expected" <<'EOF'
import json, sys, time
lines = [json.loads(l) for l in open(sys.argv[1])][1:]
child = int(sys.argv[2])
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(int(t)))
over = None
for s in lines:
    fp = sum(p["footprint"] for p in s["processes"])
    if over is None and fp > 50 * 2**20:
        over = s
        print(iso(s["t"]), "ALERT rule 'grow' mwrecgrow[%d] footprint" % child)
        print("    exec (not run): touch", sys.argv[3].replace("rec.jsonl", "exec-ran"), " [MEMWATCH_EVENT=alert")
    elif over is not None and fp <= 50 * 2**20:
        print(iso(s["t"]), "RESOLVED rule 'grow' mwrecgrow[%d] footprint" % child)
        break
EOF
# Each expected line is the start of the replay's line at that position.
mapfile -t WANT <"$TMP/expected"
mapfile -t GOT <"$TMP/replay.out"
same "${#WANT[@]}" 3 "python found the alert and the resolve in the recording"
for i in 0 1 2; do
    same "${GOT[$i]:0:${#WANT[$i]}}" "${WANT[$i]}" "replay line $((i + 1))"
done
same "${GOT[3]:0:18}" "summary: 26 sample" "replay summary"
same "${GOT[4]}" "summary: rule 'grow': 1 alert, 1 resolve" "replay rule summary"
same "$(cat "$TMP/replay.err")" "" "replay's stderr"
"$MEMWATCH" replay "$TMP/rec.jsonl" "$TMP/rules.lua" x --utc --rule grow >"$TMP/utc.out" 2>&1
same "$(head -c 20 "$TMP/utc.out" | tail -c 1)" Z "--utc prints UTC times"

# --- signals stop recorders cleanly; the files stay readable ----------------------------------
kill -TERM "$TERM_PID"
wait "$TERM_PID"
same "$?" 0 "record exits 0 on SIGTERM"
check "grep -q '^memwatch record: stopped (SIGTERM) after [0-9]* samples$' '$TMP/term.err'" \
    "SIGTERM message: $(cat "$TMP/term.err")"
kill -INT "$INT_PID"
wait "$INT_PID"
same "$?" 130 "record exits 130 on Ctrl-C"
check "grep -q '^memwatch record: stopped (SIGINT) after [0-9]* samples$' '$TMP/int.err'" \
    "SIGINT message: $(cat "$TMP/int.err")"
check "python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' '$TMP/term.jsonl'" \
    "a recording stopped by SIGTERM is valid JSON Lines"

# --- appending: a new segment; other fields refused ---------------------------------------------
"$MEMWATCH" record "$TMP/term.jsonl" --name mwrecgrow --count 2 --every 0.1s 2>/dev/null
same "$?" 0 "appending with the same fields"
same "$(grep -c '"memwatch":"recording"' "$TMP/term.jsonl")" 2 "the append wrote a second header"
"$MEMWATCH" record "$TMP/term.jsonl" --fields pss --count 1 >/dev/null 2>"$TMP/append.err"
same "$?" 1 "appending other fields fails"
HLINE=$(grep -n '"memwatch":"recording"' "$TMP/term.jsonl" | tail -1 | cut -d: -f1)
same "$(cat "$TMP/append.err")" "memwatch record: $TMP/term.jsonl:$HLINE: records the fields footprint,resident,swap, this run asks for footprint,resident,swap,pss: give the same --fields or record into another file" "append mismatch message"

# --- bad files and options ----------------------------------------------------------------------
{ head -3 "$TMP/rec.jsonl"; echo '{"mono": 5, oops'; tail -2 "$TMP/rec.jsonl"; } >"$TMP/corrupt.jsonl"
"$MEMWATCH" replay "$TMP/corrupt.jsonl" "$TMP/rules.lua" >/dev/null 2>"$TMP/corrupt.err"
same "$?" 1 "a corrupt line fails the replay"
same "$(cut -c1-200 "$TMP/corrupt.err")" "memwatch replay: $TMP/corrupt.jsonl:4: not a JSON line (string or '}' expected near 'oops' at line 1, column 16)" "corrupt line message"
"$MEMWATCH" replay /etc/passwd "$TMP/rules.lua" >/dev/null 2>"$TMP/foreign.err"
same "$?" 1 "a foreign file fails the replay"
same "$(cat "$TMP/foreign.err")" "memwatch replay: /etc/passwd:1: not a memwatch recording (the first line is not JSON)" "foreign file message"
{ head -5 "$TMP/rec.jsonl"; sed -n 6p "$TMP/rec.jsonl" | head -c 40; } >"$TMP/cut.jsonl"
"$MEMWATCH" replay "$TMP/cut.jsonl" "$TMP/rules.lua" >/dev/null 2>"$TMP/cut.err"
same "$?" 0 "a recording whose last line was cut short replays"
same "$(cat "$TMP/cut.err")" "memwatch replay: $TMP/cut.jsonl:6: skipped a line cut short (the recorder was stopped while writing it)" "cut line warning"
"$MEMWATCH" replay "$TMP/rec.jsonl" >/dev/null 2>"$TMP/usage.err"
same "$?" 2 "replay without a rules script"
same "$(head -1 "$TMP/usage.err")" "memwatch replay: expected a RULES.lua script after the recording" "replay usage message"
"$MEMWATCH" replay "$TMP/rec.jsonl" "$TMP/rules.lua" --rule nope >/dev/null 2>"$TMP/rule.err"
same "$?" 2 "replay --rule naming no rule"
same "$(head -1 "$TMP/rule.err")" "memwatch replay: --rule 'nope': $TMP/rules.lua has no rule of that name (its rules: 'grow')" "--rule message"
"$MEMWATCH" record "$TMP/x.jsonl" --every 0 2>"$TMP/every.err"
same "$?" 2 "record --every 0"
same "$(head -1 "$TMP/every.err")" "memwatch record: --every must be greater than 0" "--every message"
"$MEMWATCH" record 2>"$TMP/nofile.err"
same "$?" 2 "record without FILE"
same "$(head -1 "$TMP/nofile.err")" "memwatch record: expected the recording FILE" "record usage message"
"$MEMWATCH" record "$TMP/x.jsonl" --user no-such-user-here 2>"$TMP/user.err"
same "$(head -1 "$TMP/user.err")" "memwatch record: selection: no such user 'no-such-user-here'" "unknown user"
check "[ ! -e '$TMP/x.jsonl' ]" "a refused record writes no file"

# --- plot ------------------------------------------------------------------------------------------
PATH=/nonexistent "$MEMWATCH" plot "$TMP/rec.jsonl" -o "$TMP/none.svg" 2>"$TMP/nognuplot.err"
same "$?" 1 "plot without gnuplot"
same "$(cat "$TMP/nognuplot.err")" "memwatch plot: gnuplot was not found in PATH; install it (Debian: apt install gnuplot-nox; Homebrew: brew install gnuplot)" "missing gnuplot message"
"$MEMWATCH" plot "$TMP/rec.jsonl" 2>"$TMP/noout.err"
same "$?" 2 "plot without -o"
same "$(head -1 "$TMP/noout.err")" "memwatch plot: -o CHART.svg is required" "plot usage message"
if needs gnuplot; then
    "$MEMWATCH" plot "$TMP/rec.jsonl" --name mwrecgrow -o "$TMP/chart it's.svg" 2>"$TMP/plot.err"
    same "$?" 0 "plot exit status"
    same "$(cat "$TMP/plot.err")" "memwatch plot: wrote $TMP/chart it's.svg: 1 line, 26 samples" "plot message"
    python3 - "$TMP/chart it's.svg" "$CHILD" >"$TMP/svg.out" 2>&1 <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag.endswith("svg"), root.tag
texts = ["".join(t.itertext()) for t in root.iter() if t.tag.endswith("text")]
assert "mwrecgrow[%s]" % sys.argv[2] in texts, texts
assert "footprint (MiB)" in texts, texts
# The unit once, in the label: the ticks are plain numbers.
assert any(t.strip().isdigit() and int(t) >= 50 for t in texts), texts
assert not any(t.strip()[:-1].isdigit() and t.strip()[-1:] in "KMGT" for t in texts), texts
print("ok")
EOF
    same "$(cat "$TMP/svg.out")" ok "the SVG is well-formed, names the child and labels sizes in MiB once"
    # Hostile names (ESC, a bad byte, a newline, quotes, markup) still give well-formed SVG.
    cat >"$TMP/hostile.lua" <<'EOF'
local R = require "memwatch.record"
local h = R.header { every = 1, fields = { "footprint", "resident", "swap" }, start = 1764064800.0 }
local w = assert(R.open(arg[1], h))
for i = 0, 3 do
    assert(w:sample(1764064800.0 + i, i + 0.0, {
        R.row({ pid = 1, ppid = 0, name = "\u{fc}n <&> 'q\"", footprint = (i + 1) << 20, start_time = 1.0 }, h.fields),
        R.row({ pid = 2, ppid = 0, name = "ev\27[1mil\255\n", footprint = (i + 2) << 30, start_time = 1.0 }, h.fields) }))
end
w:close()
EOF
    "$MEMWATCH" "$TMP/hostile.lua" "$TMP/hostile.jsonl"
    "$MEMWATCH" plot "$TMP/hostile.jsonl" -o "$TMP/hostile.svg" 2>/dev/null
    same "$?" 0 "plot of hostile names"
    python3 - "$TMP/hostile.svg" >"$TMP/hsvg.out" 2>&1 <<'EOF'
import sys, xml.etree.ElementTree as ET
texts = ["".join(t.itertext()) for t in ET.parse(sys.argv[1]).getroot().iter() if t.tag.endswith("text")]
assert "ev\\x1b[1mil\\xff\\n[2]" in texts, texts
assert "\u00fcn <&> 'q\"[1]" in texts, texts
assert "footprint (GiB)" in texts, texts
print("ok")
EOF
    same "$(cat "$TMP/hsvg.out")" ok "hostile names: escaped, well-formed, GiB axis"
    "$MEMWATCH" plot "$TMP/rec.jsonl" --name nothing-like-this -o "$TMP/empty.svg" 2>"$TMP/empty.err"
    same "$?" 1 "plot of nothing"
    same "$(cat "$TMP/empty.err")" "memwatch plot: $TMP/rec.jsonl: no footprint values for the selected processes" "empty plot message"
fi

mw_test_done
