-- Times memwatch.processes(): the first scan in this process (cold: every
-- /proc/PID/status and stat is opened) and then REPS-1 repeated scans (warm:
-- the descriptors are kept and re-read with pread).
--
--   memwatch tests/bench/scan.lua REPS [NAME]   (NAME: processes{name = NAME})
--   lua5.4   tests/bench/scan.lua REPS    (loads build-bench/lua/memwatch/core.so
--                                          and scripts/memwatch/*.lua; set
--                                          MEMWATCH_BUILD to use another build dir)
--
-- REPS = 0 only loads the module (the baseline for strace and callgrind).
-- Prints: procs=N scans=R cold_us=.. median_us=.. mean_us=.. min_us=.. cpu_us=..
-- (cpu_us: os.clock()'s CPU time per scan after the first, garbage
-- collection included; the first opens the sampler and loads its program).
-- With MW_BENCH_MARK=1 each scan is bracketed by "@@scan-begin"/"@@scan-end"
-- written to stderr, so an strace log can count the syscalls inside scans.

local reps = tonumber(arg and arg[1]) or 100
local filter = arg and arg[2] and { name = arg[2] } or nil

local mw = rawget(_G, "memwatch")
if not mw then
    -- A stock lua5.4: find the repository from this script's path.
    local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
    local root = here .. "/../.."
    local build = os.getenv("MEMWATCH_BUILD") or (root .. "/build-bench")
    package.cpath = build .. "/lua/?.so;" .. package.cpath
    package.path = root .. "/scripts/?.lua;" .. root .. "/scripts/?/init.lua;" .. package.path
    mw = require "memwatch"
end

local now = mw.now
local mark = os.getenv("MW_BENCH_MARK") == "1"
local err = io.stderr
err:setvbuf("no")

if reps <= 0 then
    print("procs=0 scans=0")
    return
end

local times, n = {}, 0
local cpu0
for i = 1, reps do
    if i == 2 then cpu0 = os.clock() end
    if mark then err:write("@@scan-begin\n") end
    local t0 = now()
    local list = mw.processes(filter)
    local t1 = now()
    if mark then err:write("@@scan-end\n") end
    times[i] = (t1 - t0) * 1e6
    n = #list
    list = nil -- luacheck: ignore (garbage for the next scan's collector, as in a watch loop)
end

local cpu = reps > 1 and (os.clock() - cpu0) * 1e6 / (reps - 1) or 0
local cold = times[1]
local warm = {}
for i = 2, #times do warm[#warm + 1] = times[i] end
local median, mean, min = cold, cold, cold
if #warm > 0 then
    table.sort(warm)
    median, min = warm[#warm // 2 + 1], warm[1]
    local sum = 0
    for _, t in ipairs(warm) do sum = sum + t end
    mean = sum / #warm
end
print(string.format("procs=%d scans=%d cold_us=%.1f median_us=%.1f mean_us=%.1f min_us=%.1f cpu_us=%.1f",
    n, reps, cold, median, mean, min, cpu))
