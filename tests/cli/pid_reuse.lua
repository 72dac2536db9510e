-- PID reuse (issue 7 "Process churn and reuse"), run by tests/cli/test_pid_reuse.sh
-- inside a new pid namespace with its own /proc, as root:
--   unshare --pid --fork --mount-proc sh -c 'memwatch tests/cli/pid_reuse.lua'
-- Writing /proc/sys/kernel/ns_last_pid makes the next process take the pid of
-- one that has just exited and been reaped, so these checks are exact, not
-- left to luck:
--   (a) the sampler: a cached status descriptor of the dead process answers
--       ESRCH, the record of the new process has the new start time (not the
--       one kept with the old descriptor), a lazily read field of the old
--       record gives nil, not the new process's value, and no descriptor leaks;
--   (b) the rules: state kept for process A (sustain counts, growth samples,
--       a firing alert) does not pass to process B with A's pid; A's alert
--       resolves as gone, attributed to A, and B starts afresh.
-- Exit 77 (skip) when ns_last_pid cannot be written.
local T = dofile(os.getenv("MW_SOURCE_DIR") .. "/tests/lua/testlib.lua")
local memwatch = require "memwatch"
local core = require "memwatch.core"
local W = require "memwatch.watch"
local eq, check = T.eq, T.check

local NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"

if core.getpid() > 10 then
    io.stderr:write("pid_reuse.lua: expected to run in a fresh pid namespace (my pid is " .. core.getpid() ..
        "); run it through tests/cli/test_pid_reuse.sh\n")
    os.exit(2)
end

-- Before any pid games: the clock tick and the boot time, to compute start
-- times independently from /proc/PID/stat.
local CLK_TCK = tonumber(T.sh("getconf CLK_TCK")) or 100
local BTIME
for line in io.lines("/proc/stat") do
    local b = line:match("^btime (%d+)")
    if b then BTIME = tonumber(b) end
end

local function read_all(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

-- The start time of pid as memwatch computes it (epoch seconds), from stat.
local function stat_start(pid)
    local s = read_all("/proc/" .. pid .. "/stat")
    if not s then return nil end
    local rest = s:match("^.*%)%s+(.*)$")
    local fields = {}
    for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
    -- rest starts at field 3 (state); starttime is field 22.
    local ticks = tonumber(fields[22 - 2])
    return BTIME + ticks // CLK_TCK + (ticks % CLK_TCK) / CLK_TCK
end

local function cmdline(pid)
    local s = read_all("/proc/" .. pid .. "/cmdline")
    return s and (s:gsub("%z$", ""):gsub("%z", " "))
end

-- memwatch's open descriptors, but for pipes: io.popen's own pipe is open
-- while ls runs, and its write end is closed in the parent at a time that
-- races with ls.
local function fd_count()
    local n = 0
    for line in T.sh("ls -l /proc/" .. core.getpid() .. "/fd"):gmatch("[^\n]+") do
        if line:find(" -> ", 1, true) and not line:find(" -> pipe:", 1, true) then n = n + 1 end
    end
    return n
end

local function can_set_last_pid()
    local f = io.open(NS_LAST_PID, "w")
    if not f then return false end
    local ok = f:write("100") and f:close()
    return ok and true or false
end
if not can_set_last_pid() then
    io.stdout:write("SKIP: cannot write " .. NS_LAST_PID .. " in the new pid namespace " ..
        "(needs root and CONFIG_CHECKPOINT_RESTORE)\n")
    os.exit(77)
end

local children = {}
T.cleanup(function()
    for pid in pairs(children) do
        core.kill(pid, "KILL")
        core.child_status(pid, true)
    end
end)

-- start(argv) -> pid, once the child has exec'd argv.
local function start(argv)
    local pid = assert(core.spawn(argv))
    children[pid] = true
    local want = table.concat(argv, " ")
    T.wait_until(function() return cmdline(pid) == want end)
    return pid
end

-- stop(pid): SIGKILL and reap, so the pid is free.
local function stop(pid)
    core.kill(pid, "KILL")
    core.child_status(pid, true)
    children[pid] = nil
end

-- reuse(pid, argv) -> starts argv as a new process with the pid of the
-- reaped process pid (nil if the kernel gave another pid).
local function reuse(pid, argv)
    for _ = 1, 5 do
        local f = assert(io.open(NS_LAST_PID, "w"))
        f:write(tostring(pid - 1))
        f:close()
        local new = assert(core.spawn(argv))
        children[new] = true
        if new == pid then
            local want = table.concat(argv, " ")
            T.wait_until(function() return cmdline(new) == want end)
            return new
        end
        stop(new)
    end
    return nil
end

local function find(recs, pid)
    for _, r in ipairs(recs) do
        if r.pid == pid then return r end
    end
    return nil
end

local function scan() return memwatch.processes(nil, { "start_time" }) end

-- The start time has a resolution of one clock tick: make sure A and B do
-- not start within the same tick (a real limit of (pid, start_time), noted
-- in the report, not something this test is about).
local function next_tick() os.execute("sleep 0.05") end

-- ---------------------------------------------------------------------------------
T.test("the sampler: a cached descriptor detects the reuse", function()
    local a = start { "sleep", "3600" }
    scan() -- opens and keeps A's status descriptor and start time
    local ra = find(scan(), a) -- read through the kept descriptor
    check(ra ~= nil, "A is in the scan")
    if not ra then return end
    T.near(ra.start_time, stat_start(a), 0.011, "A's start time")
    local fds = fd_count()

    stop(a)
    next_tick()
    local b = reuse(a, { "sleep", "3601" })
    eq(b, a, "B got A's pid through ns_last_pid")
    if b ~= a then return end
    local rb = find(scan(), b)
    check(rb ~= nil, "B is in the scan")
    if not rb then return end
    check(rb.start_time ~= ra.start_time, string.format("B's record has a new start time (A %.2f, B %.2f)",
        ra.start_time, rb.start_time))
    T.near(rb.start_time, stat_start(b), 0.011, "B's start time is B's, from its stat, not A's kept one")
    check(rb.start_time > ra.start_time, "B started after A")

    -- Lazily read fields: the old record refuses, the new one reads.
    eq(ra.cmdline, nil, "A's record: cmdline read after the reuse is nil, not B's")
    if memwatch.sampler() == "bpf" then
        -- The BPF sampler's pass carried A's own CPU time in the scan.
        T.is_type(core.peek(ra, "cpu_time"), "float", "A's record: cpu_time from the scan, A's")
    else
        eq(ra.cpu_time, nil, "A's record: cpu_time is nil")
    end
    eq(ra.pss, nil, "A's record: pss is nil")
    eq(rb.cmdline, "sleep 3601", "B's record reads B's cmdline")
    check(math.type(rb.pss) == "integer", "B's record reads B's pss")
    -- memwatch.process reads the pid afresh: it is B.
    local one = memwatch.process(a, { "start_time" })
    T.near(one and one.start_time or -1, rb.start_time, 1e-6, "memwatch.process(pid) is B")

    -- Several more reuses of the same pid: no descriptor is left behind.
    local pid = b
    for i = 1, 5 do
        scan()
        stop(pid)
        next_tick()
        pid = reuse(pid, { "sleep", tostring(3601 + i) })
        if not pid then break end
        local r = find(scan(), pid)
        T.near(r and r.start_time or -1, stat_start(pid), 0.011, "reuse " .. i .. ": the new start time")
    end
    check(pid ~= nil, "five more reuses of the same pid")
    scan()
    eq(fd_count(), fds, "memwatch's open descriptors after six reuses")
    if pid then stop(pid) end
end)

-- ---------------------------------------------------------------------------------
-- (b) rules. A real sampler (memwatch.processes) and a hand-driven clock: one
-- tick per second of fake time, each a real scan.
T.test("rule state is not carried from A to B with the same pid", function()
    local t = 0
    local clock = { now = function() return t end, sleep = function() end, time = function() return 1e9 + t end }
    local e = W.engine { clock = clock, every = 1, memory_limit = 0, signals = false,
        report = function(line) io.stderr:write(line, "\n") end }
    local events = {}
    local function rec(name)
        return function(ev)
            local pids = {}
            for _, p in ipairs(ev.processes) do pids[#pids + 1] = string.format("%d@%.2f", p.pid, p.start_time) end
            events[#events + 1] = { rule = name, kind = ev.kind, id = ev.id, key = ev.key, t = ev.now,
                gone = ev.gone or false, pids = table.concat(pids, " "), count = ev.count }
        end
    end
    -- Every rule watches the processes called "sleep", one group per process.
    local sel = { name = "sleep" }
    -- sustain by samples: A fires at its third sample.
    e:watch { name = "n3", select = sel, above = 1, sustain = 3, on_alert = rec("n3"), on_resolve = rec("n3") }
    -- sustain by time: A fires after 2 s.
    e:watch { name = "s2", select = sel, above = 1, sustain = "2s", on_alert = rec("s2"), on_resolve = rec("s2") }
    -- a longer sustain that A never completes: B must not inherit A's count.
    e:watch { name = "n5", select = sel, above = 1, sustain = 5, on_alert = rec("n5"), on_resolve = rec("n5") }
    -- growth: the metric ramps with the (fake) time for every process, 1 MiB/s;
    -- the verdict waits for a 3 s warm-up of each process's own series.
    e:watch { name = "grow", select = sel, metric = function() return t * 1048576 end,
        growth = { above = "1M/h", window = "10s", warmup = "3s" }, on_alert = rec("grow"), on_resolve = rec("grow") }

    local a = start { "sleep", "3600" }
    local ida
    for _ = 0, 3 do -- t = 0, 1, 2, 3: four samples of A
        e:tick(t)
        t = t + 1
    end
    local ra = find(scan(), a)
    ida = string.format("%d@%.2f", a, ra.start_time)

    stop(a)
    next_tick()
    local b = reuse(a, { "sleep", "3601" })
    eq(b, a, "B got A's pid")
    if b ~= a then return end
    local rb = find(scan(), b)
    local idb = string.format("%d@%.2f", b, rb.start_time)
    check(ida ~= idb, "A and B have different identities: " .. ida .. " " .. idb)
    for _ = 4, 12 do -- t = 4 .. 12: B
        e:tick(t)
        t = t + 1
    end
    stop(b)

    local got = {}
    for _, ev in ipairs(events) do
        got[#got + 1] = string.format("%s %s t=%d %s%s [%s]", ev.rule, ev.kind, ev.t,
            ev.id == ida and "A" or ev.id == idb and "B" or ("?" .. tostring(ev.id)), ev.gone and " gone" or "",
            ev.pids == ida and "A" or ev.pids == idb and "B" or ev.pids)
    end
    table.sort(got)
    local want = {
        -- A: alerts on its own samples.
        "grow alert t=3 A [A]",      -- after A's 3 s warm-up
        "n3 alert t=2 A [A]",        -- A's third sample
        "s2 alert t=2 A [A]",        -- A held 2 s
        -- A exits: its firing alerts resolve as gone, for A, with no processes.
        "grow resolve t=4 A gone []",
        "n3 resolve t=4 A gone []",
        "s2 resolve t=4 A gone []",
        -- B starts afresh: its own sustain and warm-up, from t = 4.
        "grow alert t=7 B [B]",      -- 3 s after B was first seen
        "n3 alert t=6 B [B]",        -- B's third sample, not at once
        "n5 alert t=8 B [B]",        -- B's fifth sample: A's four did not count
        "s2 alert t=6 B [B]",        -- B held 2 s
    }
    table.sort(want)
    eq(table.concat(got, "\n"), table.concat(want, "\n"), "events")
    for _, name in ipairs { "n3", "s2", "n5", "grow" } do
        local states = e:state(name)
        check(states[ida] == nil, name .. ": no state left for A")
    end
end)

T.done()
