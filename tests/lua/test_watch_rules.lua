-- Watch rules (issue 4): the state machine, scheduling, bad definitions,
-- failing and runaway callbacks, the memory cap and reloads. Deterministic:
-- every engine here reads recorded series through a fake sampler and a fake
-- clock.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local W = require "memwatch.watch"
local core = require "memwatch.core"
local MB = 1024 * 1024

local function proc(pid, name, mb, extra)
    local r = { pid = pid, ppid = 1, name = name, start_time = 1000.0 + pid, uid = 1000, user = "alice",
        footprint = math.floor(mb * MB) }
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
end

-- frames: list (one scan per tick) or function(t, n) -> records.
local function replay(frames, opts)
    opts = opts or {}
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local log = { events = {}, reports = {}, scans = {}, clock = clock }
    local e = W.engine {
        clock = clock,
        every = opts.every or 1,
        sampler = function(fields)
            log.scans[#log.scans + 1] = { t = clock.t, fields = table.concat(fields, ",") }
            local f
            if type(frames) == "function" then f = frames(clock.t, #log.scans) else f = frames[#log.scans] end
            local out = {}
            for i, r in ipairs(f or {}) do
                local c = {}
                for k, v in pairs(r) do c[k] = v end
                out[i] = c
            end
            if opts.cost then clock.t = clock.t + opts.cost(#log.scans) end
            return out
        end,
        report = function(line) log.reports[#log.reports + 1] = line end,
        app_key = function() return nil end,
        budget = opts.budget,
        memory_limit = opts.memory_limit or 0,
        error_interval = opts.error_interval,
    }
    function log.rec(ev)
        log.events[#log.events + 1] = string.format("%g %s %s %s", clock.t, ev.kind, ev.key, ev.value_text)
    end
    function log.text() return table.concat(log.events, "; ") end
    return e, log
end

-- One process "app" (pid 10) whose footprint follows values (MB), one per tick.
local function series(values)
    return function(_, n)
        local v = values[n]
        if v == nil then return {} end
        return { proc(10, "app", v) }
    end
end

local function rule(log, def)
    def.on_alert = def.on_alert or log.rec
    def.on_resolve = def.on_resolve or log.rec
    return def
end

T.test("sustain as a sample count", function()
    local e, log = replay(series { 10, 60, 60, 60, 30, 60, 70, 20 })
    e:watch(rule(log, { name = "big", select = { name = "app" }, above = "50M", sustain = 2, clear = "40M" }))
    eq(e:run(8), "elapsed")
    eq(log.text(), "2 alert app[10] 60.0M; 4 resolve app[10] 30.0M; 6 alert app[10] 70.0M; 7 resolve app[10] 20.0M")
end)

T.test("sustain as a duration; since and duration in the event", function()
    local e, log = replay(series { 60, 60, 60, 60, 10, 60, 60, 10 })
    local seen
    e:watch(rule(log, { above = "50M", sustain = "3s", on_alert = function(ev)
        seen = ev
        log.rec(ev)
    end }))
    e:run(8)
    eq(log.text(), "3 alert app[10] 60.0M; 4 resolve app[10] 10.0M")
    eq(seen.since, 0.0, "since: when the condition started to hold")
    eq(seen.duration, 3.0)
    eq(seen.rule, "#1", "an unnamed rule is called by its number")
    eq(seen.threshold, 50 * MB)
    eq(seen.value, 60 * MB)
    eq(seen.count, 1)
    eq(seen.processes[1].pid, 10)
    eq(seen.metric, "footprint")
    eq(seen.group, "none")
    eq(seen.repeated, 0)
    eq(tostring(seen), "ALERT rule '#1' app[10] footprint 60.0M (above 50.0M) 1 process")
    -- Every 2 s with sustain 3 s: samples at 0, 2, 4 -> fires at 4.
    local e2, log2 = replay(series { 60, 60, 60 }, { every = 2 })
    e2:watch(rule(log2, { above = "50M", sustain = "3s" }))
    e2:run(6)
    eq(log2.text(), "4 alert app[10] 60.0M")
    -- sustain 0 (the default) fires on the first sample over.
    local e3, log3 = replay(series { 60 })
    e3:watch(rule(log3, { above = "50M" }))
    e3:run(1)
    eq(log3.text(), "0 alert app[10] 60.0M")
end)

T.test("hysteresis: clear level, boundaries, below rules", function()
    local e, log = replay(series { 60, 45, 41, 39, 45, 55, 50 })
    e:watch(rule(log, { above = "50M", clear = "40M" }))
    e:run(7)
    eq(log.text(), "0 alert app[10] 60.0M; 3 resolve app[10] 39.0M; 5 alert app[10] 55.0M")
    -- Without clear, it resolves below the threshold itself; equal holds.
    local e2, log2 = replay(series { 50, 51, 50, 49.5 })
    e2:watch(rule(log2, { above = "50M" }))
    e2:run(4)
    eq(log2.text(), "1 alert app[10] 51.0M; 3 resolve app[10] 49.5M")
    local e3, log3 = replay(series { 30, 5, 15, 19, 25, 8 })
    e3:watch(rule(log3, { below = "10M", clear = "20M" }))
    e3:run(6)
    eq(log3.text(), "1 alert app[10] 5.0M; 4 resolve app[10] 25.0M; 5 alert app[10] 8.0M")
end)

T.test("repeat_every re-alerts while firing", function()
    local e, log = replay(series { 60, 60, 60, 60, 60, 60, 10 })
    local reps = {}
    e:watch(rule(log, { above = "50M", repeat_every = "2s", on_alert = function(ev)
        reps[#reps + 1] = ev.repeated
        log.rec(ev)
    end }))
    e:run(7)
    eq(log.text(), "0 alert app[10] 60.0M; 2 alert app[10] 60.0M; 4 alert app[10] 60.0M; 6 resolve app[10] 10.0M")
    eq(table.concat(reps, ","), "0,1,2")
end)

T.test("one scan per tick with the union of the fields; per-rule every", function()
    local e, log = replay(function() return { proc(10, "app", 1, { swap = 0 }) } end)
    e:watch { name = "a", above = "1G" }
    e:watch { name = "b", metric = "swap", above = "1G", every = 3 }
    e:watch { name = "c", select = { match = "^ap" }, metric = "pss", above = "1G", every = 2 }
    e:run(7)
    local got = {}
    for _, s in ipairs(log.scans) do got[#got + 1] = string.format("%g:%s", s.t, s.fields) end
    -- start_time is in every scan: it keys per-process state (pid reuse).
    eq(table.concat(got, " "), "0:cmdline,footprint,pss,start_time,swap 1:footprint,start_time " ..
        "2:cmdline,footprint,pss,start_time 3:footprint,start_time,swap 4:cmdline,footprint,pss,start_time " ..
        "5:footprint,start_time 6:cmdline,footprint,pss,start_time,swap")
end)

T.test("scheduling does not drift; a slow tick skips the slots it missed", function()
    local e, log = replay(function() return { proc(10, "app", 1) } end, { cost = function() return 0.3 end })
    e:watch { above = "1G" }
    e:run(4)
    local got = {}
    for _, s in ipairs(log.scans) do got[#got + 1] = string.format("%g", s.t) end
    eq(table.concat(got, " "), "0 1 2 3")
    local e2, log2 = replay(function() return { proc(10, "app", 1) } end,
        { cost = function(n) return n == 1 and 2.5 or 0.1 end })
    e2:watch { above = "1G" }
    e2:run(5)
    got = {}
    for _, s in ipairs(log2.scans) do got[#got + 1] = string.format("%g", s.t) end
    eq(table.concat(got, " "), "0 3 4")
end)

T.test("run: seconds, stop() from a callback, options", function()
    local e, log = replay(series { 10, 60, 60, 60 })
    e:watch(rule(log, { above = "50M", on_alert = function(ev)
        log.rec(ev)
        e:stop()
    end }))
    eq(e:run(), "stopped")
    eq(log.clock.t, 1.0)
    local e2 = replay(series {})
    raises_exactly(function() e2:run() end, "memwatch.run: no rules (add some with memwatch.watch{...})")
    e2:watch { above = 1 }
    raises_exactly(function() e2:run { second = 1 } end,
        "memwatch.run: unknown option 'second' (expected budget, budget_time, error_interval, every, " ..
        "memory_limit, seconds, state)")
    raises_exactly(function() e2:run "2Q" end,
        "memwatch.run: invalid duration '2Q': expected a number with an optional unit ms, s, m or h " ..
        "(a bare number is seconds)")
    eq(e2:run { seconds = "3s", every = "1s" }, "elapsed")
    raises_exactly(function() W.engine { sampler = print, colck = 1 } end,
        "memwatch.watch.engine: unknown option 'colck' (expected app_key, budget, budget_time, clock, " ..
        "error_interval, every, memory_limit, memory_total, notice, oom, regions, report, sampler, script, " ..
        "signals, state)")
end)

T.test("bad definitions fail at registration, naming the rule and the key", function()
    local e = replay(series {})
    local function bad(def, msg)
        local m = raises_exactly(function() e:watch(def) end, msg)
        -- The position is the caller's line in this file.
        check(m and m:find("test_watch_rules.lua:%d+: memwatch.watch: ") == 1 or
            (m and m:find("/test_watch_rules.lua:%d+: memwatch.watch: ")), "position of the call: " .. tostring(m))
    end
    local sizes = "expected a number with an optional unit B, K, M, G, T, P or % (of physical memory; binary " ..
        "multiples: 1K = 1024 bytes; KB and KiB mean the same as K)"
    bad({ name = "x", abov = 1 }, "memwatch.watch: rule 'x': unknown key 'abov' (expected name, select, group, " ..
        "metric, fields, above, below, sustain, clear, repeat_every, every, growth, on_alert, on_resolve, explain)")
    bad({ name = "x", above = "2Q" }, "memwatch.watch: rule 'x': 'above': invalid size '2Q': " .. sizes)
    bad({ name = "x", above = "1G", clear = "1x" }, "memwatch.watch: rule 'x': 'clear': invalid size '1x': " .. sizes)
    bad({ name = "x", above = -1 }, "memwatch.watch: rule 'x': 'above' must not be negative, got -1")
    bad({ name = "x", above = true }, "memwatch.watch: rule 'x': 'above' must be a number or a size string " ..
        "such as \"1.5G\" or \"20%\", got boolean")
    bad({ name = "x", above = "1G", sustain = "-5s" }, "memwatch.watch: rule 'x': 'sustain' must not be " ..
        "negative, got '-5s'")
    bad({ above = "1G", sustain = -2 }, "memwatch.watch: rule #1: 'sustain' must not be negative, got -2")
    bad({ above = "1G", sustain = 1.5 }, "memwatch.watch: rule #1: 'sustain' must be a duration string such " ..
        "as \"30s\" or a whole number of samples, got 1.5")
    bad({ above = "1G", sustain = "10y" }, "memwatch.watch: rule #1: 'sustain': invalid duration '10y': " ..
        "expected a number with an optional unit ms, s, m or h (a bare number is seconds)")
    bad({ above = "1G", every = "-1s" }, "memwatch.watch: rule #1: 'every' must not be negative, got '-1s'")
    bad({ above = "1G", every = 0 }, "memwatch.watch: rule #1: 'every' must be greater than 0")
    bad({ above = "1G", repeat_every = -3 }, "memwatch.watch: rule #1: 'repeat_every' must not be negative, got -3")
    bad({ name = "" , above = 1 }, "memwatch.watch: rule #1: 'name' must be a non-empty string, got string")
    bad({ name = "x" }, "memwatch.watch: rule 'x': needs 'above', 'below' or 'growth'")
    bad({ name = "x", above = 1, below = 2 }, "memwatch.watch: rule 'x': 'above' and 'below' cannot be " ..
        "combined in one rule: write two rules")
    bad({ name = "x", above = 1, growth = { above = "1M/h" } }, "memwatch.watch: rule 'x': 'growth' cannot be " ..
        "combined with 'above' or 'below': write two rules")
    bad({ name = "x", above = "1G", clear = "2G" }, "memwatch.watch: rule 'x': 'clear' (2G) must not be above " ..
        "'above' (1G): it is the level at which the alert resolves")
    bad({ name = "x", below = "1G", clear = "512M" }, "memwatch.watch: rule 'x': 'clear' (512M) must not be " ..
        "below 'below' (1G): it is the level at which the alert resolves")
    bad({ name = "x", above = 1, select = { nam = "x" } }, "memwatch.watch: rule 'x': select: unknown filter " ..
        "key 'nam' (expected name, exe, match, user, pid, pidfile, unit, container)")
    bad({ name = "x", above = 1, select = "chrome" }, "memwatch.watch: rule 'x': select: filter must be a " ..
        "table, got string")
    bad({ name = "x", above = 1, group = "pgid" }, "memwatch.watch: rule 'x': 'group' must be none, name, " ..
        "tree, app, user or a function, got 'pgid'")
    bad({ name = "x", above = 1, metric = "footprnt" }, "memwatch.watch: rule 'x': unknown metric 'footprnt' " ..
        "(a size or count field such as footprint, pss, uss, swap, threads, cpu_time, or a function)")
    bad({ name = "x", above = 1, group = "app", metric = "resident" }, "memwatch.watch: rule 'x': metric " ..
        "'resident' cannot be summed over a group: shared pages would be counted once per process (group " ..
        "sums use footprint, or pss to share them out)")
    bad({ name = "x", above = 1, fields = { "pss", "bogus" } }, "memwatch.watch: rule 'x': 'fields' entry 2: " ..
        "unknown field 'bogus'")
    bad({ name = "x", above = 1, on_alert = "print" }, "memwatch.watch: rule 'x': 'on_alert' must be a " ..
        "function or a list of functions, got string")
    bad({ name = "x", above = 1, on_resolve = { print, 3 } }, "memwatch.watch: rule 'x': 'on_resolve' entry 2 " ..
        "must be a function, got number")
    bad({ name = "x", growth = { above = "5Q/h" } }, "memwatch.watch: rule 'x': 'growth.above': invalid rate " ..
        "'5Q/h': invalid size '5Q': expected a number with an optional unit B, K, M, G, T or P (binary " ..
        "multiples: 1K = 1024 bytes; KB and KiB mean the same as K)")
    bad({ name = "x", growth = { above = "5M/y" } }, "memwatch.watch: rule 'x': 'growth.above': invalid rate " ..
        "'5M/y': expected SIZE/UNIT such as \"50M/h\" (units s, m, h, d)")
    bad({ name = "x", growth = { above = "5M" } }, "memwatch.watch: rule 'x': 'growth.above': invalid rate " ..
        "'5M': expected SIZE/UNIT such as \"50M/h\" (units s, m, h, d)")
    bad({ name = "x", growth = { window = "10m" } }, "memwatch.watch: rule 'x': 'growth.above' is required " ..
        "(a rate such as \"50M/h\")")
    bad({ name = "x", growth = { above = "1M/h", windw = "1m" } }, "memwatch.watch: rule 'x': unknown key " ..
        "'growth.windw' (expected window, above, limit, warmup, min_r2)")
    bad({ name = "x", growth = { above = "1M/h", window = "-10m" } }, "memwatch.watch: rule 'x': " ..
        "'growth.window' must not be negative, got '-10m'")
    bad({ name = "x", growth = { above = "1M/h", limit = "lots" } }, "memwatch.watch: rule 'x': " ..
        "'growth.limit': invalid size 'lots': " .. sizes)
    bad({ name = "x", growth = { above = "1M/h", min_r2 = 2 } }, "memwatch.watch: rule 'x': 'growth.min_r2' " ..
        "must be a number from 0 to 1, got 2")
    bad("x", "memwatch.watch: a rule must be a table, got string")
    -- Nothing above was registered; the next unnamed rule is #1, and names are unique.
    local r = e:watch { above = 1 }
    eq(r.name, "#1")
    e:watch { name = "dup", above = 1 }
    bad({ name = "dup", above = 2 }, "memwatch.watch: rule 'dup': a rule with this name already exists")
end)

T.test("a failing callback is reported with file:line, rate limited, and the rule goes on", function()
    local e, log = replay(series { 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 10 }, { error_interval = 10 })
    local line
    local good = 0
    e:watch(rule(log, { name = "bad", above = "50M", repeat_every = 1, on_alert = {
        function()
            line = debug.getinfo(1, "l").currentline + 1
            error("boom")
        end,
        function() good = good + 1 end } }))
    local other = 0
    e:watch { name = "other", above = "50M", repeat_every = 1, on_alert = function() other = other + 1 end }
    e:run(13)
    eq(good, 12, "the next callback of the same rule still ran each time")
    eq(other, 12, "another rule is untouched")
    eq(#log.reports, 2, "one report, then one after error_interval")
    local src = debug.getinfo(1, "S").short_src
    eq(log.reports[1], string.format("memwatch: rule 'bad': on_alert: %s:%d: boom", src, line))
    eq(log.reports[2], string.format("memwatch: rule 'bad': on_alert: %s:%d: boom (9 more like this in the last 10s)",
        src, line))
    eq(log.text(), "12 resolve app[10] 10.0M", "resolve still reported")
    -- A metric function that raises, or returns a string.
    local e2, log2 = replay(series { 60 })
    e2:watch { name = "m1", metric = function() error({}) end, above = 1 }
    e2:watch { name = "m2", metric = function() return "big" end, above = 1 }
    e2:run(1)
    eq(log2.reports[1], "memwatch: rule 'm1': metric: (error object is a table value)")
    eq(log2.reports[2], "memwatch: rule 'm2': metric: returned a string, expected a number")
    -- A group function that returns a table (or a boolean) makes no group.
    local e3, log3 = replay(series { 60 })
    local r3 = e3:watch { name = "g1", group = function(p) return { p.pid } end, above = 1 }
    e3:watch { name = "g2", group = function() return true end, above = 1 }
    e3:run(1)
    eq(log3.reports[1], "memwatch: rule 'g1': group: returned a table, expected a string or a number")
    eq(log3.reports[2], "memwatch: rule 'g2': group: returned a boolean, expected a string or a number")
    eq(next(r3.states), nil, "no group made of it")
end)

T.test("callback errors are reported per callback and per message: none hides another", function()
    local e, log = replay(series { 60, 60, 60, 60 }, { error_interval = 10 })
    local l1, l2
    local n = 0
    e:watch(rule(log, { name = "two", above = "50M", repeat_every = 1, on_alert = {
        function()
            l1 = debug.getinfo(1, "l").currentline + 1
            error("first bug")
        end,
        function()
            n = n + 1
            l2 = debug.getinfo(1, "l").currentline + 1
            error(n <= 2 and "my bug" or "another bug")
        end } }))
    e:run(4)
    local src = debug.getinfo(1, "S").short_src
    eq(table.concat(log.reports, "\n"), table.concat({
        string.format("memwatch: rule 'two': on_alert: %s:%d: first bug", src, l1),
        string.format("memwatch: rule 'two': on_alert: %s:%d: my bug", src, l2),
        string.format("memwatch: rule 'two': on_alert: %s:%d: another bug", src, l2),
    }, "\n"), "each callback's error, and each new message, once within error_interval")
end)

T.test("the CPU budget stops an endless callback; pcall cannot swallow it; other rules run", function()
    local e, log = replay(series { 60, 60, 60 }, { budget = 100000 })
    local spin_line, pcall_line
    e:watch { name = "spin", above = "50M", on_alert = function()
        spin_line = debug.getinfo(1, "l").currentline + 1
        while true do end
    end }
    e:watch { name = "sneaky", above = "50M", on_alert = function()
        pcall_line = debug.getinfo(1, "l").currentline + 1
        for _ = 1, 1e9 do pcall(function() while true do end end) end
    end }
    e:watch(rule(log, { name = "fine", above = "50M" }))
    e:watch { name = "spin metric", metric = function() while true do end end, above = 1 }
    e:run(3)
    eq(log.text(), "0 alert app[10] 60.0M")
    local src = debug.getinfo(1, "S").short_src
    eq(log.reports[1], string.format("memwatch: rule 'spin': on_alert stopped: %s:%d: CPU budget exceeded " ..
        "(more than 100000 instructions)", src, spin_line))
    eq(log.reports[2], string.format("memwatch: rule 'sneaky': on_alert stopped: %s:%d: CPU budget exceeded " ..
        "(more than 100000 instructions)", src, pcall_line))
    check(log.reports[3] and log.reports[3]:find("^memwatch: rule 'spin metric': metric stopped: .*CPU budget " ..
        "exceeded %(more than 100000 instructions%)$"), tostring(log.reports[3]))
    eq(#log.reports, 3, "later failures within error_interval are not repeated")
    -- The time budget works the same way.
    local e2, log2 = replay(series { 60 }, { budget = 0 })
    e2.budget_time = 0.05
    e2:watch { name = "slow", above = 1, on_alert = function() while true do end end }
    e2:run(1)
    check(log2.reports[1] and log2.reports[1]:find("CPU budget exceeded %(more than 0.05 s of CPU time%)$"),
        tostring(log2.reports[1]))
end)

T.test("the memory cap stops a callback that allocates without end; the engine goes on", function()
    local before = core.memory_limit()
    local e, log = replay(series { 60, 60, 60 }, { memory_limit = "32M" })
    local limit_inside
    e:watch { name = "hog", above = "50M", on_alert = function()
        limit_inside = core.memory_limit()
        local t = {} -- luacheck: ignore 241 (filled only to reach the memory cap)
        for i = 1, 1e9 do t[i] = { i } end
    end }
    e:watch(rule(log, { name = "fine", above = "50M", repeat_every = 1 }))
    e:run(3)
    eq(limit_inside, 32 * MB, "the cap is on while the engine runs")
    eq(core.memory_limit(), before, "and restored afterwards")
    eq(log.reports[1], "memwatch: rule 'hog': on_alert stopped: the interpreter memory cap of 32.0M was " ..
        "reached (not enough memory)")
    eq(log.text(), "0 alert app[10] 60.0M; 1 alert app[10] 60.0M; 2 alert app[10] 60.0M")
    raises_exactly(function() W.engine { memory_limit = "lots" } end,
        "memwatch.watch.engine: 'memory_limit': invalid size 'lots': expected a number with an optional unit " ..
        "B, K, M, G, T or P (binary multiples: 1K = 1024 bytes; KB and KiB mean the same as K)")
end)

T.test("the callbacks' limits are checked where they are given, not at a callback's call", function()
    raises_exactly(function() W.engine { budget = "x" } end,
        "memwatch.watch.engine: 'budget' must be a whole number of instructions (0 turns it off), got 'x'")
    raises_exactly(function() W.engine { budget = -5 } end,
        "memwatch.watch.engine: 'budget' must be a whole number of instructions (0 turns it off), got -5")
    raises_exactly(function() W.engine { budget_time = "soon" } end,
        "memwatch.watch.engine: 'budget_time' must be a duration (0 or more), got 'soon'")
    raises_exactly(function() W.engine { error_interval = -1 } end,
        "memwatch.watch.engine: 'error_interval' must be a duration (0 or more), got -1")
    raises_exactly(function() W.engine { every = "x" } end,
        "memwatch.watch.engine: 'every' must be a duration greater than 0, got 'x'")
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local e = W.engine { clock = clock, sampler = function() return {} end, report = function() end }
    e:watch { name = "r", above = "1M" }
    raises_exactly(function() e:run { seconds = 1, budget = 1.5 } end,
        "memwatch.run: 'budget' must be a whole number of instructions (0 turns it off), got 1.5")
    raises_exactly(function() e:run { seconds = 1, budget_time = -1 } end,
        "memwatch.run: 'budget_time' must be a duration (0 or more), got -1")
    raises_exactly(function() e:run { seconds = 1, error_interval = "often" } end,
        "memwatch.run: 'error_interval' must be a duration (0 or more), got 'often'")
    raises_exactly(function() e:run { seconds = 1, every = 0 } end,
        "memwatch.run: 'every' must be a duration greater than 0, got 0")
    raises_exactly(function() e:run { seconds = 1, memory_limit = "lots" } end,
        "memwatch.run: 'memory_limit': invalid size 'lots': expected a number with an optional unit " ..
        "B, K, M, G, T or P (binary multiples: 1K = 1024 bytes; KB and KiB mean the same as K)")
    eq(e:run { seconds = 1, budget = 0, budget_time = "0.5s", error_interval = 0 }, "elapsed",
        "0 turns a limit off; a duration may be written as a string")
end)

T.test("reload keeps the state of unchanged rules", function()
    local path = os.tmpname()
    T.cleanup(function() os.remove(path) end)
    local function write(src)
        local f = assert(io.open(path, "w"))
        f:write(src)
        f:close()
    end
    local events = {}
    _G.__watch_test_log = function(ev) events[#events + 1] = ev.rule .. " " .. ev.kind end
    local head = "local W = require 'memwatch.watch'\nlocal log = __watch_test_log\n"
    write(head .. [[
W.watch { name = "a", above = "50M", on_alert = log, on_resolve = log }
W.watch { name = "b", above = "50M", on_alert = log, on_resolve = log }
W.run()
error("not reached during a reload")
]])
    local e, log = replay(function() return { proc(10, "app", 60) } end)
    e.script = path
    -- Load the script into this engine, as the executable would at start.
    assert(e:reload())
    eq(log.reports[1], "memwatch: reloaded " .. path .. ": 0 rules kept, 2 new or changed, 0 removed")
    e:run(2)
    eq(table.concat(events, ","), "a alert,b alert")
    write(head .. [[
W.watch { name = "a", above = "50M", on_alert = log, on_resolve = log }
W.watch { name = "b", above = "40M", on_alert = log, on_resolve = log }
W.watch { name = "c", above = "50M", on_alert = log, on_resolve = log }
W.run()
]])
    assert(e:reload())
    eq(log.reports[2], "memwatch: reloaded " .. path .. ": 1 rule kept, 2 new or changed, 0 removed")
    e:run(1)
    eq(table.concat(events, ","), "a alert,b alert,b alert,c alert",
        "a kept its firing state; b changed and starts afresh; no resolve is invented")
    check(e:state("a")["10@1010.00"].firing, "a is still firing")
    write("syntax error here")
    local ok, msg = e:reload()
    eq(ok, nil)
    check(msg:find("^reload failed, keeping the current rules: "), msg)
    eq(#e.rules, 3)
    write(head .. "W.watch { name = 'a', abov = 1 }\n")
    msg = select(2, e:reload())
    check(msg:find("unknown key 'abov'", 1, true), msg)
    eq(#e.rules, 3)
    _G.__watch_test_log = nil
end)

T.test("describe says what each rule does", function()
    local e = replay(series {})
    e:watch { name = "chrome", select = { name = "chrome" }, group = "app", above = "4G", clear = "3.5G",
        sustain = "30s" }
    e:watch { name = "leak", select = { name = "svc" }, growth = { window = "10m", above = "50M/h" } }
    eq(e:describe(), "rule 'chrome': alert when footprint of each app (name=chrome) is above 4.0G for 30s; " ..
        "resolves at 3.5G\nrule 'leak': alert when footprint of each process (name=svc) grows faster than " ..
        "50.0M/h over 10m (r2 >= 0.5)\n")
    local one = replay(series {})
    one:watch { name = "one", above = "1G", sustain = 1 }
    one:watch { name = "two", above = "1G", sustain = 2 }
    eq(one:describe(),
        "rule 'one': alert when footprint of each process (all processes) is above 1.0G for 1 sample\n" ..
        "rule 'two': alert when footprint of each process (all processes) is above 1.0G for 2 samples\n",
        "a count of samples in the singular for one")
end)

-- ---- issue 11: thresholds people write, and a watcher that is never silent ------------

T.test("sizes as a share of physical memory, printed both ways", function()
    local GB = 1024 * MB
    local e, log = replay(series { 1000, 1300, 1000, 900 })
    e.memory_total = function() return 8 * GB end
    local seen = {}
    e:watch(rule(log, { name = "share", select = { name = "app" }, above = "12.5%", clear = "11.5%",
        on_alert = function(ev) seen[#seen + 1] = tostring(ev) log.rec(ev) end }))
    local r = e.by_name.share
    eq(r.threshold, GB)
    eq(r.clear, math.floor(8 * GB * 0.115 + 0.5))
    eq(e:describe(), "rule 'share': alert when footprint of each process (name=app) is above 12.5% (1.0G); " ..
        "resolves at 11.5% (942.1M)\n")
    e:run(4)
    eq(log.text(), "1 alert app[10] 1.3G; 3 resolve app[10] 900.0M")
    eq(seen[1], "ALERT rule 'share' app[10] footprint 1.3G (above 12.5% (1.0G)) 1 process")
    local g = e:watch { name = "lim", growth = { above = "1M/h", limit = "50%" } }
    eq(g.growth.limit, 4 * GB)
    -- Refusals: a bad size names every unit, % included; a count metric; an unknown total.
    local help = "expected a number with an optional unit B, K, M, G, T, P or % (of physical memory; binary " ..
        "multiples: 1K = 1024 bytes; KB and KiB mean the same as K)"
    local function bad(def, msg) raises_exactly(function() e:watch(def) end, msg) end
    bad({ name = "x", above = "1.5Q" }, "memwatch.watch: rule 'x': 'above': invalid size '1.5Q': " .. help)
    bad({ name = "x", above = "120%x" }, "memwatch.watch: rule 'x': 'above': invalid size '120%x': " .. help)
    bad({ name = "x", above = "%" }, "memwatch.watch: rule 'x': 'above': invalid size '%': " .. help)
    bad({ name = "x", metric = "threads", above = "20%" }, "memwatch.watch: rule 'x': 'above': '20%' is a " ..
        "share of physical memory, which only a size metric can be compared with ('threads' is a count)")
    bad({ name = "x", metric = "cpu_time", below = "1%" }, "memwatch.watch: rule 'x': 'below': '1%' is a " ..
        "share of physical memory, which only a size metric can be compared with ('cpu_time' is a time in seconds)")
    local unknown = replay(series {})
    unknown.memory_total = nil
    raises_exactly(function() unknown:watch { name = "y", above = "1G", clear = "10%" } end,
        "memwatch.watch: rule 'y': 'clear': '10%' is a share of physical memory, whose size is unknown here " ..
        "(give a size such as \"4G\")")
    -- An engine told the total as a number (a replay gives the recording's).
    local fixed = W.engine { sampler = function() return {} end, clock = { now = os.time, sleep = print },
        memory_total = 1000 }
    eq(fixed:watch { above = "50%" }.threshold, 500)
    local none = W.engine { sampler = function() return {} end, clock = { now = os.time, sleep = print },
        memory_total = false }
    raises_exactly(function() none:watch { name = "z", below = "5%" } end, "memwatch.watch: rule 'z': " ..
        "'below': '5%' is a share of physical memory, whose size is unknown here (give a size such as \"4G\")")
end)

T.test("rates print in the unit they were given", function()
    local function ramp(_, n) return { proc(10, "app", 100 + 6 * n) } end -- 6M/s
    local lines = {}
    local function say(ev) lines[#lines + 1] = tostring(ev) end
    for _, rate in ipairs { "5M/s", "50M/h", "100M/10m", 2 * MB } do
        local e = replay(ramp)
        e:watch { name = "r", growth = { window = "4s", above = rate }, on_alert = say }
        e:run(6)
    end
    eq(lines[1], "ALERT rule 'r' app[10] footprint grows 6.0M/s (r2 1.00, threshold 5.0M/s) 1 process")
    eq(lines[2], "ALERT rule 'r' app[10] footprint grows 21.1G/h (r2 1.00, threshold 50.0M/h) 1 process")
    eq(lines[3], "ALERT rule 'r' app[10] footprint grows 3.5G/10m (r2 1.00, threshold 100.0M/10m) 1 process")
    eq(lines[4], "ALERT rule 'r' app[10] footprint grows 6.0M/s (r2 1.00, threshold 2.0M/s) 1 process")
    local e = replay(ramp)
    e:watch { name = "d", growth = { window = "1m", above = "5M/s" }, clear = "1M/s" }
    eq(e:describe(), "rule 'd': alert when footprint of each process (all processes) grows faster than 5.0M/s " ..
        "over 1m (r2 >= 0.5); resolves at 1.0M/s\n")
end)

-- A leak of 60M/m for a minute, then a level: flat, or with allocator noise.
local function leak_then_level(noisy)
    local seed = 12345
    return function(t)
        local v
        if t < 60 then
            v = 100 + t
        else
            v = 160
            if noisy then
                seed = (seed * 1103515245 + 12345) % 2147483648
                v = v + (t - 60) / 30 + 8 * ((seed / 2147483648) * 2 - 1)
            end
        end
        return { proc(10, "app", v) }
    end
end

T.test("a growth alert resolves within one window after the growth stops", function()
    for _, noisy in ipairs { false, true } do
        local e, log = replay(leak_then_level(noisy))
        e:watch(rule(log, { name = "leak", growth = { window = "20s", above = "10M/m" }, clear = "1M/m" }))
        e:run(200)
        local times = {}
        for _, ev in ipairs(log.events) do times[#times + 1] = ev:match("^(%S+ %S+)") end
        eq(#times, 2, (noisy and "noisy" or "flat") .. ": one alert, one resolve: " .. log.text())
        eq(times[1], "20 alert")
        local at = tonumber((times[2] or ""):match("^(%S+) resolve"))
        check(at and at > 60 and at <= 80, (noisy and "noisy" or "flat") .. ": resolved at " .. tostring(at) ..
            ", within the 20s window after the growth stopped at 60")
    end
end)

T.test("a selection that matches nothing is said, with what comes close", function()
    local present = true
    local e, log = replay(function()
        -- A process whose 15-byte comm starts the name but whose executable
        -- has another name: not a match (that would select it), a hint.
        local out = { proc(4242, "my-leaky-servic", 10, { comm = "my-leaky-servic",
            path = "/opt/app/my-leaky-service-old" }), proc(77, "bash", 5) }
        if present then out[#out + 1] = proc(10, "app", 60) end
        return out
    end)
    e:watch { name = "long", select = { name = "my-leaky-service-long" }, above = "1M" }
    e:watch { name = "app", select = { name = "app" }, above = "100M" }
    e:watch { name = "all", above = "100M" }
    e:run(2)
    eq(log.reports[1], "memwatch: rule 'long': no process matches name 'my-leaky-service-long' yet; watching " ..
        "(closest: my-leaky-servic[4242], from /opt/app/my-leaky-service-old)")
    eq(#log.reports, 1, "said once, and not for rules that match")
    present = false
    e:run(2)
    eq(log.reports[2], "memwatch: rule 'app': no process matches name 'app' any more; watching")
    eq(#log.reports, 2)
    present = true
    e:run(1)
    present = false
    e:run(1)
    eq(log.reports[3], "memwatch: rule 'app': no process matches name 'app' any more; watching",
        "said again each time the last one goes")
    -- memwatch's own process is never suggested.
    local me = core.getpid()
    local e2, log2 = replay(function() return { proc(me, "memwatch", 1, { cmdline = "memwatch alert memwatc" }) } end)
    e2:watch { name = "m", select = { name = "memwatc" }, above = 1 }
    e2:run(1)
    eq(log2.reports[1], "memwatch: rule 'm': no process matches name 'memwatc' yet; watching")
end)

T.test("each rule says when its first verdict can come", function()
    local e, log = replay(series { 1, 1, 1 })
    e:watch { name = "pg leak", growth = { above = "50M/h" } }
    e:watch { name = "slow", every = "10s", growth = { above = "50M/h", window = "20s", warmup = "5s" } }
    e:watch { name = "held", growth = { above = "50M/h", window = "30s" }, sustain = "15s" }
    e:watch { name = "spike", above = "1G", sustain = "1s" }
    e:watch { name = "thrice", below = "1M", sustain = 3 }
    e:watch { name = "once", above = "1G", sustain = 1 }
    e:watch { name = "now", above = "1G" }
    e:run(600)
    eq(table.concat(log.reports, "\n"), table.concat({
        "memwatch: rule 'pg leak': first verdict after 10m of samples (warm-up)",
        "memwatch: rule 'slow': first verdict after 20s of samples (warm-up)",
        "memwatch: rule 'held': first verdict after 30s of samples (warm-up), then 15s above the rate",
        "memwatch: rule 'spike': first verdict after 1s over the threshold",
        "memwatch: rule 'thrice': first verdict after 3 samples under the threshold" }, "\n"))
    e:run(1)
    eq(#log.reports, 5, "said once, not at every run (and a later run(1) is not refused: the warm-up goes on)")
end)

T.test("a growth rule that can never give a verdict is refused", function()
    local e = replay(series {})
    raises_exactly(function() e:watch { name = "w", every = "10s", growth = { window = "5s", above = "1M/h" } } end,
        "memwatch.watch: rule 'w': 'growth.window' (5s) holds fewer than three samples taken every 10s " ..
        "('every'), so it can never give a verdict: make 'growth.window' at least 20s or 'every' at most 2.5s")
    -- The engine's interval (1s here) when the rule has none.
    raises_exactly(function() e:watch { name = "d", growth = { window = "1500ms", above = "1M/h" } } end,
        "memwatch.watch: rule 'd': 'growth.window' (1.5s) holds fewer than three samples taken every 1s " ..
        "('every', the default), so it can never give a verdict: make 'growth.window' at least 2s or 'every' " ..
        "at most 0.75s")
    -- ... and at run, when memwatch.run{every = ...} changes it.
    e:watch { name = "ok", growth = { window = "4s", above = "1M/h" } }
    raises_exactly(function() e:run { seconds = 10, every = "3s" } end,
        "memwatch.run: rule 'ok': 'growth.window' (4s) holds fewer than three samples taken every 3s " ..
        "('every', the default), so it can never give a verdict: make 'growth.window' at least 6s or 'every' " ..
        "at most 2s")
    local e2 = replay(series {})
    e2:watch { name = "long", growth = { above = "1M/h" } }
    raises_exactly(function() e2:run(60) end, "memwatch.run: rule 'long': 'growth.warmup' (10m, by default one " ..
        "'growth.window') is longer than this run (1m), so the rule can never give a verdict: shorten " ..
        "'growth.warmup' or run longer")
    local e3 = replay(series {})
    e3:watch { name = "w", growth = { above = "1M/h", window = "10s", warmup = "2m" } }
    raises_exactly(function() e3:run "90s" end, "memwatch.run: rule 'w': 'growth.warmup' (2m) is longer than " ..
        "this run (1m30s), so the rule can never give a verdict: shorten 'growth.warmup' or run longer")
end)

-- Runs a script file in this process, as `memwatch FILE` would; returns its error.
local function script_error(src)
    local path = os.tmpname()
    T.cleanup(function() os.remove(path) end)
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    local prev = W.set_default(replay(series {}))
    local ok, err = pcall(assert(loadfile(path)))
    W.set_default(prev)
    return not ok and err or nil, path
end

T.test("a definition error names the script's file and line, for every kind of mistake", function()
    local cases = {
        { "memwatch.watch { name = 'x', abov = 1 }", "unknown key 'abov'" },
        { "memwatch.watch { name = 'x', above = '2Q' }", "'above': invalid size '2Q'" },
        { "memwatch.watch { name = 'x', above = '20%', metric = 'threads' }", "'above': '20%' is a share" },
        { "memwatch.watch { name = 'x', above = 1, select = { nam = 'x' } }", "select: unknown filter key 'nam'" },
        { "memwatch.watch { name = 'x', above = 1, select = { match = '[' } }", "select: " },
        { "memwatch.watch { name = 'x', above = 1, group = 'pgid' }", "'group' must be" },
        { "memwatch.watch { name = 'x', above = 1, metric = 'nope' }", "unknown metric 'nope'" },
        { "memwatch.watch { name = 'x', above = 1, on_alert = 3 }", "'on_alert' must be" },
        { "memwatch.watch { name = 'x', growth = { above = '1M/y' } }", "'growth.above': invalid rate" },
        { "memwatch.watch { name = 'x', every = '10s', growth = { above = '1M/h', window = '5s' } }",
            "'growth.window' (5s) holds fewer than three samples" },
        { "memwatch.watch { name = 'x', above = 1, sustain = 1.5 }", "'sustain' must be" },
        { "memwatch.watch { name = 'x', above = '1G', clear = '2G' }", "'clear' (2G) must not be above" },
        { "memwatch.watch 'x'", "a rule must be a table" },
        { "memwatch.watch { name = 'x', above = 1 }\nmemwatch.watch { name = 'x', above = 2 }",
            "a rule with this name already exists" },
        { "memwatch.watch { name = 'x', growth = { above = '1M/h' } }\nmemwatch.run(30)",
            "'growth.warmup' (10m, by default one 'growth.window') is longer than this run (30s)" },
    }
    -- memwatch.watch as scripts see it: the facade's entry, through
    -- memwatch.watch.init, into the default engine.
    _G.memwatch = require "memwatch"
    for _, c in ipairs(cases) do
        local src = "-- a rules file\n\n" .. c[1] .. "\n"
        local err, path = script_error(src)
        local line = select(2, c[1]:gsub("\n", "")) + 3
        local want = string.format("%s:%d: memwatch.%s: ", path, line, c[2]:find("warmup") and "run" or "watch")
        check(type(err) == "string" and err:sub(1, #want) == want and err:find(c[2], 1, true),
            string.format("%q -> %s (want %s...%s)", c[1], tostring(err), want, c[2]))
        check(type(err) == "string" and not err:find("memwatch/", 1, true), "no memwatch module named: " ..
            tostring(err))
    end
    _G.memwatch = nil
    -- A script in a folder called memwatch is still the user's.
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/memwatch"))
    T.cleanup(function() os.execute("rm -rf " .. dir) end)
    local path = dir .. "/memwatch/rules.lua"
    local f = assert(io.open(path, "w"))
    f:write("local W = require 'memwatch.watch'\nW.watch { name = 'x', abov = 1 }\n")
    f:close()
    local prev = W.set_default(replay(series {}))
    local ok, err = pcall(assert(loadfile(path)))
    W.set_default(prev)
    eq(ok, false)
    check(tostring(err):find(path .. ":2: memwatch.watch: rule 'x': unknown key 'abov'", 1, true) == 1, tostring(err))
end)

T.done()
