-- memwatch.service: what memwatch tells a service manager, through
-- memwatch.core.notify (the sd_notify(3) datagram): READY=1 with a STATUS
-- once the first scan is done, WATCHDOG=1 at half of $WATCHDOG_USEC from
-- the loop that does the work (a hung loop stops feeding it and systemd
-- restarts the service), RELOADING=1 then READY=1 around a SIGHUP reload,
-- STOPPING=1 at exit. Outside a service ($NOTIFY_SOCKET unset) each call
-- does nothing; a socket that cannot be reached is reported once.
local core = require "memwatch.core"
local log = require "memwatch.log"

local M = {}

local warned = false

--- send(text) -> true | false (no $NOTIFY_SOCKET) | nil, message, errno
function M.send(msg)
    local ok, err, errno = core.notify(msg)
    if ok == nil and not warned then
        warned = true
        log.write(io.stderr, log.WARNING, "memwatch: " .. err ..
            "; the service manager is not told of readiness or fed its watchdog")
    end
    return ok, err, errno
end

local announced = false

--- sampler_line() -> the line a service logs once: which sampler its scans
-- use and why (memwatch.sampler())
function M.sampler_line()
    local name, why = core.sampler()
    return string.format("memwatch: sampler %s (%s)", name or "none", why)
end

--- ready(status): READY=1 and a one-line STATUS; under a service manager
-- the first one also logs which sampler the scans use and why
function M.ready(status)
    local sock = os.getenv("NOTIFY_SOCKET")
    if not announced and sock and sock ~= "" then
        announced = true
        log.write(io.stderr, log.INFO, M.sampler_line())
    end
    return M.send("READY=1\nSTATUS=" .. tostring(status):gsub("[\r\n]", " "))
end

--- reloading(): RELOADING=1 with the monotonic time it began (systemd >= 253
-- wants MONOTONIC_USEC with it; older versions ignore it)
function M.reloading()
    return M.send(string.format("RELOADING=1\nMONOTONIC_USEC=%d", math.floor(core.now() * 1e6)))
end

function M.stopping()
    return M.send("STOPPING=1")
end

--- watchdog_interval() -> seconds between feeds (half of $WATCHDOG_USEC), or
-- nil without a watchdog or when $WATCHDOG_PID names another process
function M.watchdog_interval()
    local usec = math.tointeger(tonumber(os.getenv("WATCHDOG_USEC") or ""))
    if not usec or usec <= 0 then return nil end
    local pid = os.getenv("WATCHDOG_PID")
    if pid and pid ~= "" and math.tointeger(tonumber(pid)) ~= core.getpid() then return nil end
    return usec / 2e6
end

local next_feed

--- watchdog(now) -> when the next feed is due (math.huge without a
-- watchdog); feeds it when due. Callers wake up by then.
function M.watchdog(now)
    local every = M.watchdog_interval()
    if not every then return math.huge end
    if not next_feed or now >= next_feed - 1e-6 then
        M.send("WATCHDOG=1")
        next_feed = now + every
    end
    return next_feed
end

-- The same calls doing nothing, for loops on a simulated clock (replay).
M.none = {
    ready = function() end, reloading = function() end, stopping = function() end,
    watchdog = function() return math.huge end,
}

--- of(clock) -> this module for the real clock, M.none otherwise
function M.of(clock)
    return clock.real and M or M.none
end

return M
