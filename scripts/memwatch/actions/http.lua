-- memwatch.actions.http: what the actions that send alerts over HTTP
-- (alertmanager, webhook) share: their options, the destination, the host's
-- name, times as RFC 3339, one line of text per event, and the tick hook
-- that re-posts and beats the heartbeat.
local core = require "memwatch.core"
local text = require "memwatch.text"
local units = require "memwatch.units"
local delivery = require "memwatch.delivery"
local engine = require "memwatch.watch.engine"
local event = require "memwatch.watch.event"

local M = {}

-- Options every HTTP action takes.
M.COMMON = { url = true, timeout = true, retries = true, insecure = true, heartbeat = true, instance = true }

--- check_keys(where, opts, allowed) -> opts. Raises (at the user's line)
-- for a non-table or an unknown key.
function M.check_keys(where, opts, allowed, level)
    level = (level or 2) + 1
    if opts == nil then error(where .. ": expected a table of options with 'url'", level) end
    if type(opts) ~= "table" then
        error(string.format("%s: options must be a table, got %s", where, type(opts)), level)
    end
    for k in pairs(opts) do
        if not allowed[k] then
            local names = {}
            for n in pairs(allowed) do names[#names + 1] = n end
            table.sort(names)
            error(string.format("%s: unknown option '%s' (expected %s)", where, tostring(k),
                table.concat(names, ", ")), level)
        end
    end
    return opts
end

local function duration(where, name, v, level)
    local ok, s = pcall(core.parse_duration, v)
    if not ok or s <= 0 then
        error(string.format("%s: '%s' must be a duration greater than 0, got %s", where, name, tostring(v)), level)
    end
    return s
end

--- common(where, opts [, level]) -> {url, timeout, retries, insecure,
-- heartbeat, instance}: the shared options checked. Raises at level.
function M.common(where, opts, level)
    level = (level or 2) + 1
    local c = {}
    local url, why = delivery.check_url(opts.url)
    if not url then error(where .. ": 'url': " .. why, level) end
    c.url = url
    c.timeout = opts.timeout ~= nil and duration(where, "timeout", opts.timeout, level) or delivery.TIMEOUT
    if opts.retries ~= nil then
        if math.type(opts.retries) ~= "integer" or opts.retries < 0 then
            error(string.format("%s: 'retries' must be an integer >= 0, got %s", where, tostring(opts.retries)),
                level)
        end
        c.retries = opts.retries
    else
        c.retries = delivery.RETRIES
    end
    if opts.insecure ~= nil and type(opts.insecure) ~= "boolean" then
        error(string.format("%s: 'insecure' must be true or false, got %s", where, type(opts.insecure)), level)
    end
    c.insecure = opts.insecure == true
    if opts.heartbeat ~= nil and opts.heartbeat ~= false then
        c.heartbeat = duration(where, "heartbeat", opts.heartbeat, level)
    end
    if opts.instance ~= nil and (type(opts.instance) ~= "string" or opts.instance == "") then
        error(string.format("%s: 'instance' must be a non-empty string, got %s", where, tostring(opts.instance)),
            level)
    end
    c.instance = opts.instance or M.hostname()
    return c
end

--- hostname() -> this host's name ("localhost" if it has none)
function M.hostname()
    return core.hostname() or "localhost"
end

--- destination(name, c [, extra]) -> destination. c from common(); extra:
-- method, headers. Raises when libcurl cannot start.
function M.destination(name, c, extra)
    extra = extra or {}
    local d, err = delivery.destination { name = name, url = c.url, method = extra.method, headers = extra.headers,
        timeout = c.timeout, retries = c.retries, insecure = c.insecure }
    if not d then error(err, 0) end
    return d
end

--- posted(ok, err): what a post from the tick hook (no rule's callback,
-- so nothing to blame) says when it could not even be queued
function M.posted(ok, err)
    if not ok then delivery.report(3, "delivery: " .. tostring(err)) end
end

--- rfc3339(epoch) -> "2026-11-25T09:04:05.250Z" (UTC, milliseconds)
function M.rfc3339(t)
    local secs = math.floor(t)
    local ms = math.floor((t - secs) * 1000 + 0.5)
    if ms >= 1000 then secs, ms = secs + 1, ms - 1000 end
    return os.date("!%Y-%m-%dT%H:%M:%S", secs) .. string.format(".%03dZ", ms)
end

--- summary(ev [, instance]) -> "ALERT rule 'big' firefox[42]: footprint 4.2G
-- (above 4.0G), 3 processes on host1" (printable; "(gone)" or "(gone:
-- OOM-killed)" after a vanished group)
function M.summary(ev, instance)
    local cond
    if ev.slope then
        cond = string.format("%s grows %s (threshold %s)", ev.metric, ev.slope_text or
            (units.bytes(ev.slope * 3600) .. "/h"), ev.threshold_text or tostring(ev.threshold))
    else
        cond = string.format("%s %s (%s %s)", ev.metric, ev.value_text or tostring(ev.value), ev.direction,
            ev.threshold_text or tostring(ev.threshold))
    end
    local gone = event.gone_text(ev)
    return text.printable(string.format("%s rule '%s' %s: %s, %d %s%s%s%s", ev.kind == "alert" and "ALERT" or
        "RESOLVED", ev.rule, ev.key, cond, ev.count or 0, ev.count == 1 and "process" or "processes",
        gone and (" " .. gone) or "", instance and (" on " .. instance) or "",
        ev.grew and ev.grew.text and ("; grew: " .. ev.grew.text) or ""))
end

-- ---- the tick hook ----------------------------------------------------------------------

-- Functions of the wall clock run on every tick: re-posts of firing
-- alerts, heartbeats. Weak keys: an action no rule holds any more (a
-- reloaded script) stops.
local periodic = setmetatable({}, { __mode = "k" })

--- every_tick(owner, fn): fn(wall_time) runs on every tick while owner lives.
function M.every_tick(owner, fn)
    periodic[owner] = fn
end

engine.on_tick(function(now)
    local e = engine.current()
    local clock = e and e.clock
    local wall = clock and clock.time and (clock.time() - (clock.now() - now)) or core.time()
    for _, fn in pairs(periodic) do fn(wall) end
    -- Requests posted by this tick's actions start now, not at the next wait.
    delivery.perform()
end)

return M
