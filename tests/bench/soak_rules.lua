-- The soak benchmark's watch script (tests/bench/soak.sh):
--   memwatch tests/bench/soak_rules.lua OUT SECONDS
-- Watches every process at 10 Hz for SECONDS and counts the engine's ticks.
--
-- Rule "all": every process, its own group (state keyed by pid and start
-- time), footprint above 1 byte for 3 samples, so every process that lives
-- 0.3 s alerts and resolves as gone when it exits: with the churn helper that
-- is tens of alerts and resolves a second, through the counting callbacks.
-- Rule "ticks": memwatch itself only, so its metric function runs exactly once
-- per tick; it counts ticks, measures the gaps between them (any over 0.2 s
-- is a lost sample) and, once a second, rewrites OUT with the counters:
--   ticks N elapsed S gaps G max_gap S alerts A resolves R lua_kib K
-- and at the end appends "done 1" and one "gap AT DURATION" line per gap.
local out, seconds = arg[1], tonumber(arg[2])
if not out or not seconds then
    io.stderr:write("usage: memwatch soak_rules.lua OUT SECONDS\n")
    os.exit(2)
end

local me = memwatch.self().pid
local now = memwatch.now
local ticks, gaps, max_gap, alerts, resolves = 0, 0, 0.0, 0, 0
local first, last
local gap_list, GAP_LIST_MAX = {}, 100

local function write(extra)
    local f = assert(io.open(out .. ".tmp", "w"))
    f:write(string.format("ticks %d elapsed %.3f gaps %d max_gap %.3f alerts %d resolves %d lua_kib %.0f\n", ticks,
        first and (last - first) or 0, gaps, max_gap, alerts, resolves, collectgarbage("count")))
    if extra then f:write(extra) end
    f:close()
    assert(os.rename(out .. ".tmp", out))
end

memwatch.watch {
    name = "all",
    every = "0.1s",
    metric = "footprint",
    fields = { "start_time" },
    above = 1,
    sustain = 3,
    on_alert = function() alerts = alerts + 1 end,
    on_resolve = function() resolves = resolves + 1 end,
}

memwatch.watch {
    name = "ticks",
    select = { pid = me },
    every = "0.1s",
    above = 1e18,
    metric = function()
        local t = now()
        if last then
            local dt = t - last
            if dt > max_gap then max_gap = dt end
            if dt > 0.2 then
                gaps = gaps + 1
                if #gap_list < GAP_LIST_MAX then
                    gap_list[#gap_list + 1] = string.format("gap %.3f %.3f\n", last - first, dt)
                end
            end
        else
            first = t
        end
        last = t
        ticks = ticks + 1
        if ticks % 10 == 0 then write() end
        return 0
    end,
}

local result = memwatch.run { seconds = seconds }
write("done 1\nresult " .. tostring(result) .. "\n" .. table.concat(gap_list))
