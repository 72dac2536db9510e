-- Watch actions (issue 4): log, exec, notify, signal (dry run, refusals,
-- TERM then KILL), and memwatch.explain(pid). The events come from an
-- engine replaying a recorded scan; the commands and signals are real.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local W = require "memwatch.watch"
local A = require "memwatch.actions"
local core = require "memwatch.core"
local MB = 1024 * 1024

local said = {}
A.warn = function(line) said[#said + 1] = line end

local tmpdir = T.sh("mktemp -d")
T.cleanup(function() os.execute("rm -rf '" .. tmpdir .. "'") end)

local function read(path)
    local f = io.open(path, "r")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

-- Runs one rule over one scan; returns the engine's reports.
local function fire(def, recs, ticks)
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    function clock.time() return 1764064800 + clock.t end -- 2025-11-25T10:00:00Z
    local reports = {}
    local e = W.engine {
        clock = clock, every = 1, memory_limit = 0,
        sampler = function() return recs end,
        report = function(line) reports[#reports + 1] = line end,
    }
    def.name = def.name or "big"
    def.above = def.above or "50M"
    e:watch(def)
    e:run(ticks or 1)
    return reports
end

local app = { { pid = 10, ppid = 1, name = "app", start_time = 1010.0, footprint = 60 * MB, uid = 0 } }

T.test("log: one line per state change, to a file, flushed", function()
    local path = tmpdir .. "/log.txt"
    local log = A.log { file = path }
    fire({ on_alert = log, on_resolve = log }, app)
    local text = read(path)
    check(text:find("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d ALERT app%[10%] 1 process 60%.0M " ..
        "rule 'big' %(footprint above 50%.0M%)\n$"), text)
    check(A.iso_time(0):find("^19[67]%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d$"), "ISO-8601 with a numeric offset")
    raises_exactly(function() A.log { file = tmpdir .. "/no/such/dir/x" } end,
        "memwatch.actions.log: cannot open " .. tmpdir .. "/no/such/dir/x: No such file or directory")
    raises_exactly(function() A.log { fil = "x" } end,
        "memwatch.actions.log: unknown option 'fil' (expected file, format)")
    local custom = tmpdir .. "/custom.txt"
    fire({ on_alert = A.log { file = custom, format = function(ev) return ev.kind .. " " .. ev.key end } }, app)
    eq(read(custom), "alert app[10]\n")
end)

T.test("exec: argv without a shell, the event in MEMWATCH_* variables", function()
    local out = tmpdir .. "/env.txt"
    local recs = { { pid = 10, ppid = 1, name = "a$(touch x);`id`", start_time = 1010.0, footprint = 60 * MB } }
    local reports = fire({ on_alert = A.exec { "sh", "-c", 'env | grep "^MEMWATCH_" | sort > "$1"', "sh", out,
        env = { EXTRA = "yes", MEMWATCH_TIME = false } } }, recs)
    eq(#reports, 0, table.concat(reports, "\n"))
    local text = T.wait_until(function()
        local s = read(out)
        return s and s:find("MEMWATCH_VALUE=") and s
    end)
    local env = {}
    for k, v in (text or ""):gmatch("(MEMWATCH_[%w_]+)=([^\n]*)") do env[k] = v end
    eq(env.MEMWATCH_EVENT, "alert")
    eq(env.MEMWATCH_RULE, "big")
    eq(env.MEMWATCH_KEY, "a$(touch x);`id`[10]", "passed as data, never run")
    eq(env.MEMWATCH_VALUE, tostring(60 * MB))
    eq(env.MEMWATCH_VALUE_HUMAN, "60.0M")
    eq(env.MEMWATCH_THRESHOLD, tostring(50 * MB))
    eq(env.MEMWATCH_THRESHOLD_HUMAN, "50.0M")
    eq(env.MEMWATCH_METRIC, "footprint")
    eq(env.MEMWATCH_COUNT, "1")
    eq(env.MEMWATCH_PIDS, "10")
    eq(env.MEMWATCH_REPEAT, "0")
    check(env.MEMWATCH_SINCE and env.MEMWATCH_SINCE:find("^%d%d%d%d%-%d%d%-%d%dT"),
        "since: " .. tostring(env.MEMWATCH_SINCE))
    eq(env.MEMWATCH_TIME, nil, "env = {NAME = false} removes a variable")
    eq(env.MEMWATCH_SLOPE, nil, "growth variables only for growth rules")
    -- Commands are reaped by the engine's ticks; a failure is reported.
    said = {}
    fire({ on_alert = A.exec { "sh", "-c", "exit 3" } }, app)
    T.wait_until(function()
        A.poll(0)
        return #A.children() == 0
    end)
    eq(said[#said], "action 'sh' exited with status 3")
    -- A program that is not there: said when the action is made, at the
    -- caller's line, naming the PATH searched.
    local path = os.getenv("PATH") or "/usr/bin:/bin"
    local line = debug.getinfo(1, "l").currentline + 1
    local ok, err = pcall(function() local _ = A.exec { "memwatch-no-such-program", "arg" } end)
    eq(ok, false)
    eq(err, string.format("%s:%d: memwatch.actions.exec: 'memwatch-no-such-program' not found in PATH (%s)",
        debug.getinfo(1, "S").short_src, line, path))
    raises_exactly(function() A.exec { "/nonexistent/memwatch-tool" } end,
        "memwatch.actions.exec: '/nonexistent/memwatch-tool' not found")
    -- One that is there but cannot run: reported when it fires.
    local notexec = os.tmpname()
    local r = fire({ on_alert = A.exec { notexec } }, app)
    os.remove(notexec)
    eq(r[1], "memwatch: rule 'big': on_alert: exec: " .. notexec .. ": Permission denied")
    raises_exactly(function() A.exec {} end, "memwatch.actions.exec: the command is empty")
    raises_exactly(function() A.exec { "ls", 3 } end, "memwatch.actions.exec: argument 2 must be a string, got number")
    raises_exactly(function() A.exec "ls -l" end,
        "memwatch.actions.exec: expected a list {program, args...}, got string")
    raises_exactly(function() A.exec { "ls", envv = {} } end,
        "memwatch.actions.exec: unknown option 'envv' (expected env)")
end)

T.test("notify: a clear warning once when the tool is missing; argv when present", function()
    said = {}
    local missing = A.notify { command = tmpdir .. "/no-notify-send" }
    local reports = fire({ on_alert = missing, on_resolve = missing, repeat_every = 1 }, app, 3)
    eq(#reports, 0)
    eq(#said, 1, "said once")
    eq(said[1], "notify: " .. tmpdir .. "/no-notify-send was not found in PATH, so desktop notifications are " ..
        "off (Debian: apt install libnotify-bin)")
    local tool, out = tmpdir .. "/fake-notify", tmpdir .. "/notify.txt"
    local f = assert(io.open(tool, "w"))
    f:write('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "' .. out .. '"\n')
    f:close()
    os.execute("chmod +x '" .. tool .. "'")
    fire({ on_alert = A.notify { command = tool, urgency = "critical" } }, app)
    local text = T.wait_until(function() return read(out) end)
    eq(text, "--app-name=memwatch\n--urgency=critical\nmemwatch: alert\napp[10]: footprint 60.0M (above 50.0M), " ..
        "1 process\n")
    raises_exactly(function() A.notify { urgency = "loud" } end,
        "memwatch.actions.notify: 'urgency' must be low, normal or critical, got loud")
end)

T.test("signal: dry run by default; never memwatch, its ancestors or pid 1", function()
    local lines = {}
    local me, parent = core.getpid(), core.getppid()
    local recs = {
        { pid = 4242, name = "helper", start_time = 1.0, footprint = 60 * MB },
        { pid = me, name = "memwatch", start_time = 1.0, footprint = 60 * MB },
        { pid = parent, name = "shell", start_time = 1.0, footprint = 60 * MB },
        { pid = 1, name = "init", start_time = 1.0, footprint = 60 * MB },
    }
    for _, r in ipairs(recs) do r.ppid = 1 end
    local sig = A.signal { log = function(l) lines[#lines + 1] = l end }
    fire({ on_alert = sig, on_resolve = sig }, recs)
    eq(lines[1], "signal (dry run): would send SIGTERM to pid 4242 (helper), then SIGKILL after 5s if it is " ..
        "still running")
    eq(lines[2], string.format("signal: refusing to signal pid %d (memwatch): it is memwatch itself", me))
    eq(lines[3], string.format("signal: refusing to signal pid %d (shell): it is an ancestor of memwatch", parent))
    eq(lines[4], "signal: refusing to signal pid 1 (init): it is pid 1")
    eq(#lines, 4)
    lines = {}
    local real = A.signal { dry_run = false, signal = "KILL", log = function(l) lines[#lines + 1] = l end }
    fire({ on_alert = real }, { recs[2], recs[3], recs[4] })
    eq(#lines, 3, "refused even when not a dry run")
    raises_exactly(function() A.signal { signal = "BOGUS" } end, "memwatch.actions.signal: unknown signal 'BOGUS' " ..
        "(expected HUP, INT, QUIT, KILL, USR1, USR2, TERM, STOP, CONT)")
    raises_exactly(function() A.signal { grace = "soon" } end, "memwatch.actions.signal: 'grace': invalid " ..
        "duration 'soon': expected a number with an optional unit ms, s, m or h (a bare number is seconds)")
    raises_exactly(function() A.signal { dryrun = true } end, "memwatch.actions.signal: unknown option 'dryrun' " ..
        "(expected dry_run, grace, log, signal)")
end)

T.test("signal: TERM, then KILL after the grace period; a reused pid is left alone", function()
    local lines = {}
    local say = function(l) lines[#lines + 1] = l end
    -- A record read before the child has run exec would still say memwatch.
    local function started(argv)
        local pid = assert(core.spawn(argv))
        local rec = T.wait_until(function()
            local r = core.read(pid)
            return r and r.name == argv[1] and r
        end)
        return pid, assert(rec)
    end
    local pid, rec = started { "sleep", "30" }
    A.signal { dry_run = false, log = say } (setmetatable({ kind = "alert", processes = { rec }, now = 0 }, {}))
    eq(lines[1], string.format("signal: sent SIGTERM to pid %d (sleep)", pid))
    eq(select(2, core.child_status(pid, true)), 15)
    -- A child that ignores TERM gets KILL once the grace period is over.
    local stubborn, srec = started { "sh", "-c", "trap '' TERM; sleep 5 >/dev/null 2>&1; sleep 1" }
    os.execute("sleep 0.2") -- let the shell set its trap
    local act = A.signal { dry_run = false, grace = "2s", log = say }
    act { kind = "alert", processes = { srec }, now = 100 }
    A.poll(101)
    eq(core.child_status(stubborn), "running", "still in its grace period")
    said = {}
    A.poll(102)
    eq(said[1], string.format("signal: pid %d (sh) still running after the grace period: sent SIGKILL", stubborn))
    local how, signo = core.child_status(stubborn, true)
    eq(how, "signal")
    eq(signo, 9)
    -- Same pid, another start time: another process. Nothing is sent.
    local other, orec = started { "sleep", "30" }
    T.cleanup(function() core.kill(other, "KILL") core.child_status(other, true) end)
    lines = {}
    act { kind = "alert", processes = { { pid = other, name = "sleep", start_time = orec.start_time - 100 } }, now = 0 }
    eq(#lines, 0)
    eq(core.child_status(other), "running")
    lines = {}
    act { kind = "resolve", processes = { orec }, now = 0 }
    eq(#lines, 0, "resolve events send nothing")
end)

T.test("core.spawn: the child's stderr into a file", function()
    local path = tmpdir .. "/spawn.err"
    local pid = assert(core.spawn({ "sh", "-c", "echo on-stderr >&2; echo on-stdout" }, nil, path))
    eq(select(2, core.child_status(pid, true)), 0, "exit status")
    eq(read(path), "on-stderr\n", "stderr went to the file, stdout did not")
    pid = assert(core.spawn({ "sh", "-c", "echo again >&2" }, { X = "1" }, path))
    core.child_status(pid, true)
    eq(read(path), "again\n", "the file is truncated, with an environment given too")
    raises_exactly(function() core.spawn({ "true" }, nil, {}) end,
        "bad argument #3 to 'spawn' (string expected, got table)")
end)

T.test("core primitives: bad arguments", function()
    raises_exactly(function() core.kill(0, "TERM") end, "bad argument #1 to 'kill' (pid must be > 0)")
    raises_exactly(function() core.kill(-1, 9) end, "bad argument #1 to 'kill' (pid must be > 0)")
    raises_exactly(function() core.spawn {} end, "bad argument #1 to 'spawn' (the argument list is empty)")
    raises_exactly(function() core.spawn { "ls", {} } end, "spawn: argument 2 must be a string, got table")
    raises_exactly(function() core.spawn({ "ls" }, { X = true }) end,
        "spawn: environment variable 'X' must be a string, a number or false, got boolean")
    local ok, msg, errno = core.kill(2147483000, "TERM")
    eq(ok, nil)
    eq(msg, "pid 2147483000: No such process")
    eq(errno, 3)
    raises_exactly(function() core.budget_call(-1, 0, print) end,
        "bad argument #1 to 'budget_call' (instruction budget must be >= 0)")
    raises_exactly(function() core.memory_limit(-5) end,
        "bad argument #1 to 'memory_limit' (memory limit must be >= 0)")
    eq(core.wait_signal(0), false)
    eq(core.take_signal(), nil)
end)

T.test("explain: why footprint and resident differ (Linux, from the record)", function()
    local rec = { pid = 42, name = "app", footprint = 310 * MB, resident = 350 * MB, rss_anon = 250 * MB,
        rss_shmem = 10 * MB, rss_file = 90 * MB, swap = 48 * MB, page_table = 2 * MB, lazy_free = 4 * MB }
    local text, rows = W.explain(42, { platform = "linux", record = rec })
    -- luacheck: push ignore 631 (the expected text has explain's long lines)
    eq(text, [[
pid 42 (app): footprint 310.0M, resident 350.0M; footprint = rss_anon + rss_shmem + swap + page_table
  + rss_anon      250.0M  anonymous memory in RAM (heap, stacks, private writes): in both
  + rss_shmem      10.0M  shared memory and tmpfs pages in RAM: in both
  + swap           48.0M  anonymous memory swapped out: in footprint only
  + page_table      2.0M  page tables the kernel keeps for this process: in footprint only
    rss_file       90.0M  file pages in RAM (program code, libraries, mapped files): in resident only
    lazy_free       4.0M  pages freed with MADV_FREE: counted in both until the kernel reclaims them, which it may do at once
  footprint - resident = swap + page_table - rss_file = -40.0M
]])
    -- luacheck: pop
    eq(#rows, 6)
    eq(rows[5].name, "rss_file")
    eq(rows[5].footprint, false)
    -- The real thing, on this process.
    local live = assert(W.explain(core.getpid()))
    check(live:find("^pid %d+ %(memwatch%): footprint "), live)
    check(live:find("\n  %+ rss_anon "), live)
    local none, msg, errno = W.explain(2147483000)
    eq(none, nil)
    eq(msg, "pid 2147483000: No such process")
    eq(errno, 3)
    raises_exactly(function() W.explain("42") end, "bad argument #1 to 'explain' (integer expected, got string)")
end)

T.test("explain: the macOS ledger formula", function()
    local rec = { pid = 7, name = "Safari", footprint = 200 * MB, resident = 300 * MB }
    local ledger = {
        { group = "physmem", name = "phys_footprint", balance = 200 * MB },
        { group = "physmem", name = "internal", balance = 150 * MB },
        { group = "physmem", name = "alternate_accounting", balance = 10 * MB },
        { group = "physmem", name = "internal_compressed", balance = 50 * MB },
        { group = "physmem", name = "alternate_accounting_compressed", balance = 0 },
        { group = "physmem", name = "iokit_mapped", balance = 8 * MB },
        { group = "physmem", name = "purgeable_nonvolatile", balance = 1 * MB },
        { group = "physmem", name = "purgeable_nonvolatile_compress", balance = 0 },
        { group = "physmem", name = "page_table", balance = 1 * MB },
        { group = "physmem", name = "external", balance = 120 * MB },
    }
    local text = W.explain(7, { platform = "darwin", record = rec, ledger = ledger })
    check(text:find("^pid 7 %(Safari%): footprint 200%.0M, resident 300%.0M; footprint = internal %- "), text)
    check(text:find("\n  %- alternate_accounting +10%.0M  memory charged to another ledger %(IOKit%)\n"), text)
    check(text:find("\n  %+ internal_compressed +50%.0M  anonymous memory held by the compressor: not resident\n"),
        text)
    check(text:find("\n    external +120%.0M  file%-backed pages in RAM: resident only\n"), text)
    check(text:find("\n  the formula gives 200%.0M; the kernel's phys_footprint is 200%.0M\n$"), text)
    local partial = W.explain(7, { platform = "darwin", record = rec, ledger = { ledger[2] } })
    check(partial:find("not readable without root"), partial)
end)

T.done()
