-- memwatch.actions.webhook{url =, method = "POST", headers =, body = ...}:
-- each event as an HTTP request, queued and sent without delaying the
-- ticks (memwatch.delivery). body:
--   "json"   (default) the event in memwatch's webhook schema, version 1
--            (README "Sending alerts"; M.event_json below)
--   "slack"  a Slack-compatible incoming-webhook body: {"text": "..."}
--   "ntfy"   plain text for an ntfy topic, with Title, Priority and Tags
--   function(event) -> string: a body of your own (content_type = ...)
-- heartbeat = "1m" also sends a "heartbeat" event every minute.
local core = require "memwatch.core"
local json = require "memwatch.json"
local http = require "memwatch.actions.http"

local M = {}

local WHERE = "memwatch.actions.webhook"
local OPTIONS = { method = true, headers = true, body = true, content_type = true }
for k in pairs(http.COMMON) do OPTIONS[k] = true end

M.VERSION = 1 -- of the "json" body's schema
M.BODIES = { json = true, slack = true, ntfy = true }
local CONTENT_TYPE = { json = "application/json", slack = "application/json", ntfy = "text/plain; charset=utf-8" }

local function header_lines(h, level)
    if h == nil then return {} end
    if type(h) ~= "table" then error(string.format("%s: 'headers' must be a table, got %s", WHERE, type(h)), level) end
    local out = {}
    for k, v in pairs(h) do
        local line
        if math.type(k) == "integer" then
            line = v
        elseif type(k) == "string" and (type(v) == "string" or type(v) == "number") then
            line = k .. ": " .. tostring(v)
        end
        if type(line) ~= "string" or not line:match("^[!#$%%&'*+%-.^_`|~%w]+:") or line:find("[\r\n]") then
            error(string.format("%s: 'headers': %s is not a header (Name = \"value\", or \"Name: value\" on one " ..
                "line)", WHERE, math.type(k) == "integer" and string.format("entry %d", k) or
                string.format("'%s'", core.printable(tostring(k)))), level)
        end
        out[#out + 1] = line
    end
    table.sort(out)
    return out
end

--- check(opts [, level]) -> cfg: the options checked (no destination made)
function M.check(opts, level)
    level = (level or 2) + 1
    http.check_keys(WHERE, opts, OPTIONS, level)
    local c = http.common(WHERE, opts, level)
    c.method = opts.method or "POST"
    if type(c.method) ~= "string" or not c.method:match("^%u+$") then
        error(string.format("%s: 'method' must be an HTTP method such as POST or PUT, got %s", WHERE,
            core.printable(tostring(opts.method))), level)
    end
    c.headers = header_lines(opts.headers, level + 1)
    c.body = opts.body or "json"
    if type(c.body) ~= "function" and not M.BODIES[c.body] then
        error(string.format("%s: 'body' must be \"json\", \"slack\", \"ntfy\" or a function, got %s", WHERE,
            type(c.body) == "string" and ("'" .. core.printable(c.body) .. "'") or type(c.body)), level)
    end
    if opts.content_type ~= nil and (type(opts.content_type) ~= "string" or opts.content_type:find("[\r\n]")) then
        error(string.format("%s: 'content_type' must be one line of text", WHERE), level)
    end
    c.content_type = opts.content_type or CONTENT_TYPE[c.body] or "text/plain; charset=utf-8"
    return c
end

-- ---- the bodies (pure) -------------------------------------------------------------------

--- event_json(ev, instance) -> the "json" body: the event in schema version 1
function M.event_json(ev, instance)
    if ev.kind == "heartbeat" then
        return json.encode({ version = M.VERSION, kind = "heartbeat", instance = instance,
            time = http.rfc3339(ev.time), summary = M.text(ev, instance) }, true)
    end
    local procs = {}
    for i, p in ipairs(ev.processes or {}) do procs[i] = { pid = p.pid, name = p.name } end
    local t = {
        version = M.VERSION,
        kind = ev.kind,
        rule = ev.rule,
        key = ev.key,
        grouping = ev.group,
        instance = instance,
        metric = ev.metric,
        direction = ev.direction,
        value = ev.value,
        value_text = ev.value_text,
        threshold = ev.threshold,
        threshold_text = ev.threshold_text,
        count = ev.count or #procs,
        time = http.rfc3339(ev.time),
        since = ev.since and http.rfc3339(ev.since) or nil,
        repeated = ev.repeated or 0,
        gone = ev.gone == true,
        oom_killed = ev.oom_killed == true,
        slope = ev.slope,
        slope_text = ev.slope_text,
        -- Where the memory grew (growth rules, explain = true): as event.grew.
        grew = ev.grew and { pid = ev.grew.pid, change = ev.grew.change, text = ev.grew.text,
            categories = ev.grew.categories, regions = ev.grew.regions } or nil,
        summary = http.summary(ev, instance),
    }
    -- An empty list would encode as {}: the key is left out instead.
    if #procs > 0 then t.processes = procs end
    return json.encode(t, true)
end

--- text(ev, instance) -> one line for a person (Slack, ntfy)
function M.text(ev, instance)
    if ev.kind == "heartbeat" then return string.format("memwatch on %s is running", instance) end
    return http.summary(ev, instance)
end

--- slack(ev, instance) -> {"text": ...}
function M.slack(ev, instance)
    return json.encode({ text = M.text(ev, instance) }, true)
end

-- Header values must be ASCII without control characters.
local function ascii(s)
    return (s:gsub("[^\32-\126]", "?"))
end

--- ntfy(ev, instance) -> body, headers: plain text, titled and tagged
function M.ntfy(ev, instance)
    local title, priority, tags
    if ev.kind == "heartbeat" then
        title, priority, tags = "memwatch heartbeat", "min", "heartbeat"
    elseif ev.kind == "alert" then
        title, priority, tags = "memwatch ALERT: " .. ev.rule, "high", "warning"
    else
        title, priority, tags = "memwatch RESOLVED: " .. ev.rule, "default", "white_check_mark"
    end
    return M.text(ev, instance), { "Title: " .. ascii(title), "Priority: " .. priority, "Tags: " .. tags }
end

--- render(ev, cfg) -> body, headers: the request for one event
function M.render(ev, cfg)
    local b = cfg.body
    if b == "json" then return M.event_json(ev, cfg.instance) end
    if b == "slack" then return M.slack(ev, cfg.instance) end
    if b == "ntfy" then return M.ntfy(ev, cfg.instance) end
    local body = b(ev)
    if type(body) ~= "string" then
        error(string.format("%s: the body function returned %s, not a string", WHERE, type(body)), 0)
    end
    return body
end

-- ---- the action -----------------------------------------------------------------------

--- new(opts) -> the action: a function of the event
function M.new(opts)
    local cfg = M.check(opts, 2)
    local dest = http.destination("webhook", cfg, { method = cfg.method, headers = cfg.headers })
    local action = function(ev)
        local body, headers = M.render(ev, cfg)
        local ok, err = dest:post("alert\31" .. ev.rule .. "\31" .. ev.key, body, cfg.content_type, headers)
        if not ok then error("webhook: " .. err, 0) end
    end
    if cfg.heartbeat then
        local last
        http.every_tick(action, function(now)
            if last and now - last < cfg.heartbeat then return end
            last = now
            local ok, body, headers = pcall(M.render, { kind = "heartbeat", time = now, instance = cfg.instance },
                cfg)
            if not ok then
                http.posted(false, "webhook heartbeat: " .. tostring(body))
                return
            end
            http.posted(dest:post("heartbeat", body, cfg.content_type, headers))
        end)
    end
    return action
end

return M
