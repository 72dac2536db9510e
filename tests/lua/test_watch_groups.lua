-- Watch rules (issue 4): groups and their honest sums (name, user, tree,
-- app, a function), PID reuse, processes that go away, and growth (leak)
-- detection with noise, r², time-to-limit and warm-up. Deterministic: fake
-- sampler, fake clock.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, near = T.check, T.eq, T.near

local W = require "memwatch.watch"
local MB = 1024 * 1024

local function proc(pid, ppid, name, mb, extra)
    local r = { pid = pid, ppid = ppid, name = name, start_time = 1000.0 + pid, uid = 1000, user = "alice",
        footprint = math.floor(mb * MB) }
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
end

local function replay(frames, opts)
    opts = opts or {}
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local log = { events = {}, reports = {}, list = {} }
    local n = 0
    local e = W.engine {
        clock = clock,
        every = opts.every or 1,
        sampler = function()
            n = n + 1
            local f = type(frames) == "function" and frames(clock.t, n) or frames[n] or {}
            return f
        end,
        report = function(line) log.reports[#log.reports + 1] = line end,
        app_key = opts.app_key or function() return nil end,
        memory_limit = 0,
        oom = opts.oom,
    }
    function log.rec(ev)
        log.list[#log.list + 1] = ev
        log.events[#log.events + 1] = string.format("%g %s %s %s %d", clock.t, ev.kind, ev.key, ev.value_text,
            ev.count)
    end
    function log.text() return table.concat(log.events, "; ") end
    return e, log
end

local function rule(log, def)
    def.on_alert, def.on_resolve = log.rec, log.rec
    return def
end

local function pids(ev)
    local out = {}
    for i, p in ipairs(ev.processes) do out[i] = p.pid end
    table.sort(out)
    return table.concat(out, ",")
end

T.test("group by name and by user: sums of footprint, with the process count", function()
    local scan = { proc(1, 0, "init", 5), proc(10, 1, "web", 30, { user = "www", uid = 33 }),
        proc(11, 1, "web", 40, { user = "www", uid = 33 }), proc(12, 1, "db", 100), proc(13, 1, "db", 1) }
    local e, log = replay { scan }
    e:watch(rule(log, { name = "n", group = "name", above = "60M" }))
    e:run(1)
    table.sort(log.events)
    eq(log.text(), "0 alert db 101.0M 2; 0 alert web 70.0M 2")
    local e2, log2 = replay { scan }
    e2:watch(rule(log2, { name = "u", group = "user", above = "60M" }))
    e2:run(1)
    table.sort(log2.events)
    eq(log2.text(), "0 alert alice 106.0M 3; 0 alert www 70.0M 2")
    -- pss sums when the rule asks for pss.
    local e3, log3 = replay { { proc(10, 1, "web", 30, { pss = 20 * MB }), proc(11, 1, "web", 40, { pss = 25 * MB }) } }
    e3:watch(rule(log3, { group = "name", metric = "pss", above = "40M" }))
    e3:run(1)
    eq(log3.text(), "0 alert web 45.0M 2")
    eq(log3.list[1].metric, "pss")
end)

T.test("group by tree: a selected process and all its descendants", function()
    local scan = {
        proc(1, 0, "init", 5),
        proc(100, 1, "make", 10), proc(101, 100, "cc1", 50), proc(102, 100, "make", 10),
        proc(103, 102, "as", 20), proc(104, 102, "cc1", 30),
        proc(200, 1, "make", 5), proc(201, 200, "cc1", 1),
        proc(300, 1, "other", 500),
    }
    local e, log = replay { scan }
    e:watch(rule(log, { select = { name = "make" }, group = "tree", above = 0 }))
    e:run(1)
    table.sort(log.list, function(a, b) return a.key < b.key end)
    eq(#log.list, 2, "make[102] is inside make[100]'s tree")
    eq(log.list[1].key, "make[100]")
    eq(log.list[1].value, 120 * MB)
    eq(pids(log.list[1]), "100,101,102,103,104")
    eq(log.list[2].key, "make[200]")
    eq(log.list[2].value, 6 * MB)
    -- Nil values (a kernel thread, a denied read) are left out of the sum.
    local e2, log2 = replay { { proc(100, 1, "make", 10), proc(101, 100, "x", 0, { footprint = false }) } }
    e2:watch(rule(log2, { select = { name = "make" }, group = "tree", above = 0 }))
    e2:run(1)
    eq(log2.text(), "0 alert make[100] 10.0M 2")
end)

T.test("group by app: the systemd unit where there is one, else the same-name tree", function()
    local units = { [10] = "app-firefox.scope", [11] = "app-firefox.scope", [13] = "app-firefox.scope",
        [40] = "nginx.service" }
    local scan = {
        proc(1, 0, "systemd", 10),
        proc(10, 1, "firefox", 300), proc(11, 10, "firefox", 200), proc(13, 10, "Web Content", 100),
        proc(20, 1, "chrome", 100), proc(21, 20, "chrome", 50), proc(22, 21, "chrome_crashpad", 5),
        proc(23, 21, "helper", 7), proc(40, 23, "nginx", 1),
    }
    local e, log = replay({ scan }, { app_key = function(rec) return units[rec.pid] end })
    e:watch(rule(log, { name = "ff", select = { name = "firefox" }, group = "app", above = 0 }))
    e:watch(rule(log, { name = "ch", select = { match = "^chrome$" }, group = "app", above = 0 }))
    e:run(1)
    eq(#log.list, 2)
    local ff, ch = log.list[1], log.list[2]
    eq(ff.key, "app-firefox.scope")
    eq(ff.value, 600 * MB, "every process of the unit, selected or not")
    eq(pids(ff), "10,11,13")
    eq(ch.key, "chrome[20]", "no unit: the tree under the top-most chrome")
    eq(ch.value, 162 * MB)
    eq(pids(ch), "20,21,22,23", "a descendant in its own unit (nginx) is not counted")
    -- Every process selected: each is counted in exactly one app.
    local e2, log2 = replay({ { proc(1, 0, "init", 1), proc(2, 1, "sh", 2), proc(3, 2, "sh", 3),
        proc(4, 3, "cat", 4) } })
    e2:watch(rule(log2, { group = "app", above = 0 }))
    e2:run(1)
    table.sort(log2.events)
    eq(log2.text(), "0 alert cat[4] 4.0M 1; 0 alert init[1] 1.0M 1; 0 alert sh[2] 5.0M 2")
end)

T.test("group by a function of the record", function()
    local scan = { proc(10, 1, "php-fpm7", 30), proc(11, 1, "php-fpm8", 40), proc(12, 1, "bash", 1) }
    local e, log = replay { scan }
    e:watch(rule(log, { group = function(p) return p.name:match("^php") and "php" or nil end, above = "60M" }))
    e:watch(rule(log, { name = "f", group = "name", metric = function(g) return #g.processes end, above = 0 }))
    e:run(1)
    eq(log.events[1], "0 alert php 70.0M 2")
    eq(log.list[1].group, "function")
    eq(#log.list, 4)
    eq(log.list[2].value, 1, "a metric function gets the group")
end)

T.test("a group that vanishes while firing: gone, and OOM-killed on the kernel's evidence", function()
    local A = require "memwatch.actions"
    -- A fake kernel: its kill count, and its log (records with seq numbers).
    local kernel = { count = 7, log = {}, readable = true, reads = {} }
    local oom = {
        count = function() return kernel.count end,
        kills_since = function(cursor)
            kernel.reads[#kernel.reads + 1] = cursor
            if not kernel.readable then return nil, "kernel log: Operation not permitted", 1 end
            local out = {}
            for _, k in ipairs(kernel.log) do
                if k.seq >= cursor then out[#out + 1] = k end
            end
            return out, 100 + #kernel.log
        end,
    }
    -- The process is over the threshold at t=0 and 1, gone at t=2.
    local function run(before_gone)
        local frames = { { proc(10, 1, "leaky", 60) }, { proc(10, 1, "leaky", 60) }, {} }
        local e, log = replay(function(_, n)
            if n == 3 then before_gone() end
            return frames[n] or {}
        end, { oom = oom })
        e:watch(rule(log, { name = "leak", above = "50M" }))
        e:run(3)
        return log.list[#log.list], log
    end
    -- Killed: the count rose and the log names the pid.
    kernel.log = { { seq = 99, pid = 10, comm = "leaky" } } -- before the alert: not counted
    local ev = run(function()
        kernel.count = 8
        kernel.log[#kernel.log + 1] = { seq = 101, pid = 10, comm = "leaky", usec = 5 }
    end)
    eq(ev.kind, "resolve")
    check(ev.gone and ev.oom_killed, "gone and OOM-killed")
    eq(table.concat(kernel.reads, ","), "0,101",
        "the log is read from its start when the group fires, then from there on")
    eq(tostring(ev), "RESOLVED rule 'leak' leaky[10] footprint 0B (above 50.0M) 0 processes (gone: OOM-killed)")
    ev.time = 0
    check(A.line(ev):match(" RESOLVED leaky%[10%] 0 processes 0B %(gone: OOM%-killed%)$"), A.line(ev))
    check(A.format(ev):match(" RESOLVED leaky%[10%] 0 processes 0B rule 'leak' %(footprint above 50.0M%) " ..
        "%(gone: OOM%-killed%)$"), A.format(ev))
    eq(A.env(ev).MEMWATCH_GONE, "1")
    eq(A.env(ev).MEMWATCH_OOM_KILLED, "1")
    -- Another process killed meanwhile: the count rose, the log names someone else.
    kernel.count, kernel.log, kernel.reads = 7, {}, {}
    ev = run(function()
        kernel.count = 8
        kernel.log[#kernel.log + 1] = { seq = 100, pid = 4242, comm = "other" }
    end)
    check(ev.gone and not ev.oom_killed, "gone, not OOM-killed: the log names another process")
    eq(tostring(ev), "RESOLVED rule 'leak' leaky[10] footprint 0B (above 50.0M) 0 processes (gone)")
    ev.time = 0
    check(A.line(ev):match(" RESOLVED leaky%[10%] 0 processes 0B %(gone%)$"), A.line(ev))
    eq(A.env(ev).MEMWATCH_GONE, "1")
    eq(A.env(ev).MEMWATCH_OOM_KILLED, false)
    -- No kill counted: an exit, whatever the log says.
    kernel.count, kernel.log = 7, {}
    ev = run(function() kernel.log[#kernel.log + 1] = { seq = 100, pid = 10, comm = "leaky" } end)
    check(ev.gone and not ev.oom_killed, "the count did not rise")
    -- A log we may not read (not root): the count alone.
    kernel.count, kernel.log, kernel.readable = 7, {}, false
    ev = run(function() kernel.count = 9 end)
    check(ev.gone and ev.oom_killed, "without the log, a rise of the count is the evidence")
    -- A recovery is neither.
    kernel.readable = true
    local e, log = replay({ { proc(10, 1, "leaky", 60) }, { proc(10, 1, "leaky", 10) } }, { oom = oom })
    e:watch(rule(log, { name = "leak", above = "50M" }))
    e:run(2)
    ev = log.list[2]
    check(not ev.gone and not ev.oom_killed, "a real recovery")
    eq(tostring(ev), "RESOLVED rule 'leak' leaky[10] footprint 10.0M (above 50.0M) 1 process")
    eq(A.env(ev).MEMWATCH_GONE, false)
    eq(A.env(ev).MEMWATCH_OOM_KILLED, false)
    -- Many groups firing: the log is read for its end once a minute, not for each.
    kernel.reads = {}
    local many = {}
    for pid = 20, 29 do many[#many + 1] = proc(pid, 1, "short" .. pid, 60) end
    local e3, log3 = replay(function(t) return t < 70 and many or {} end, { oom = oom })
    e3:watch(rule(log3, { name = "each", group = "name", above = "50M" }))
    e3:run(72)
    eq(#log3.list, 20, "ten alerts, ten resolves")
    eq(table.concat(kernel.reads, ","), "0", "one read of the log for ten groups firing together")
    -- An engine given its own sampler (a replay) asks the live kernel nothing.
    check(W.engine { sampler = function() return {} end, clock = { now = os.clock, sleep = function() end } }.oom
        == nil, "no live OOM evidence for a replay")
end)

T.test("PID reuse: state is keyed by pid and start time", function()
    local function gen(start, mb) return { proc(10, 1, "app", mb, { start_time = start }) } end
    local e, log = replay { gen(1010, 60), gen(1010, 60), gen(2000, 60), gen(2000, 60), gen(2000, 60) }
    e:watch(rule(log, { above = "50M", sustain = 2 }))
    e:run(5)
    eq(log.text(), "1 alert app[10] 60.0M 1; 2 resolve app[10] 0B 0; 3 alert app[10] 60.0M 1",
        "the old process resolves as gone; the new one starts its own sustain")
    check(log.list[2].gone, "gone is set")
    eq(log.list[2].since, 0.0)
    -- In a tree group, a reused root pid is a new group.
    local function tree(start) return { proc(10, 1, "app", 60, { start_time = start }), proc(11, 10, "kid", 10) } end
    local e2, log2 = replay { tree(1010), tree(3000) }
    e2:watch(rule(log2, { select = { name = "app" }, group = "tree", above = "50M" }))
    e2:run(2)
    eq(log2.text(), "0 alert app[10] 70.0M 2; 1 alert app[10] 70.0M 2; 1 resolve app[10] 0B 0")
    -- Within a name group, the sum is made again from the members of each
    -- scan: a reused pid brings its own size, not the old one's.
    local e3, log3 = replay {
        { proc(10, 1, "worker", 30), proc(11, 1, "worker", 30) },
        { proc(10, 1, "worker", 30), proc(11, 1, "worker", 5, { start_time = 5000 }) },
    }
    e3:watch(rule(log3, { group = "name", above = "50M" }))
    e3:run(2)
    eq(log3.text(), "0 alert worker 60.0M 2; 1 resolve worker 35.0M 2")
end)

T.test("one group per process: a rename keeps the state under a new key; events keep their own list", function()
    local e, log = replay {
        { proc(10, 1, "app", 60) },
        { proc(10, 1, "app", 70) },
        { proc(10, 1, "app", 75) },
        { proc(10, 1, "renamed", 80) },
        { proc(10, 1, "renamed", 10) },
    }
    e:watch(rule(log, { above = "50M", sustain = 2 }))
    e:run(5)
    eq(log.text(), "1 alert app[10] 70.0M 1; 4 resolve renamed[10] 10.0M 1",
        "the sustain goes on across the rename, the resolve names the new name")
    eq(log.list[1].processes[1].footprint, 70 * MB, "the alert's process is the one of its tick, not a later one")
    eq(log.list[2].processes[1].name, "renamed")
end)

T.test("a group that disappears while firing resolves once; a pending one is forgotten", function()
    local e, log = replay { { proc(10, 1, "a", 60), proc(11, 1, "b", 60) }, { proc(11, 1, "b", 60) }, {}, {} }
    e:watch(rule(log, { name = "r", group = "name", above = "50M", sustain = 2 }))
    e:watch(rule(log, { name = "q", group = "name", above = "50M" }))
    e:run(4)
    table.sort(log.events)
    eq(log.text(), "0 alert a 60.0M 1; 0 alert b 60.0M 1; 1 alert b 60.0M 1; 1 resolve a 0B 0; " ..
        "2 resolve b 0B 0; 2 resolve b 0B 0")
end)

-- ---- growth ---------------------------------------------------------------------------

-- A deterministic noise source (a linear congruential generator) in [-1, 1].
local function noise(seed)
    local x = seed
    return function()
        x = (x * 1103515245 + 12345) % 2147483648
        return x / 1073741824 - 1
    end
end

T.test("trend: least squares slope and r2", function()
    local s, r2, n = W.trend { { 0, 10 }, { 1, 12 }, { 2, 14 }, { 3, 16 } }
    eq(s, 2.0)
    eq(r2, 1.0)
    eq(n, 4)
    s, r2 = W.trend { { 0, 5 }, { 1, 5 }, { 2, 5 } }
    eq(s, 0.0)
    eq(r2, 0.0, "a flat series explains nothing")
    s = W.trend { { 0, 5 } }
    eq(s, nil)
    s, r2 = W.trend { { 0, 0 }, { 1, 1 }, { 2, 0 }, { 3, 1 } }
    near(s, 0.2, 1e-12)
    near(r2, 0.2, 1e-12)
end)

T.test("growth with noise: slope, r2, ETA, after the warm-up only", function()
    local rnd = noise(42)
    -- 100M + 1M per minute, +-2M of noise, sampled every 10 s; flat after 30 minutes.
    local function value(t)
        local grow = math.min(t, 1800) / 60
        return (100 + grow + 2 * rnd()) * MB
    end
    local e, log = replay(function(t) return { proc(10, 1, "svc", 0, { footprint = math.floor(value(t)) }) } end,
        { every = 10 })
    e:watch(rule(log, { name = "leak", select = { name = "svc" },
        growth = { window = "10m", above = "30M/h", limit = "300M" } }))
    e:run(3600)
    eq(#log.list, 2, log.text())
    local a, r = log.list[1], log.list[2]
    eq(a.kind, "alert")
    eq(a.now, 600.0, "the first verdict comes when the warm-up (the window) is over")
    near(a.slope * 3600 / MB, 60, 4, "slope in M/h")
    check(a.r2 > 0.8 and a.r2 < 1, "r2 " .. tostring(a.r2))
    near(a.eta, (300 * MB - a.value) / a.slope, 1e-6)
    near(a.eta / 60, 190, 20, "about 190 minutes to 300M")
    eq(a.limit, 300 * MB)
    eq(a.window, 600.0)
    eq(a.threshold_text, "30.0M/h")
    check(tostring(a):find("^ALERT rule 'leak' svc%[10%] footprint grows 5%d%.%dM/h %(r2 0%.%d%d, threshold " ..
        "30%.0M/h%) limit 300%.0M in 3h%d%dm 1 process$"), tostring(a))
    eq(r.kind, "resolve")
    check(r.now > 1800 and r.now <= 2400, "resolves within a window of the growth stopping: " .. r.now)
    check(r.slope < 30 * MB / 3600)
end)

T.test("growth: noise alone and a flat series never fire; min_r2 and warmup options", function()
    local rnd = noise(7)
    local e, log = replay(function()
        return { proc(10, 1, "svc", 0, { footprint = math.floor((100 + 5 * rnd()) * MB) }) }
    end, { every = 10 })
    e:watch(rule(log, { growth = { window = "5m", above = "10M/h" } }))
    e:run(7200)
    eq(log.text(), "")
    -- A steady climb with a short warm-up fires early; a demanding min_r2
    -- keeps a noisy climb quiet.
    local rnd2 = noise(3)
    local e2, log2 = replay(function(t)
        return { proc(10, 1, "svc", 0, { footprint = math.floor((100 + t / 60 + 3 * rnd2()) * MB) }) }
    end, { every = 10 })
    e2:watch(rule(log2, { name = "quick", growth = { window = "10m", warmup = "2m", above = "30M/h" } }))
    e2:watch(rule(log2, { name = "strict", growth = { window = "2m", above = "30M/h", min_r2 = 0.99 } }))
    e2:run(1200)
    eq(#log2.list, 1, log2.text())
    eq(log2.list[1].rule, "quick")
    eq(log2.list[1].now, 120.0)
    eq(log2.list[1].eta, nil, "no limit, no ETA")
end)

T.test("growth: a group keeps its window as a few cells of moments, not its samples", function()
    local t = 0.0
    local e = W.engine {
        clock = { now = function() return t end, sleep = function(s) t = t + s end },
        every = 10, memory_limit = 0,
        sampler = function() return { proc(10, 1, "svc", 100 + t / 60 + (t % 30 == 0 and 1 or 0)) } end,
        report = function() end,
        app_key = function() return nil end,
    }
    e:watch { name = "leak", growth = { window = "5m", above = "30M/h" } }
    for _ = 1, 100 do
        e:tick(t)
        t = t + 10
    end
    local _, st = next(e:state("leak"))
    eq(st.ts, nil, "no list of sample times")
    eq(st.samples, nil, "no table per sample")
    local slope, r2, n = st.trend:fit()
    eq(n, 31, "5 minutes of samples every 10 s, both ends in")
    -- The same line as a fit over those samples, up to rounding.
    local samples = {}
    for at = 690, 990, 10 do
        samples[#samples + 1] = { at, math.floor((100 + at / 60 + (at % 30 == 0 and 1 or 0)) * MB) }
    end
    local s2, r22 = W.trend(samples)
    near(slope, s2, math.abs(s2) * 1e-9)
    near(r2, r22, 1e-9)
    eq(st.slope, slope)
end)

-- The samples a window of `cells` cells keeps at time now (memwatch/trend.h):
-- those of the cells whose mean time is not before oldest.
local function kept_by_cells(samples, window, cells, now, oldest)
    local width = window / cells
    local sum, count = {}, {}
    for _, s in ipairs(samples) do
        if s[1] <= now and s[1] > now - window - 2 * width then
            local k = math.floor(s[1] / width)
            sum[k] = (sum[k] or 0) + s[1]
            count[k] = (count[k] or 0) + 1
        end
    end
    local out = {}
    for _, s in ipairs(samples) do
        local k = math.floor(s[1] / width)
        if count[k] and sum[k] / count[k] >= oldest then out[#out + 1] = s end
    end
    return out
end

T.test("trend_window: the fit of the samples it keeps, exact for windows of up to `cells` samples", function()
    local core = require "memwatch.core"
    local rnd = noise(11)
    -- A window of 10 cells and 10 samples (one a second): every cell holds
    -- one sample and the window is exact, as the list of samples was.
    local w = core.trend_window(10, 10)
    local samples = {}
    for t = 1, 40 do
        local v = 5e9 + t * 1000 + 1e5 * rnd()
        samples[#samples + 1] = { t, v }
        w:add(t, v, t - 10 - 1e-9)
        local want = {}
        for _, s in ipairs(samples) do
            if s[1] >= t - 10 - 1e-9 then want[#want + 1] = s end
        end
        local slope, r2, n = w:fit()
        eq(n, #want, "samples in the window at " .. t)
        local s2, r22 = W.trend(want)
        if n < 2 then
            eq(slope, nil)
        else
            near(slope, s2, math.abs(s2) * 1e-9 + 1e-9, "slope at " .. t)
            near(r2, r22, 1e-9, "r2 at " .. t)
        end
    end
    -- A 10-minute window at 1 Hz in 10 cells of 60 samples: the line over
    -- the samples of the cells kept, up to rounding, and a window within
    -- half a cell of 10 minutes; its memory does not grow with its samples.
    local long = core.trend_window(600, 10)
    samples = {}
    for t = 1000, 3000 do
        local v = 2e9 + (t % 700) * 4096 + 1e6 * rnd()
        samples[#samples + 1] = { t, v }
        long:add(t, v, t - 600 - 1e-9)
        if t % 97 == 0 or t == 3000 then
            local want = kept_by_cells(samples, 600, 10, t, t - 600 - 1e-9)
            local slope, r2, n = long:fit()
            eq(n, #want, "samples kept at " .. t)
            if t >= 1600 then check(n >= 570 and n <= 631, "about 10 minutes of samples at " .. t .. ": " .. n) end
            local s2, r22 = W.trend(want)
            near(slope, s2, math.abs(s2) * 1e-6 + 1e-6, "slope at " .. t)
            near(r2, r22, 1e-9, "r2 at " .. t)
        end
    end
    collectgarbage("collect")
    local heap = collectgarbage("count")
    for t = 3001, 5000 do long:add(t, 2e9 + t, t - 600 - 1e-9) end
    collectgarbage("collect")
    -- (a collection may also shrink the interpreter's own tables a little)
    local after = collectgarbage("count")
    check(after <= heap, string.format("2000 more samples take no memory: %.3f KiB, then %.3f KiB", heap, after))
end)

T.test("trend_window: bad arguments", function()
    local core = require "memwatch.core"
    local function err(fn)
        local ok, e = pcall(fn)
        eq(ok, false)
        return (tostring(e):gsub("^[^:]*:%d+: ", ""))
    end
    eq(err(function() return core.trend_window(0, 10) end),
        "bad argument #1 to 'trend_window' (window must be a duration greater than 0)")
    eq(err(function() return core.trend_window(1 / 0, 10) end),
        "bad argument #1 to 'trend_window' (window must be a duration greater than 0)")
    eq(err(function() return core.trend_window(60, 0) end),
        "bad argument #2 to 'trend_window' (cells must be from 1 to 4096)")
    eq(err(function() return core.trend_window(60, 5000) end),
        "bad argument #2 to 'trend_window' (cells must be from 1 to 4096)")
    local w = core.trend_window(60, 4)
    eq(err(function() return w:add(0 / 0, 1, 0) end), "bad argument #1 to 'add' (time must be finite)")
    eq(err(function() return w:add(1, 1 / 0, 0) end), "bad argument #2 to 'add' (value must be finite)")
    eq(err(function() return w.fit({}) end), "bad argument #1 to 'fit' (memwatch.trend_window expected, got table)")
    local slope, r2, n = w:fit()
    eq(slope, nil)
    eq(r2, nil)
    eq(n, 0, "an empty window")
    w:add(5, 1, 0)
    w:add(5, 2, 0)
    eq(select(3, w:fit()), 2)
    eq(w:fit(), nil, "two samples at one time: no line")
end)

T.test("growth: a gap in sampling longer than the window neither fires nor resolves", function()
    -- A steady leak, sampled every 10 s, except that the clock jumps 20
    -- minutes once (a suspended machine, a gap in a recording): the first
    -- samples after the jump are too few for a verdict, so a firing rule keeps
    -- firing instead of resolving on a two-point line.
    local clock, jumped = { t = 0.0 }, false
    function clock.now() return clock.t end
    function clock.sleep(s)
        clock.t = clock.t + s
        if not jumped and clock.t >= 1200 then
            clock.t, jumped = clock.t + 1200, true
        end
    end
    local events = {}
    local e = W.engine {
        clock = clock, every = 10, memory_limit = 0,
        sampler = function()
            return { proc(10, 1, "svc", 0, { footprint = math.floor((100 + clock.t / 60) * MB) }) }
        end,
        report = function() end,
        app_key = function() return nil end,
    }
    local rec = function(ev) events[#events + 1] = string.format("%s@%g", ev.kind, clock.t) end
    e:watch { name = "leak", growth = { window = "5m", above = "30M/h" }, on_alert = rec, on_resolve = rec }
    e:run(3600)
    check(jumped, "the clock jumped")
    eq(table.concat(events, " "), "alert@300", "one alert, no resolve across the gap")
end)

T.test("views: init is a row of its own, its children root the trees, kernel threads go by their flag", function()
    local G = require "memwatch.group"
    -- A pid namespace: pid 1 and pid 2 are the application; one child of
    -- init has init's name; a kernel thread parent (ppid 0) and its thread.
    local recs = { proc(1, 0, "sh", 1), proc(2, 1, "app", 50), proc(3, 1, "sh", 2), proc(4, 3, "worker", 5),
        proc(7, 0, "kthreadd", 0, { kernel_thread = true, footprint = false }),
        proc(8, 7, "kworker/0:1", 0, { kernel_thread = true, footprint = false }) }
    recs[5].footprint, recs[6].footprint = nil, nil
    local function rows(how, app)
        local out = {}
        local groups
        if app then
            local sel = {}
            for _, r in ipairs(recs) do if not r.kernel_thread then sel[#sel + 1] = r end end
            groups = G.build(how, sel, G.context(recs, app, true), function(fn, r) return pcall(fn, r) end)
            for _, g in ipairs(groups) do
                local members = {}
                for i, r in ipairs(g.processes) do members[i] = r.pid end
                out[#out + 1] = g.key .. "=" .. table.concat(members, ",")
            end
        else
            for _, g in ipairs(G.group(recs, how)) do
                local members = {}
                for i, r in ipairs(g.procs) do members[i] = r.pid end
                out[#out + 1] = g.label .. "=" .. table.concat(members, ",")
            end
        end
        table.sort(out)
        return table.concat(out, " ")
    end
    eq(rows("tree"), "app[2]=2 sh[1]=1 sh[3]=3,4", "tree: init alone, its children the roots")
    eq(rows("name"), "app=2 kthreadd=7 kworker/0:1=8 sh=1,3 worker=4", "name: every process given")
    eq(rows("user"), "alice=1,2,3,4,7,8", "user: every process given")
    -- app without units: same-name trees that stop at init.
    eq(rows("app", function() return nil end), "app[2]=2 sh[1]=1 sh[3]=3 worker[4]=4",
        "app: same-name trees below init")
    eq(rows("app", function(r) return r.pid <= 2 and "pod.scope" or nil end), "pod.scope=1,2 sh[3]=3 worker[4]=4",
        "app: a unit holding init and pid 2")
    -- Rules keep their meaning: a selected init with tree grouping is the whole tree.
    local ctx = G.context(recs, function() return nil end)
    local g = G.build("tree", { recs[1] }, ctx, pcall)
    eq(#g[1].processes, 4, "a rule's tree of init holds its descendants")
end)

T.done()
