-- A named app over a footprint, with a desktop notification.
--
--   memwatch app_over_size.lua [NAME [SIZE [FOR]]]     (default: firefox 4G 30s)
--
-- "app" sums the footprint of every process of the app: its systemd unit
-- (app-firefox-....scope) where there is one, else the process tree under
-- the top-most process called NAME. The alert fires once the sum has stayed
-- above SIZE for FOR, and resolves when it drops below 90% of SIZE (the
-- hysteresis keeps a value hovering at the line from flapping).
local name = arg[1] or "firefox"
local size = memwatch.parse_bytes(arg[2] or "4G")
local hold = arg[3] or "30s"

memwatch.watch {
    name = name .. " over " .. memwatch.bytes(size),
    select = { name = name },
    group = "app",
    above = size,
    clear = math.floor(size * 0.9),
    sustain = hold,
    repeat_every = "15m", -- remind every 15 minutes while it stays big
    -- A list: both run for each event. log() writes one line to stderr.
    on_alert = { memwatch.actions.notify(), memwatch.actions.log() },
    on_resolve = { memwatch.actions.notify { urgency = "low" }, memwatch.actions.log() },
}

memwatch.run() -- until Ctrl-C or SIGTERM; SIGHUP re-reads this file
