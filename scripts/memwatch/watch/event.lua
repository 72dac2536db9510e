-- memwatch.watch.event: the event a rule's callbacks receive when a group
-- fires or resolves, and its text (describe, tostring).
local core = require "memwatch.core"
local text = require "memwatch.text"
local units = require "memwatch.units"
local rule_ = require "memwatch.watch.rule"

local M = {}

local printable = text.printable

local event_mt = { __name = "memwatch.event" }

local function human(rule, v)
    if v == nil then return "-" end
    if rule.metric_fn or (core.fields[rule.metric] and core.fields[rule.metric].kind == "bytes") then
        return units.bytes(v)
    end
    if math.type(v) == "float" then return string.format("%.6g", v) end
    return tostring(v)
end

--- gone_text(ev) -> "(gone)", "(gone: OOM-killed)", or nil for a group still
-- there: how every output tells a vanished group from a recovered one. An
-- alert restored from a state file that ended while memwatch was not
-- running reads "(gone while memwatch was down)" or "(ended while memwatch
-- was down)".
function M.gone_text(ev)
    if ev.while_down and ev.kind == "resolve" then
        return ev.gone and "(gone while memwatch was down)" or "(ended while memwatch was down)"
    end
    if not ev.gone then return nil end
    return ev.oom_killed and "(gone: OOM-killed)" or "(gone)"
end

event_mt.__index = {}
--- event:describe() -> one line: ALERT rule 'x' key: value (threshold), N processes
function event_mt.__index.describe(ev)
    local word = ev.kind == "alert" and "ALERT" or "RESOLVED"
    -- The key holds process names (bytes chosen by whoever started them):
    -- made printable here, so print(ev) in a callback is safe on a terminal.
    local parts = { word, string.format("rule '%s'", printable(ev.rule)), printable(ev.key) }
    if ev.slope then
        parts[#parts + 1] = string.format("%s grows %s (r2 %.2f, threshold %s)", ev.metric, ev.slope_text,
            ev.r2 or 0, ev.threshold_text)
        if ev.eta then
            parts[#parts + 1] = string.format("limit %s in %s", units.bytes(ev.limit), units.span(ev.eta))
        end
    else
        parts[#parts + 1] = string.format("%s %s (%s %s)", ev.metric, ev.value_text, ev.direction,
            ev.threshold_text)
    end
    parts[#parts + 1] = string.format("%d %s", ev.count, ev.count == 1 and "process" or "processes")
    parts[#parts + 1] = M.gone_text(ev)
    local line = table.concat(parts, " ")
    if ev.grew then line = line .. "; grew: " .. printable(ev.grew.text) end
    return line
end
event_mt.__tostring = function(ev) return ev:describe() end

--- human(rule, value) -> the value as the rule's metric reads: a size for
-- byte metrics and metric functions, else the number.
M.human = human

--- new(rule, st, kind, now, time, extra) -> event
-- st: the group's state; time: the wall clock time of `now`.
function M.new(rule, st, kind, now, time, extra)
    local ev = setmetatable({
        kind = kind,
        rule = rule.name,
        key = st.key,
        id = st.id,
        metric = rule.metric_fn and "metric" or rule.metric,
        group = rule.group,
        direction = rule.direction,
        value = st.value,
        threshold = rule.threshold,
        clear = rule.clear,
        since = st.since_wall,
        duration = st.pending and (now - st.pending) or 0,
        time = time,
        now = now,
        -- a copy: a one-process group's list is reused from tick to tick
        processes = table.move(st.processes or {}, 1, st.processes and #st.processes or 0, 1, {}),
        count = st.processes and #st.processes or 0,
        repeated = st.repeated or 0,
        -- Restored from a state file, in the first evaluation after a restart.
        while_down = st.restored_at ~= nil and st.restored_at == now or nil,
    }, event_mt)
    ev.value_text = human(rule, ev.value)
    -- As the user wrote it: "20% (4.7G)", "5.0M/s".
    ev.threshold_text = rule_.threshold_text(rule, function(v) return human(rule, v) end)
    if rule.growth then
        ev.slope, ev.r2, ev.eta, ev.limit, ev.window = st.slope, st.r2, st.eta, rule.growth.limit, rule.growth.window
        ev.slope_text = units.rate(st.slope, rule.growth.per)
    end
    for k, v in pairs(extra or {}) do ev[k] = v end
    return ev
end

return M
