-- A leak detector for a service, with its time to a limit.
--
--   memwatch leak_detector.lua [NAME [WINDOW [RATE [LIMIT [EVERY]]]]]
--   (default: postgres 10m 50M/h 2G 10s)
--
-- Fits a least-squares line through the footprint samples of the last
-- WINDOW and alerts when the slope is above RATE and the line explains the
-- samples well (r2 >= 0.8: steady growth, not noise). No verdict comes
-- before one WINDOW of samples (the warm-up). The event carries the slope,
-- r2 and the ETA: the time until LIMIT at the current slope.
local name = arg[1] or "postgres"
local window = arg[2] or "10m"
local rate = arg[3] or "50M/h"
local limit = arg[4] or "2G"

memwatch.watch {
    name = name .. " leak",
    select = { name = name },
    group = "tree", -- the service and its children, summed
    every = arg[5] or "10s",
    growth = { window = window, above = rate, limit = limit, min_r2 = 0.8 },
    on_alert = function(e)
        -- slope_text is in RATE's unit: "61.2M/h" for 50M/h, "6.0M/s" for 5M/s.
        io.stderr:write(string.format("%s: %s grows %s (r2 %.2f); %s reached in %s\n",
            e.rule, e.key, e.slope_text, e.r2, memwatch.bytes(e.limit),
            e.eta and memwatch.watch.span(e.eta) or "never"))
    end,
    on_resolve = memwatch.actions.log(),
}

memwatch.run()
