-- memwatch.delivery: where alerts are sent over HTTP (Alertmanager,
-- webhooks), on the delivery engine of memwatch.core (libcurl's multi
-- interface). The engine runs inside memwatch's one wait: every sleep
-- between ticks moves requests along and never waits for one, so a slow or
-- dead endpoint delays no ALERT line and no tick. Each destination has a
-- bounded queue that keeps the newest state of each alert, retries with
-- backoff, and reports trouble on stderr (a destination fails, gives up,
-- overflows, recovers) with its URL's secrets replaced by "***".
--
--   local d = delivery.destination{ name = "webhook", url = "https://...",
--       timeout = 10, retries = 3, insecure = false, headers = {"X-A: b"} }
--   d:post(key, body, content_type)
--   delivery.stats()  -- what memwatch.delivery() returns
local core = require "memwatch.core"
local log = require "memwatch.log"

local M = {}

-- Defaults of a destination (as src/delivery sets them).
M.TIMEOUT, M.RETRIES = 10, 3

--- report(severity, message): where the engine's reports go (stderr, at
-- the report's level, under journald with its priority). Replaceable.
function M.report(severity, message)
    log.write(io.stderr, severity, "memwatch: " .. message)
end
core.delivery_reporter(function(severity, message) M.report(severity, message) end)

local list = {}   -- the destinations, in order of creation: {dest =, name =, url =}
local by_sig = {} -- the same, by their configuration

--- check_url(url) -> url | nil, message: an http:// or https:// URL with a
-- host, on one line. The message shows the URL redacted.
function M.check_url(url)
    if type(url) ~= "string" then return nil, "expected an http:// or https:// URL, got " .. type(url) end
    local scheme, host = url:match("^(%a[%w+.-]*)://([^/?#]*)")
    local shown = core.printable(core.redact_url(url))
    if not scheme or (scheme:lower() ~= "http" and scheme:lower() ~= "https") then
        return nil, string.format("'%s' is not an http:// or https:// URL", shown)
    end
    if (host:gsub("^.*@", "")) == "" then return nil, string.format("'%s' has no host", shown) end
    if url:find("[%c ]") then return nil, string.format("'%s' holds a space or a control character", shown) end
    return url
end

local function signature(cfg)
    local parts = {}
    for _, k in ipairs { "name", "url", "method", "timeout", "retries", "queue", "insecure" } do
        parts[#parts + 1] = tostring(cfg[k])
    end
    for _, h in ipairs(cfg.headers or {}) do parts[#parts + 1] = h end
    return table.concat(parts, "\0")
end

--- destination(cfg) -> destination | nil, message
-- cfg: url, name, method, headers ({"Name: value", ...}), timeout (s),
-- retries, queue, insecure. The same configuration twice (a script
-- reloaded, the same URL given twice) is the same destination, so its
-- counters go on. Raises for a bad URL or header.
function M.destination(cfg)
    local sig = signature(cfg)
    if by_sig[sig] then return by_sig[sig].dest end
    local d, err = core.delivery_destination(cfg)
    if not d then return nil, err end
    local entry = { dest = d, name = d:name(), url = d:url() }
    list[#list + 1] = entry
    by_sig[sig] = entry
    return d
end

--- stats() -> one table per destination: {name, url (redacted), sent,
-- failed, dropped, retried, queued (waiting or in flight), last_error,
-- last_success (Unix time)}
function M.stats()
    local out = {}
    for i, e in ipairs(list) do
        local s = e.dest:stats()
        out[i] = { name = e.name, url = e.url, sent = s.sent, failed = s.failed, dropped = s.dropped,
            retried = s.retried, queued = s.queued + s.in_flight, last_error = s.last_error,
            last_success = s.last_success }
    end
    return out
end

--- count() -> how many destinations there are
function M.count() return #list end

--- perform(): progress now, without blocking (the waits do this anyway).
M.perform = core.delivery_perform

--- flush(seconds) -> true when everything was delivered or given up, false
-- when the time ran out first. Ctrl-C raises "interrupted!", as in sleep.
M.flush = core.delivery_flush

return M
