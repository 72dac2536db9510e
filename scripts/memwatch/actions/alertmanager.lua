-- memwatch.actions.alertmanager{url =, labels =, annotations =, ...}: alerts
-- to a Prometheus Alertmanager through its API v2 (POST /api/v2/alerts), as
-- Prometheus sends them. One action serves on_alert and on_resolve:
--
--   * a firing alert carries startsAt (when its condition began) and an
--     endsAt four re-post intervals ahead, so the alerts of a memwatch that
--     died resolve by themselves; while it fires it is posted again every
--     `resend` (default 1m), well within that endsAt;
--   * a resolve posts endsAt = now, which ends the alert at once.
--
-- Labels: alertname (the rule's name), key, grouping, instance (the host's
-- name, or `instance`) and the user's labels: the set `memwatch rules
-- --prometheus` gives its rules (memwatch.promrules.alert_labels), so
-- Alertmanager deduplicates the two. Annotations: value, threshold,
-- processes, pids, gone / oom_killed when the group vanished, summary, and
-- the user's annotations. heartbeat = "1m" also posts an always-firing
-- "MemwatchHeartbeat" alert every minute (like Prometheus' Watchdog), so a
-- receiver notices a memwatch that went silent.
local json = require "memwatch.json"
local text = require "memwatch.text"
local promrules = require "memwatch.promrules"
local http = require "memwatch.actions.http"
local engine = require "memwatch.watch.engine"

local M = {}

local WHERE = "memwatch.actions.alertmanager"
local OPTIONS = { labels = true, annotations = true, resend = true }
for k in pairs(http.COMMON) do OPTIONS[k] = true end

M.PATH = "/api/v2/alerts"
M.HEARTBEAT = "MemwatchHeartbeat"
M.RESEND = 60      -- seconds between posts of a firing alert
M.ENDS_AHEAD = 4   -- endsAt is this many resend intervals ahead

local function string_map(what, t, level, check_names)
    if t == nil then return {} end
    if type(t) ~= "table" then error(string.format("%s: '%s' must be a table, got %s", WHERE, what, type(t)), level) end
    local out = {}
    for k, v in pairs(t) do
        if check_names then
            local why = promrules.label_problem(k)
            if why then error(string.format("%s: label '%s' %s", WHERE, tostring(k), why), level) end
        elseif type(k) ~= "string" then
            error(string.format("%s: '%s' keys must be strings", WHERE, what), level)
        end
        if type(v) ~= "string" and type(v) ~= "number" then
            error(string.format("%s: %s '%s' must be a string, got %s", WHERE, what:sub(1, -2), k, type(v)), level)
        end
        out[k] = tostring(v)
    end
    return out
end

--- url(base) -> the API v2 alerts URL of an Alertmanager at base (a URL
-- already ending in /api/v2/alerts is kept)
function M.url(base)
    local path_start = base:find("[/?#]", (base:find("://", 1, true) or 0) + 3)
    local root, rest = base, ""
    if path_start then root, rest = base:sub(1, path_start - 1), base:sub(path_start) end
    local path, query = rest:match("^([^?#]*)(.*)$")
    if path:sub(-#M.PATH) == M.PATH then return base end
    return root .. path:gsub("/+$", "") .. M.PATH .. query
end

--- check(opts [, level]) -> cfg: the options checked (no destination made)
function M.check(opts, level)
    level = (level or 2) + 1
    http.check_keys(WHERE, opts, OPTIONS, level)
    local c = http.common(WHERE, opts, level)
    c.url = M.url(c.url)
    c.labels = string_map("labels", opts.labels, level + 1, true)
    c.annotations = string_map("annotations", opts.annotations, level + 1, false)
    c.resend = M.RESEND
    if opts.resend ~= nil then
        local ok, s = pcall(require("memwatch.core").parse_duration, opts.resend)
        if not ok or s <= 0 then
            error(string.format("%s: 'resend' must be a duration greater than 0, got %s", WHERE,
                tostring(opts.resend)), level)
        end
        c.resend = s
    end
    return c
end

-- ---- the bodies (pure) -------------------------------------------------------------------

--- labels(ev, cfg) -> the alert's label set
function M.labels(ev, cfg)
    return promrules.alert_labels { rule = ev.rule, key = ev.key, grouping = ev.group, instance = cfg.instance,
        labels = cfg.labels }
end

local function pids(ev)
    local out = {}
    for i, p in ipairs(ev.processes or {}) do out[i] = tostring(p.pid) end
    return table.concat(out, " ")
end

--- annotations(ev, cfg) -> the alert's annotations
function M.annotations(ev, cfg)
    local a = {
        value = ev.slope_text or ev.value_text or tostring(ev.value),
        threshold = ev.threshold_text or tostring(ev.threshold),
        processes = tostring(ev.count or 0),
        pids = pids(ev),
        summary = http.summary(ev, cfg.instance),
    }
    if ev.gone then a.gone = "true" end
    if ev.oom_killed then a.oom_killed = "true" end
    if ev.grew and ev.grew.text then a.grew = text.printable(ev.grew.text) end
    for k, v in pairs(cfg.annotations or {}) do a[k] = v end
    return a
end

--- body(alert) -> the JSON text Alertmanager takes: a list of one alert.
-- alert: {labels =, annotations =, starts =, ends =} (Unix times)
function M.body(alert)
    return json.encode({ {
        labels = alert.labels,
        annotations = alert.annotations,
        startsAt = http.rfc3339(alert.starts),
        endsAt = http.rfc3339(alert.ends),
    } }, true)
end

--- alert(ev, cfg, starts) -> {labels, annotations, starts, ends} for the
-- event at its time: a firing one ends ENDS_AHEAD resends ahead, a resolve now
function M.alert(ev, cfg, starts)
    local t = ev.time
    return {
        labels = M.labels(ev, cfg),
        annotations = M.annotations(ev, cfg),
        starts = starts or ev.since or t,
        ends = ev.kind == "alert" and (t + M.ENDS_AHEAD * cfg.resend) or t,
    }
end

--- heartbeat(cfg, starts, now, interval) -> the MemwatchHeartbeat alert
function M.heartbeat(cfg, starts, now, interval)
    local labels = promrules.alert_labels { rule = M.HEARTBEAT, instance = cfg.instance, labels = cfg.labels }
    return {
        labels = labels,
        annotations = { summary = string.format("memwatch on %s is running (posted every %gs)", cfg.instance,
            interval) },
        starts = starts,
        ends = now + M.ENDS_AHEAD * interval,
    }
end

-- ---- the action -----------------------------------------------------------------------

-- destination -> what its actions have firing, and the heartbeat's start
local state_of = setmetatable({}, { __mode = "k" })

local function key_of(ev) return "alert\31" .. ev.rule .. "\31" .. ev.key end

--- new(opts) -> the action: a function of the event
function M.new(opts)
    local cfg = M.check(opts, 2)
    local dest = http.destination("alertmanager", cfg)
    -- Per destination, not per action: a script reloaded (SIGHUP) makes new
    -- actions over the same destination, and what fires goes on being re-posted.
    local shared = state_of[dest] or { firing = {} }
    state_of[dest] = shared
    local firing = shared.firing -- key -> {alert =, posted =}
    local function post(key, alert)
        return dest:post(key, M.body(alert), "application/json")
    end
    local action = function(ev)
        local key = key_of(ev)
        local f = firing[key]
        local alert = M.alert(ev, cfg, f and f.alert.starts)
        local ok, err = post(key, alert)
        if not ok then error("alertmanager: " .. err, 0) end
        if ev.kind == "alert" then
            firing[key] = { alert = alert, posted = ev.time }
        else
            firing[key] = nil
        end
    end
    -- After a restart with a state file, an alert still firing is posted
    -- again (with its first startsAt) and re-posted from then on, or
    -- Alertmanager would let it expire while it still fires.
    engine.resumes(action)
    http.every_tick(action, function(now)
        for key, f in pairs(firing) do
            if now - f.posted >= cfg.resend then
                f.alert.ends = now + M.ENDS_AHEAD * cfg.resend
                f.posted = now
                http.posted(post(key, f.alert))
            end
        end
        if cfg.heartbeat and (not shared.beat_posted or now - shared.beat_posted >= cfg.heartbeat) then
            shared.beat_starts = shared.beat_starts or now
            shared.beat_posted = now
            http.posted(post("heartbeat", M.heartbeat(cfg, shared.beat_starts, now, cfg.heartbeat)))
        end
    end)
    return action
end

return M
