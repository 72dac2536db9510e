-- Record and replay (issue 6): the recording format (writing, appending,
-- reading back byte-exact names), the replay of a rules script over a
-- recorded fixture with a leak and spikes (exact event lines, growth slope
-- and ETA, `every` on the recorded timeline, actions that only report),
-- every malformed file with FILE:LINE, and the plot's series and gnuplot
-- text. Deterministic: the fixture is tests/fixtures/recordings/leak_spike.jsonl
-- (made by make_leak_spike.py next to it).
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq = T.check, T.eq

local R = require "memwatch.record"
local RP = require "memwatch.record.replay"
local P = require "memwatch.record.plot"
local W = require "memwatch.watch"
local A = require "memwatch.actions"
local json = require "memwatch.json"

local here = arg[0]:match("^(.*)/") or "."
local FIX = (os.getenv("MW_FIXTURES") or (here .. "/../fixtures")) .. "/recordings"
local FILE = FIX .. "/leak_spike.jsonl"
local RULES = FIX .. "/rules.lua"
local EXAMPLES = (os.getenv("MW_SOURCE_DIR") or (here .. "/../..")) .. "/scripts/examples"
local MB = 1024 * 1024

local tmpdir = T.sh("mktemp -d \"${TMPDIR:-/tmp}/mw-rec-test.XXXXXX\"")
T.cleanup(function() os.execute("rm -rf '" .. tmpdir .. "'") end)
local n_tmp = 0
local function tmpfile(content, name)
    n_tmp = n_tmp + 1
    local path = tmpdir .. "/" .. (name or ("f" .. n_tmp))
    if content then
        local f = assert(io.open(path, "wb"))
        f:write(content)
        f:close()
    end
    return path
end

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

-- replay(...) -> lines (stdout), warnings; or nil, error
local function replay(o)
    local lines, warnings = {}, {}
    o.out = function(l) lines[#lines + 1] = l end
    o.warn = function(l) warnings[#warnings + 1] = l end
    if o.utc == nil then o.utc = true end
    local ok, err = pcall(RP.replay, o)
    if not ok then return nil, err, warnings end
    return lines, warnings
end

local function header(over)
    local h = R.header { every = 10, fields = { "footprint", "resident", "swap" }, start = 1764064800.0,
        machine = { hostname = "h1", platform = "linux", kernel = "6.1", os = "Debian", memory_total = 8 * 1024 * MB,
            page_size = 4096 } }
    for k, v in pairs(over or {}) do h[k] = v end
    return R.encode(h)
end

local function sample(mono, procs)
    return R.encode({ t = 1764064800.0 + mono, mono = mono + 0.0, processes = procs or {
        { pid = 10, ppid = 1, name = "app", start_time = 1000.5, uid = 1000, user = "alice", footprint = 60 * MB } } })
end

local function err_text(e)
    return R.is_error(e) and e.message or ("not a recording error: " .. tostring(e))
end

local CUT = FILE .. ":183: skipped a line cut short (the recorder was stopped while writing it)"

-- ---- replay of the fixture -------------------------------------------------------------

T.test("the fixture through example-like rules: exact events, actions reported, summary", function()
    local lines, warnings = replay { path = FILE, script = RULES, args = { "hello" } }
    local want = {
        "2025-11-25T10:00:00Z ALERT rule 'steady tree' steady[6000] footprint 80.0M (above 70.0M) 2 processes",
        "    signal (not sent): SIGTERM to pid 6000 (steady), then SIGKILL after 10s if it is still running",
        "    signal (not sent): SIGTERM to pid 6001 (worker), then SIGKILL after 10s if it is still running",
        "2025-11-25T10:10:00Z ALERT rule 'leak' leaky[4242] footprint grows 126.5M/h (r2 0.87, threshold 60.0M/h) " ..
            "limit 1.0G in 7h07m 1 process",
        "    notify (not sent): memwatch: alert: leaky[4242]: footprint 123.0M (growth 60.0M/h), 1 process",
        "2025-11-25T10:10:30Z ALERT rule 'spike' spiky[5151] footprint 900.0M (above 600.0M) 1 process",
        "    exec (not run): logger -t memwatch  [MEMWATCH_EVENT=alert MEMWATCH_KEY=spiky[5151] " ..
            "MEMWATCH_VALUE=943718400]",
        "2025-11-25T10:12:00Z RESOLVED rule 'spike' spiky[5151] footprint 200.0M (above 600.0M) 1 process",
        "    log (not written to /nonexistent/dir/memwatch.log): 2025-11-25T10:12:00Z RESOLVED spiky[5151] " ..
            "1 process 200.0M rule 'spike' (footprint above 600.0M)",
        "2025-11-25T10:29:30Z ALERT rule 'spike' spiky[5151] footprint 700.0M (above 600.0M) 1 process",
        "    exec (not run): logger -t memwatch  [MEMWATCH_EVENT=alert MEMWATCH_KEY=spiky[5151] " ..
            "MEMWATCH_VALUE=734003200]",
        "2025-11-25T10:30:00Z -- no samples for 5m00s (the recorder was not running); resumed at line 185",
        "2025-11-25T10:35:00Z RESOLVED rule 'spike' spiky[5151] footprint 0B (above 600.0M) 0 processes (gone)",
        "    log (not written to /nonexistent/dir/memwatch.log): 2025-11-25T10:35:00Z RESOLVED spiky[5151] " ..
            "0 processes 0B rule 'spike' (footprint above 600.0M) (gone)",
        "summary: 212 samples from 2025-11-25T10:00:00Z to 2025-11-25T10:40:00Z (40m00s) in 2 segments",
        "summary: rule 'spike': 2 alerts, 2 resolves",
        "summary: rule 'leak': 1 alert, 0 resolves; still firing at the end: leaky[4242]",
        "summary: rule 'steady tree': 1 alert, 0 resolves; still firing at the end: steady[6000]",
    }
    check(lines ~= nil, "replay failed: " .. tostring(warnings))
    lines = lines or {}
    for i = 1, math.max(#want, #lines) do eq(lines[i], want[i], "line " .. i) end
    eq(table.concat(warnings, "\n"), CUT)
    -- The replay leaves the real actions, the default engine and arg as they were.
    eq(A.iso_time(0):sub(1, 4), "1970")
    check(A.exec ~= nil and A.log ~= nil)
    local e = W.default()
    eq(#e.rules, 0, "rules of the replay are not in the live default engine")
end)

T.test("--rule keeps one rule; an unknown one names the rules there are", function()
    local lines = replay { path = FILE, script = RULES, rules = { "leak" } }
    eq(#lines, 5)
    eq(lines[1]:sub(1, 40), "2025-11-25T10:10:00Z ALERT rule 'leak' l")
    eq(lines[5], "summary: rule 'leak': 1 alert, 0 resolves; still firing at the end: leaky[4242]")
    local l2, err = replay { path = FILE, script = RULES, rules = { "leak", "nope" } }
    eq(l2, nil)
    eq(type(err) == "table" and err.usage, "--rule 'nope': " .. RULES .. " has no rule of that name (its rules: " ..
        "'spike', 'leak', 'steady tree')")
end)

T.test("the shipped leak_detector example over the recording, with its arguments", function()
    local lines = replay { path = FILE, script = EXAMPLES .. "/leak_detector.lua",
        args = { "leaky", "10m", "60M/h", "1G", "30s" } }
    eq(lines[1], "2025-11-25T10:10:00Z ALERT rule 'leaky leak' leaky[4242] footprint grows 126.5M/h (r2 0.87, " ..
        "threshold 60.0M/h) limit 1.0G in 7h07m 1 process")
    eq(lines[#lines], "summary: rule 'leaky leak': 1 alert, 0 resolves; still firing at the end: leaky[4242]")
end)

T.test("a share of memory is of the recorded machine's memory", function()
    local script = tmpfile([[
memwatch.watch { name = "share", select = { name = "spiky" }, above = "10%", every = "10s" }
memwatch.run()
]])
    local lines, err = replay { path = FILE, script = script }
    check(lines ~= nil, tostring(err))
    lines = lines or {}
    eq(lines[1], "2025-11-25T10:10:00Z ALERT rule 'share' spiky[5151] footprint 900.0M (above 10% (819.2M)) 1 process")
    -- A recording that does not say how much memory its machine had.
    local h = header()
    h = h:gsub(',?"memory_total":%d+', "")
    local file = tmpfile(h .. "\n" .. sample(0) .. "\n")
    local l2, e2 = replay { path = file, script = script }
    eq(l2, nil)
    check(tostring(e2):find("memwatch.watch: rule 'share': 'above': '10%' is a share of physical memory, whose " ..
        "size is unknown here (give a size such as \"4G\")", 1, true), tostring(e2))
end)

T.test("a rule's every runs on the recorded timeline", function()
    -- every 1m over a 10 s recording: ticks at :00 of each minute see the
    -- sample recorded then; the gap is skipped, not caught up.
    local script = tmpfile([[
memwatch.watch { name = "minutely", select = { name = "spiky" }, above = "600M", every = "1m" }
memwatch.run()
]])
    local lines = replay { path = FILE, script = script }
    eq(table.concat(lines, "\n"), table.concat({
        "2025-11-25T10:10:00Z ALERT rule 'minutely' spiky[5151] footprint 900.0M (above 600.0M) 1 process",
        "2025-11-25T10:12:00Z RESOLVED rule 'minutely' spiky[5151] footprint 200.0M (above 600.0M) 1 process",
        "2025-11-25T10:29:00Z ALERT rule 'minutely' spiky[5151] footprint 700.0M (above 600.0M) 1 process",
        "2025-11-25T10:30:00Z -- no samples for 5m00s (the recorder was not running); resumed at line 185",
        "2025-11-25T10:35:00Z RESOLVED rule 'minutely' spiky[5151] footprint 0B (above 600.0M) 0 processes (gone)",
        "summary: 212 samples from 2025-11-25T10:00:00Z to 2025-11-25T10:40:00Z (40m00s) in 2 segments",
        "summary: rule 'minutely': 2 alerts, 2 resolves",
    }, "\n"))
    -- A sustain of 3 samples at 10 s: the first spike holds from 10:10:00.
    local s2 = tmpfile([[
memwatch.watch { name = "n", select = { name = "spiky" }, above = "600M", sustain = 3, every = "10s" }
memwatch.run()
]])
    local l2 = replay { path = FILE, script = s2, rules = { "n" } }
    eq(l2[1], "2025-11-25T10:10:20Z ALERT rule 'n' spiky[5151] footprint 900.0M (above 600.0M) 1 process")
end)

T.test("memwatch.run(seconds) on the recorded clock; a script without memwatch.run()", function()
    local script = tmpfile([[
local res = package.loaded["test.replay.results"]
memwatch.watch { name = "big", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = function(ev) res[#res + 1] = "alert " .. ev.key .. " " .. ev.time end }
local function run(a)
    local why = memwatch.run(a)
    res[#res + 1] = why
end
run("5m")
run(300)
run()
res[#res + 1] = "after the end"
run() -- raises: the script ends here
res[#res + 1] = "never"
]])
    local results = {}
    package.loaded["test.replay.results"] = results
    local lines = replay { path = FILE, script = script }
    package.loaded["test.replay.results"] = nil
    -- 0-5m, 5m-10m: nothing; the rest: the 10:10 and 10:29 spikes, then the end.
    eq(table.concat(results, "|"), "elapsed|elapsed|alert spiky[5151] 1764065400.0|alert spiky[5151] 1764066540.0|" ..
        "stopped|after the end")
    eq(lines[#lines], "summary: rule 'big': 2 alerts, 2 resolves")
    -- Stopping early says so.
    local early = tmpfile([[
memwatch.watch { name = "big", select = { name = "spiky" }, above = "600M", every = "10s" }
memwatch.run("1m")
]])
    local l2 = replay { path = FILE, script = early }
    eq(l2[1], "summary: 7 samples from 2025-11-25T10:00:00Z to 2025-11-25T10:01:00Z (1m00s) in 1 segment; " ..
        "the script stopped before the end of the recording")
    -- Rules without memwatch.run() (as for serve --rules) are run all the same.
    local norun = tmpfile([[memwatch.watch { name = "big", select = { name = "spiky" }, above = "600M" }]])
    local l3 = replay { path = FILE, script = norun }
    eq(l3[#l3], "summary: rule 'big': 2 alerts, 2 resolves")
end)

T.test("the script's own functions see the recording: memwatch.now, os.time, os.date, memwatch.processes, " ..
    "memwatch.process", function()
    local script = tmpfile([[
local out = package.loaded["test.replay.seen"]
local function say(line) out[#out + 1] = line end
local seen = {}
local function look(where)
    local spiky = memwatch.processes { name = "spiky" }
    local alice = memwatch.processes { user = "alice" }
    local svc = memwatch.processes { user = 998, match = "^wor" }
    local p = memwatch.process(5151)
    say(string.format("%s: now %.1f time %d %s spiky %d %s alice %d svc %s all %d; 5151 %s %s", where,
        memwatch.now(), os.time(), os.date("!%H:%M:%S"), #spiky, spiky[1] and memwatch.bytes(spiky[1].footprint)
        or "-", #alice, svc[1] and svc[1].name or "-", #memwatch.processes(), p.name, memwatch.bytes(p.footprint)))
    seen[#seen + 1] = spiky[1]
end
look("start")
memwatch.watch { name = "big", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = function() look("alert") end, on_resolve = function() look("resolve") end }
memwatch.run("15m")
look("after 15m")
-- a record handed out is the script's own: changing it changes nothing recorded
seen[1].footprint = 0
say(string.format("os.time{...} is the real function: %d", os.time { year = 2000, month = 1, day = 1, hour = 0 }))
say("os.date with a time: " .. os.date("!%Y-%m-%d", 0))
say("not recorded pid: " .. table.concat({ tostring(select(1, memwatch.process(1))),
    tostring(select(2, memwatch.process(1))), tostring(select(3, memwatch.process(1))) }, " "))
local ok, err = pcall(memwatch.processes, { nmae = "x" })
say("bad filter: " .. tostring(not ok) .. " " .. tostring(err):gsub("^.-: memwatch", "memwatch"))
ok, err = pcall(memwatch.processes, { exe = "/usr/bin/spiky" })
say("not recorded: " .. tostring(not ok) .. " " .. tostring(err):gsub("^.-: memwatch", "memwatch"))
]])
    local out = {}
    package.loaded["test.replay.seen"] = out
    local lines, err = replay { path = FILE, script = script }
    package.loaded["test.replay.seen"] = nil
    check(lines, tostring(err))
    eq(out[1], "start: now 1764064800.0 time 1764064800 10:00:00 spiky 1 200.0M alice 3 svc worker all 5; " ..
        "5151 spiky 200.0M")
    eq(out[2], "alert: now 1764065400.0 time 1764065400 10:10:00 spiky 1 900.0M alice 3 svc worker all 5; " ..
        "5151 spiky 900.0M")
    eq(out[3], "resolve: now 1764065520.0 time 1764065520 10:12:00 spiky 1 200.0M alice 3 svc worker all 5; " ..
        "5151 spiky 200.0M")
    eq(out[4], "after 15m: now 1764065700.0 time 1764065700 10:15:00 spiky 1 200.0M alice 3 svc worker all 5; " ..
        "5151 spiky 200.0M")
    eq(out[5], string.format("os.time{...} is the real function: %d",
        os.time { year = 2000, month = 1, day = 1, hour = 0 }))
    eq(table.remove(out, 6), "os.date with a time: 1970-01-01")
    eq(table.remove(out, 6), "not recorded pid: nil pid 1: not in the recording at this sample 3")
    eq(out[6], "bad filter: true memwatch.processes: unknown filter key 'nmae' " ..
        "(expected name, exe, match, user, pid, pidfile, unit, container)")
    eq(out[7], "not recorded: true memwatch.processes: filter 'exe' cannot be answered from a recording " ..
        "(replays select by name, match, user and pid)")
    -- the live functions are back
    check(math.abs(os.time() - os.time(os.date("*t"))) <= 1 and os.time() > 1764066000, "os.time() is live again")
    eq(memwatch.now, require("memwatch.core").now, "memwatch.now restored")
    eq(memwatch.processes, require("memwatch.scan").processes, "memwatch.processes restored")
    check(os.date("%Y") ~= "2025" or os.time() < 1767225600, "os.date is live again")
    check(memwatch.process(memwatch.self().pid), "memwatch.process is live again")
    -- ... also when the script fails
    local bad = tmpfile("memwatch.watch { name = 'x', above = 1 }\nerror('boom')\n")
    check(not replay { path = FILE, script = bad }, "the script's error ends the replay")
    eq(memwatch.now, require("memwatch.core").now, "memwatch.now restored after an error")
    eq(memwatch.processes, require("memwatch.scan").processes, "memwatch.processes restored after an error")
    check(os.time() > 1764066000, "os.time() restored after an error")
end)

T.test("actions do nothing during a replay: no command runs, no log file is written", function()
    local marker, logfile = tmpfile(nil), tmpfile(nil)
    local script = tmpfile(string.format([[
memwatch.watch { name = "spike", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = { memwatch.actions.exec { "touch", %q }, memwatch.actions.notify { title = "it's big" } },
    on_resolve = memwatch.actions.log { file = %q, format = function(ev) return "custom " .. ev.kind end } }
memwatch.watch { name = "kill", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = memwatch.actions.signal { signal = "KILL" } }
memwatch.run()
]], marker, logfile))
    local lines = replay { path = FILE, script = script }
    check(not exists(marker), "exec ran during a replay")
    check(not exists(logfile), "log opened its file during a replay")
    eq(lines[2], "    exec (not run): touch " .. marker .. "  [MEMWATCH_EVENT=alert MEMWATCH_KEY=spiky[5151] " ..
        "MEMWATCH_VALUE=943718400]")
    eq(lines[3], "    notify (not sent): it's big: spiky[5151]: footprint 900.0M (above 600.0M), 1 process")
    eq(lines[5], "    signal (dry run in the rules: not even live): SIGKILL to pid 5151 (spiky)")
    eq(lines[7], "    log (not written to " .. logfile .. "): custom resolve")
    -- Bad action options fail as they do live, at the script's line.
    local bad = tmpfile([[
memwatch.watch { name = "x", above = "1G",
    on_alert = memwatch.actions.exec { "true", bogus = 1 } }
]])
    local l2, err = replay { path = FILE, script = bad }
    eq(l2, nil)
    eq(tostring(err), bad .. ":2: memwatch.actions.exec: unknown option 'bogus' (expected env)")
    -- A program this machine lacks is no error in a replay (the recording
    -- may come from one that has it): it is shown as it would run.
    local elsewhere = tmpfile([[
memwatch.watch { name = "x", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = memwatch.actions.exec { "memwatch-no-such-program", "--page" } }
]])
    local l4 = replay { path = FILE, script = elsewhere }
    eq(l4[2], "    exec (not run): memwatch-no-such-program --page  [MEMWATCH_EVENT=alert " ..
        "MEMWATCH_KEY=spiky[5151] MEMWATCH_VALUE=943718400]")
end)

T.test("alertmanager and webhook actions send nothing during a replay: they show the request", function()
    local script = tmpfile([[
memwatch.watch { name = "spike", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = { memwatch.actions.alertmanager { url = "http://127.0.0.1:1/?token=s3cr3t", instance = "h1",
        labels = { team = "ops" } },
        memwatch.actions.webhook { url = "http://127.0.0.1:1/hook", body = "ntfy", instance = "h1" } } }
memwatch.run()
]])
    local lines = replay { path = FILE, script = script }
    eq(lines[2], "    alertmanager (not sent to http://127.0.0.1:1/api/v2/alerts?token=***): " ..
        '[{"annotations":{"pids":"5151","processes":"1","summary":"ALERT rule \'spike\' spiky[5151]: footprint ' ..
        '900.0M (above 600.0M), 1 process on h1","threshold":"600.0M","value":"900.0M"},' ..
        '"endsAt":"2025-11-25T10:14:00.000Z","labels":{"alertname":"spike","grouping":"none","instance":"h1",' ..
        '"key":"spiky[5151]","team":"ops"},"startsAt":"2025-11-25T10:10:00.000Z"}]')
    eq(lines[3], "    webhook (not sent to http://127.0.0.1:1/hook): POST [Title: memwatch ALERT: spike, " ..
        "Priority: high, Tags: warning] ALERT rule 'spike' spiky[5151]: footprint 900.0M (above 600.0M), 1 " ..
        "process on h1")
    local bad = tmpfile([[
memwatch.watch { name = "x", above = "1G",
    on_alert = memwatch.actions.webhook { url = "ftp://x" } }
]])
    local l2, err = replay { path = FILE, script = bad }
    eq(l2, nil)
    eq(tostring(err), bad .. ":2: memwatch.actions.webhook: 'url': 'ftp://x' is not an http:// or https:// URL")
end)

T.test("rules reading fields the recording lacks are named; script errors keep file:line", function()
    local script = tmpfile([[
memwatch.watch { name = "p", metric = "pss", above = "1G" }
memwatch.watch { name = "a", select = { name = "spiky" }, group = "app", above = "1G" }
memwatch.watch { name = "m", select = { match = "^spi" }, above = "1G" }
memwatch.run()
]])
    local lines, warnings = replay { path = FILE, script = script }
    check(lines ~= nil)
    eq(table.concat(warnings, "\n"), table.concat({
        "rule 'p' uses 'pss', which " .. FILE .. " does not record (record with --fields pss): it cannot fire",
        "rule 'a' groups by app, but " .. FILE .. " has no app keys (record with --fields app): grouped by " ..
            "same-name process trees instead",
        "rule 'm' matches '^spi' on command lines too, which " .. FILE .. " does not record (record with " ..
            "--fields cmdline): matched on names only",
        CUT,
    }, "\n"))
    local bad = tmpfile("memwatch.watch { name = 'x', abov = '1G' }\n")
    local _, err = replay { path = FILE, script = bad }
    eq(tostring(err), bad .. ":1: memwatch.watch: rule 'x': unknown key 'abov' (expected name, select, group, " ..
        "metric, fields, above, below, sustain, clear, repeat_every, every, growth, on_alert, on_resolve, explain)")
    local none = tmpfile("local x = 1\n")
    _, err = replay { path = FILE, script = none }
    eq(tostring(err), none .. " registers no rules (memwatch.watch{...})")
    _, err = replay { path = FILE, script = tmpdir .. "/missing.lua" }
    eq(tostring(err), "cannot open " .. tmpdir .. "/missing.lua: No such file or directory")
end)

-- ---- malformed files ---------------------------------------------------------------------------

T.test("truncated, corrupt and foreign files: exact errors with FILE:LINE", function()
    local rules = tmpfile("memwatch.watch { name = 'x', above = '1G' }\nmemwatch.run()\n")
    local function fails(content, want)
        local path = tmpfile(content)
        local _, err = replay { path = path, script = rules }
        eq(err_text(err), (want:gsub("FILE", path)))
    end
    fails("", "FILE: empty file: not a memwatch recording")
    fails("hello\n", "FILE:1: not a memwatch recording (the first line is not JSON)")
    fails('{"a":1}\n', "FILE:1: not a memwatch recording (the first line is not a recording header)")
    fails(header { format = 3 } .. "\n", "FILE:1: recording format 3 is newer than this memwatch reads (2)")
    fails(header { format = "x" } .. "\n", "FILE:1: recording header without a valid 'format' (expected 2)")
    fails(header { format = 0 } .. "\n", "FILE:1: recording header without a valid 'format' (expected 2)")
    fails(header() .. "\n" .. sample(0, { { pid = 1, kernel_thread = 1 } }) .. "\n",
        "FILE:2: process 1: 'kernel_thread' must be true or false")
    fails(header { start = "soon" } .. "\n", "FILE:1: recording header without a 'start' time")
    fails(header() .. "\n", "FILE: no samples (only a header): nothing to replay")
    fails(header() .. "\n" .. sample(0) .. "\n{garbage\n" .. sample(20) .. "\n",
        "FILE:3: not a JSON line (string or '}' expected near 'garbage' at line 1, column 8)")
    fails(header() .. "\n" .. sample(0) .. "\n\n" .. sample(20) .. "\n", "FILE:3: empty line")
    fails(header() .. '\n{"mono":0.0}\n',
        'FILE:2: not a sample: expected {"t": seconds, "mono": seconds, "processes": [...]}')
    fails(header() .. "\n" .. sample(0, { { name = "x" } }) .. "\n", "FILE:2: process 1 has no integer 'pid'")
    fails(header() .. "\n" .. sample(0, { { pid = 1, footprint = "big" } }) .. "\n",
        "FILE:2: process 1: 'footprint' must be a number")
    fails(header() .. "\n" .. sample(0, { { pid = 1, name = 5 } }) .. "\n",
        "FILE:2: process 1: 'name' must be a string")
    fails(header() .. "\n" .. sample(0, { { pid = 1, raw = { name = "zz" } } }) .. "\n",
        "FILE:2: process 1: 'raw.name' is not the hex of a name")
    fails(header() .. "\n" .. sample(10) .. "\n" .. sample(0) .. "\n", "FILE:3: time goes backwards (mono 0 after 10)")
    -- A last line cut short (a recorder killed while writing) is skipped, with a warning.
    local path = tmpfile(header() .. "\n" .. sample(0) .. "\n" .. sample(10):sub(1, 30))
    local lines, warnings = replay { path = path, script = rules }
    eq(lines and lines[1], "summary: 1 sample from 2025-11-25T10:00:00Z to 2025-11-25T10:00:00Z (0s) in 1 segment")
    eq(warnings[1], path .. ":3: skipped a line cut short (the recorder was stopped while writing it)")
end)

-- ---- writing and appending --------------------------------------------------------------------

T.test("record writes a header segment per run; appending checks host, format and fields", function()
    local path = tmpfile(nil)
    local h = R.header { every = 1, fields = { "footprint", "resident", "swap" }, start = 1764064800.0 }
    eq(h.memwatch, "recording")
    eq(h.format, 2)
    eq(h.start_iso, "2025-11-25T10:00:00Z")
    eq(type(h.machine.hostname), "string")
    eq(h.machine.platform, require("memwatch.core").platform)
    check(math.type(h.machine.memory_total) == "integer" and h.machine.memory_total > 0, "memory_total")
    check(math.type(h.machine.page_size) == "integer" and h.machine.page_size >= 4096, "page_size")
    check(type(h.machine.kernel) == "string" and #h.machine.kernel > 0, "kernel")
    local w = assert(R.open(path, h))
    local odd = "bad\255name\n\27[1m"
    local rec = { pid = 42, ppid = 1, name = odd, user = "alice", uid = 1000, start_time = 1700000000.5,
        footprint = 5 * 1024 ^ 4 // 1, resident = 3, swap = 0, pss = 7 }
    assert(w:sample(1764064800.25, 0.0, { R.row(rec, h.fields) }))
    assert(w:sample(1764064801.25, 1.0, {}))
    w:close()
    -- A second run appends a segment; other fields, another host or a newer format are refused.
    local w2 = assert(R.open(path, h))
    assert(w2:sample(1764064900.0, 0.0, {}))
    w2:close()
    local other = R.header { every = 1, fields = { "footprint", "resident", "swap", "pss" }, start = 1 }
    local _, ok, err
    ok, err = R.open(path, other)
    eq(ok, nil)
    eq(err, path .. ":4: records the fields footprint,resident,swap, this run asks for " ..
        "footprint,resident,swap,pss: give the same --fields or record into another file")
    local elsewhere = R.header { every = 1, fields = h.fields, start = 1,
        machine = { hostname = "elsewhere" } }
    _, err = R.open(path, elsewhere)
    eq(err, path .. ":4: recorded on host '" .. h.machine.hostname ..
        "', this is 'elsewhere': record into another file")
    local newer = tmpfile(header { format = 3 } .. "\n")
    _, err = R.open(newer, R.header { every = 1, fields = h.fields, start = 1, machine = { hostname = "h1" } })
    eq(err, newer .. ":1: recording format 3, this memwatch writes format 2: record into another file")
    -- A format-1 file is read, but not appended to: its names mean comm.
    local older = tmpfile(header { format = 1 } .. "\n")
    _, err = R.open(older, R.header { every = 1, fields = h.fields, start = 1, machine = { hostname = "h1" } })
    eq(err, older .. ":1: recording format 1, this memwatch writes format 2: record into another file")
    _, err = R.open("/etc/hostname", h)
    eq(err, "/etc/hostname:1: not a memwatch recording (the first line is not a recording header)")
    _, err = R.open(tmpdir .. "/no/such/dir/x.jsonl", h)
    eq(err, "cannot open " .. tmpdir .. "/no/such/dir/x.jsonl: No such file or directory")
    -- Read back: exact integers, byte-exact names, two segments on one timeline.
    local r = assert(R.reader(path))
    local s1 = r:next()
    eq(s1.processes[1].name, odd)
    eq(s1.processes[1].footprint, 5 * 1024 ^ 4 // 1)
    eq(s1.processes[1].start_time, 1700000000.5)
    eq(s1.processes[1].pss, nil, "only the header's fields are written")
    eq(s1.now, 1764064800.0)
    local s2 = r:next()
    eq(#s2.processes, 0, "an empty process list reads back empty")
    local s3 = r:next()
    eq(s3.segment, 2)
    eq(s3.first_of_segment, true)
    eq(r:next(), nil)
    eq(#r.segments, 2)
    r:close()
    -- The line on disk is valid JSON with the raw bytes in hex.
    local f = io.open(path)
    f:read("l")
    local line = json.decode(f:read("l"))
    f:close()
    eq(line.processes[1].raw.name, "626164ff6e616d650a1b5b316d")
    -- A file whose last line was cut short gets it ended before the new header.
    local cut = tmpfile(header { machine = h.machine } .. "\n" .. sample(0):sub(1, 20))
    local w3 = assert(R.open(cut, h))
    eq(w3.cut, true)
    w3:close()
    local lines, err2, warnings = replay { path = cut, script = tmpfile("memwatch.watch{above = 1}") }
    eq(lines, nil)
    eq(err_text(err2), cut .. ": no samples (only a header): nothing to replay")
    eq(warnings[1], cut .. ":2: skipped a line cut short (the recorder was stopped while writing it)")
end)

T.test("format 2 carries comm and the kernel-thread flag; format 1 (the fixture) reads with comm = name",
    function()
    local path = tmpfile(nil)
    local h = R.header { every = 1, fields = { "footprint" }, start = 1764064800.0, machine = { hostname = "h1" } }
    local w = assert(R.open(path, h))
    local long = { pid = 7, ppid = 1, name = "my-leaky-service-long", comm = "my-leaky-servic", footprint = 5 }
    local same = { pid = 8, ppid = 1, name = "sshd", comm = "sshd", footprint = 6 }
    local kthread = { pid = 2, ppid = 0, name = "kthreadd", comm = "kthreadd", kernel_thread = true }
    local rows = { R.row(long, h.fields), R.row(same, h.fields), R.row(kthread, h.fields) }
    eq(rows[1].comm, "my-leaky-servic")
    eq(rows[2].comm, nil, "comm is written only when it differs from the name")
    eq(rows[3].kernel_thread, true)
    assert(w:sample(1764064800.0, 0.0, rows))
    w:close()
    local f = assert(io.open(path))
    local text = f:read("a")
    f:close()
    check(text:find('"format":2', 1, true), "format 2 header")
    check(text:find('"comm":"my-leaky-servic"', 1, true), "comm written")
    check(text:find('"kernel_thread":true', 1, true), "kernel-thread flag written")
    local s = assert(R.reader(path)):next()
    eq(s.processes[1].name, "my-leaky-service-long")
    eq(s.processes[1].comm, "my-leaky-servic")
    eq(s.processes[2].comm, "sshd")
    eq(s.processes[3].kernel_thread, true)
    eq(s.processes[1].kernel_thread, nil)
    -- The fixture is format 1: still read, each name standing for comm too.
    local r = assert(R.reader(FILE))
    local s1 = r:next()
    eq(r.header.format, 1)
    eq(s1.processes[1].name, "leaky")
    eq(s1.processes[1].comm, "leaky")
end)

T.test("--fields: the defaults first, extras once each, unknown ones named", function()
    eq(table.concat(assert(R.check_fields { "pss,uss", "pss", "app" }), ","), "footprint,resident,swap,pss,uss,app")
    local _, ok, err
    ok, err = R.check_fields { "pss,bogus" }
    eq(ok, nil)
    eq(err:sub(1, 43), "--fields: unknown field 'bogus' (expected a")
    _, err = R.check_fields { "pss,," }
    eq(err, "--fields: empty field name")
end)

-- ---- plot -------------------------------------------------------------------------------------

T.test("plot: series per process and per group, units, gnuplot quoting and data", function()
    local res = P.series { path = FILE, warn = function() end }
    eq(#res.times, 212)
    eq(res.hostname, "fixture-host")
    local keys = {}
    for i, s in ipairs(res.series) do keys[i] = s.key end
    eq(table.concat(keys, ","), "spiky[5151],leaky[4242],steady[6000],worker[6001],evil\27[31m\255[7000]")
    eq(res.series[1].max, 900 * MB)
    eq(res.breaks[182], true, "sample 182 starts the second segment")
    eq(res.breaks[181], nil)
    local tree = P.series { path = FILE, group = "tree", filters = { { name = "steady" } }, warn = function() end }
    eq(#tree.series, 1)
    eq(tree.series[1].key, "steady[6000]")
    eq(tree.series[1].values[1], 80 * MB)
    local users = P.series { path = FILE, group = "user", warn = function() end }
    eq(users.series[2].key, "svc")
    eq(users.series[2].max, 80 * MB)
    -- Units by the maximum.
    eq(table.concat({ P.unit(900 * MB) }, " "), "M MiB 1048576.0")
    eq(select(1, P.unit(3 * 1024 ^ 3)), "G")
    eq(select(1, P.unit(1000)), "B")
    -- Names: printable, single-quoted, quotes doubled (no escapes in gnuplot's '...').
    eq(P.quote("evil\27[31m\255 it's"), "'evil\\x1b[31m\\xff it''s'")
    -- The data: x in (shifted) epoch seconds, y scaled; a break at the gap.
    local data = P.data(res, { res.series[1] }, MB, true)
    eq(data:sub(1, 52), "# spiky[5151]\n1764064800.000 200\n1764064810.000 200\n")
    check(data:find("1764066600.000 700\n\n$") ~= nil, "spiky has no points in segment 2, where it is gone")
    local leaky = P.data(res, { res.series[2] }, MB, true)
    check(leaky:find("1764066600.000 [%d.]+\n\n1764066900.000") ~= nil, "a blank line breaks the line at the gap")
    local local_time = P.data(res, { res.series[2] }, MB, false)
    eq(local_time:match("\n(%d+)"), string.format("%d", 1764064800 + P.utc_offset(1764064800)),
        "local time: x shifted by the UTC offset")
    local script = P.script { output = "/tmp/it's.svg", data = "/tmp/d", series = { res.series[1], res.series[5] },
        field = "footprint", unit = "M", unit_name = "MiB", title = "t", first = res.times[1], last = res.times[212],
        utc = true }
    check(script:find("set output '/tmp/it''s.svg'\n", 1, true) ~= nil, "output path quoted")
    check(script:find("set ylabel 'footprint (MiB)'\nset format y '%g'\n", 1, true) ~= nil,
        "the unit once, in the label; plain numbers on the ticks")
    check(script:find("set xlabel 'time from 2025-11-25 (UTC)'\n", 1, true) ~= nil, "x label")
    check(script:find("set format x '%H:%M'\n", 1, true) ~= nil, "45 minutes: hours and minutes")
    check(script:find("plot '/tmp/d' index 0 using 1:2 with lines linewidth 2 linecolor rgb '#f3c300' " ..
        "title 'spiky[5151]', \\\n     '' index 1 using 1:2 with lines linewidth 2 linecolor rgb '#875692' " ..
        "title 'evil\\x1b[31m\\xff[7000]'\n", 1, true) ~= nil, "plot line: " .. script)
    check(script:find("noenhanced", 1, true) ~= nil, "no enhanced-text markup in names")
    local _, err = pcall(P.series, { path = FILE, field = "pss", warn = function() end })
    eq(err_text(err), FILE .. " does not record 'pss' (it records footprint, resident, swap)")
end)

T.test("plot: as many distinct colours as lines", function()
    for _, n in ipairs { 1, 5, 20, 21, 60 } do
        local p, seen = P.palette(n), {}
        eq(#p, n, "palette(" .. n .. ")")
        for _, c in ipairs(p) do
            check(c:match("^#%x%x%x%x%x%x$") ~= nil, "colour " .. c)
            check(not seen[c], "colour " .. c .. " twice in palette(" .. n .. ")")
            seen[c] = true
        end
    end
    eq(P.palette(2)[1], "#f3c300")
    local many = {}
    for i = 1, 25 do many[i] = { key = "p" .. i } end
    local script = P.script { output = "o.svg", data = "d", series = many, field = "footprint", unit = "M",
        unit_name = "MiB", title = "t", first = 0, last = 60, utc = true }
    local used = {}
    for c in script:gmatch("linecolor rgb '(#%x+)'") do used[#used + 1] = c end
    eq(#used, 25, "every line has its colour")
end)

T.test("plot: gnuplot's errors as one line", function()
    local script = "set terminal svg\nset output '/no/dir/c.svg'\nplot 'd' index 0 using 1:2\n"
    eq(P.gnuplot_error("set output '/no/dir/c.svg'\n                 ^\n" ..
        "\"/tmp/lua_x\" line 2: cannot open file; output not changed\nsystem error: No such file or directory\n",
        script, "/no/dir/c.svg"), "cannot write /no/dir/c.svg: No such file or directory")
    eq(P.gnuplot_error("\"/tmp/lua_x\" line 3: warning: Cannot find or open file \"d\"\n" ..
        "\"/tmp/lua_x\" line 3: No data in plot\n", script, "c.svg"), "gnuplot: No data in plot")
    eq(P.gnuplot_error("Segmentation fault\n", script, "c.svg"), "gnuplot: Segmentation fault")
    eq(P.gnuplot_error("", script, "c.svg"), nil)
end)

T.done()
