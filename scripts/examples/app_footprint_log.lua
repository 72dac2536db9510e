-- A per-app footprint log: once a minute, one line for every app whose
-- footprint is above SIZE, to a file or stderr.
--
--   memwatch app_footprint_log.lua [SIZE [EVERY [FILE]]]    (default: 100M 1m stderr)
--
-- Each app is a group (its systemd unit, or a process tree); the value is
-- the sum of its processes' footprints. repeat_every makes a firing rule
-- report again at every interval, which turns the rule into a log.
local size = arg[1] or "100M"
local every = arg[2] or "1m"
local log = memwatch.actions.log { file = arg[3] }

memwatch.watch {
    name = "app footprint",
    group = "app",
    above = size,
    every = every,
    repeat_every = every,
    on_alert = log,
    on_resolve = log, -- an app that shrinks below SIZE or exits gets a last line
}

memwatch.run()
