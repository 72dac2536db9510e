-- memwatch's own Lua heap with a rule over every process (issue 14, "a
-- watch engine that stays small"): the heap after TICKS ticks of an engine
-- on a simulated 1 Hz clock, less the heap of the same scans with no rule,
-- per watched process.
--
--   memwatch tests/bench/rule_heap.lua [TICKS...]   (default 60 600)
--
-- Rules, each on an engine of its own over every process (one group per
-- process, never firing):
--   threshold  footprint above 1 EiB
--   growth     footprint growing faster than 1 EiB/s over a 10-minute window
--   firing     footprint above 1 byte for 3 samples: every process with memory
--              alerts (the soak's rule, tests/bench/soak_rules.lua)
-- Prints one line per case and tick count: case=.. procs=N ticks=T heap_kib=.. rule_kib=..
-- per_proc_kib=.. (heap_kib: collectgarbage("count") after a full collection
-- with the last scan still held, as the engine holds it; rule_kib: heap_kib
-- less that of the plain scans).
local counts = {}
for _, a in ipairs(arg or {}) do counts[#counts + 1] = math.tointeger(tonumber(a)) or error("ticks: " .. a) end
if #counts == 0 then counts = { 60, 600 } end
local ticks
local mw = require "memwatch"
local watch = require "memwatch.watch"

local function heap()
    collectgarbage("collect")
    collectgarbage("collect")
    return collectgarbage("count")
end

-- The plain scans: the last one held, nothing else.
local function plain()
    local recs
    for _ = 1, ticks do recs = mw.processes() end
    local kib = heap()
    return kib, #recs
end

local function with_rule(def)
    local t = 0
    local n = 0
    local e = watch.engine {
        sampler = function(fields)
            local recs = mw.processes(nil, fields)
            n = #recs
            return recs
        end,
        clock = { now = function() return t end, sleep = function() end, time = function() return t end },
        report = function() end,
        -- As the live engine, which reads a group's regions (event.grew) only
        -- once it grows: none does here.
        regions = function() return nil end,
    }
    e:watch(def)
    for _ = 1, ticks do
        e:tick(t)
        t = t + 1
    end
    local kib = heap()
    e = nil -- luacheck: ignore (kept alive until the heap is read)
    return kib, n
end

local cases = {
    { "threshold", { name = "all", metric = "footprint", above = 2 ^ 60 } },
    { "growth", { name = "all", metric = "footprint", growth = { above = 2 ^ 60, window = "10m" } } },
    { "firing", { name = "all", metric = "footprint", above = 1, sustain = 3 } },
}
for _, n_ticks in ipairs(counts) do
    ticks = n_ticks
    local base, nbase = plain()
    print(string.format("case=plain procs=%d ticks=%d heap_kib=%.0f", nbase, ticks, base))
    for _, c in ipairs(cases) do
        local kib, n = with_rule(c[2])
        print(string.format("case=%s procs=%d ticks=%d heap_kib=%.0f rule_kib=%.0f per_proc_kib=%.2f", c[1], n,
            ticks, kib, kib - base, (kib - base) / n))
    end
end
