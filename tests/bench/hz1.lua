-- One memwatch of tests/bench/hz1.sh: at 1 Hz, over every process, until
-- killed:
--   plain      memwatch.processes() once a second
--   threshold  a rule over every process (one group per process), footprint
--              above 1 EiB (never fires), run by memwatch.run
--   growth     a rule over every process, footprint growing faster than
--              1 EiB/s over a 10-minute window (never fires)
--
--   memwatch tests/bench/hz1.lua CASE
local mw = require "memwatch"

local case = arg and arg[1]
if case == "plain" then
    local next_at = mw.now()
    while true do
        mw.processes()
        next_at = next_at + 1
        local wait = next_at - mw.now()
        if wait > 0 then mw.sleep(wait) end
    end
elseif case == "threshold" then
    mw.watch { name = "all", metric = "footprint", above = 2 ^ 60, every = 1 }
    mw.run()
elseif case == "growth" then
    mw.watch { name = "all", metric = "footprint", growth = { above = 2 ^ 60, window = "10m" }, every = 1 }
    mw.run()
else
    error("usage: memwatch tests/bench/hz1.lua plain|threshold|growth", 0)
end
