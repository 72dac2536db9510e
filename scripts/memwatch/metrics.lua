-- memwatch.metrics: metrics a script adds to what `memwatch serve` exports
-- (and to the prometheus format through metrics.families()).
--
--   local metrics = require "memwatch.metrics"
--   local leaking = metrics.gauge("myrules_leaking_processes", "Processes the leak rule flags.", {"rule"})
--   leaking:set({rule = "chrome"}, 3)
--   local alerts = metrics.counter("myrules_alerts_total", "Alerts fired.", {"rule"})
--   alerts:inc({rule = "chrome"})
--   metrics.on_collect(function(records) ... end)   -- runs before every scrape
--
-- Names must be valid Prometheus names and may not start with process_memory_
-- or memwatch_ (memwatch's own). Counters end in _total. Asking again for a
-- metric of the same name and type returns the one that exists, so a reloaded
-- script keeps its series. Each metric holds at most MAX_SERIES label sets.
local M = {}

M.MAX_SERIES = 10000

local registry = { order = {}, by_name = {} }
local collectors = {}

local NAME = "^[%a_:][%w_:]*$"
local LABEL = "^[%a_][%w_]*$"
local RESERVED = { "process_memory_", "memwatch_" }

-- Raises at the first stack level outside this module: the user's call.
local function fail(fmt, ...)
    local here = debug.getinfo(1, "S").source
    local level = 2
    while true do
        local info = debug.getinfo(level, "S")
        if not info or info.source ~= here then break end
        level = level + 1
    end
    error(string.format(fmt, ...), level)
end

local Metric = {}
Metric.__index = Metric
Metric.__name = "memwatch.metric"
function Metric.__tostring(m) return string.format("%s %s (%d series)", m.type, m.name, #m.order) end

-- The series key of a label set: checked, values as strings, sorted.
local function key_of(m, labels, who)
    if labels == nil then labels = {} end
    if type(labels) ~= "table" then fail("%s: labels must be a table, got %s", who, type(labels)) end
    local keys, norm = {}, {}
    for k, v in pairs(labels) do
        if type(k) ~= "string" or not k:match(LABEL) or k:sub(1, 2) == "__" then
            fail("%s: invalid label name '%s' (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", who,
                tostring(k))
        end
        if m.labelset and not m.labelset[k] then
            fail("%s: label '%s' is not one of %s's labels (%s)", who, k, m.name, table.concat(m.labelnames, ", "))
        end
        if type(v) == "number" then
            v = math.type(v) == "integer" and string.format("%d", v) or tostring(v)
        elseif type(v) ~= "string" then
            fail("%s: label '%s' must be a string or a number, got %s", who, k, type(v))
        end
        keys[#keys + 1] = k
        norm[k] = v
    end
    if m.labelnames and #keys ~= #m.labelnames then
        for _, n in ipairs(m.labelnames) do
            if norm[n] == nil then fail("%s: label '%s' is missing", who, n) end
        end
    end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = k .. "\0" .. norm[k] end
    return table.concat(parts, "\1"), norm
end

local function series(m, labels, who)
    local key, norm = key_of(m, labels, who)
    local s = m.series[key]
    if not s then
        if #m.order >= M.MAX_SERIES then
            fail("%s: %s already has %d series (the limit); remove some or use fewer label values", who, m.name,
                M.MAX_SERIES)
        end
        s = { labels = norm, value = 0 }
        m.series[key] = s
        m.order[#m.order + 1] = key
    end
    return s
end

--- metric:set(labels, value): a gauge's value for these labels.
function Metric:set(labels, value)
    local who = self.name .. ":set"
    if self.type ~= "gauge" then fail("%s: %s is a counter; use inc", who, self.name) end
    if type(value) ~= "number" then fail("%s: value must be a number, got %s", who, type(value)) end
    series(self, labels, who).value = value
    return self
end

--- metric:inc([labels [, n]]): adds n (default 1); a counter only goes up.
function Metric:inc(labels, n)
    local who = self.name .. ":inc"
    if n == nil then n = 1 end
    if type(n) ~= "number" then fail("%s: amount must be a number, got %s", who, type(n)) end
    -- not (n >= 0), not n < 0: NaN is refused too.
    if self.type == "counter" and not (n >= 0) then -- luacheck: ignore 581
        fail("%s: a counter cannot go down (got %s)", who, tostring(n))
    end
    local s = series(self, labels, who)
    s.value = s.value + n
    return self
end

--- metric:get([labels]) -> value | nil
function Metric:get(labels)
    local key = key_of(self, labels, self.name .. ":get")
    local s = self.series[key]
    return s and s.value
end

--- metric:remove([labels]): drops one series (a process that is gone).
function Metric:remove(labels)
    local key = key_of(self, labels, self.name .. ":remove")
    if self.series[key] then
        self.series[key] = nil
        for i, k in ipairs(self.order) do
            if k == key then table.remove(self.order, i) break end
        end
    end
    return self
end

--- metric:clear(): drops every series.
function Metric:clear()
    self.series, self.order = {}, {}
    return self
end

local function define(kind, name, help, labelnames, who)
    if type(name) ~= "string" or not name:match(NAME) then
        fail("%s: invalid metric name '%s' (expected [a-zA-Z_:][a-zA-Z0-9_:]*)", who, tostring(name))
    end
    for _, p in ipairs(RESERVED) do
        if name:sub(1, #p) == p then fail("%s: metric names starting with %s are memwatch's own", who, p) end
    end
    if kind == "counter" and not name:match("_total$") then
        fail("%s: a counter's name must end in _total, got '%s'", who, name)
    end
    if type(help) ~= "string" or help == "" then fail("%s: %s needs a help text (a non-empty string)", who, name) end
    local set
    if labelnames ~= nil then
        if type(labelnames) ~= "table" then fail("%s: label names must be a list, got %s", who, type(labelnames)) end
        set = {}
        for i, l in ipairs(labelnames) do
            if type(l) ~= "string" or not l:match(LABEL) or l:sub(1, 2) == "__" then
                fail("%s: invalid label name '%s' (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", who,
                    tostring(l))
            end
            if set[l] then fail("%s: label '%s' given twice", who, l) end
            set[l] = i
        end
    end
    local old = registry.by_name[name]
    if old then
        if old.type ~= kind then fail("%s: %s is already defined as a %s", who, name, old.type) end
        return old
    end
    local m = setmetatable({ type = kind, name = name, help = help, labelnames = labelnames, labelset = set,
        series = {}, order = {} }, Metric)
    registry.by_name[name] = m
    registry.order[#registry.order + 1] = m
    return m
end

--- metrics.gauge(name, help [, labelnames]) -> metric
function M.gauge(name, help, labelnames)
    return define("gauge", name, help, labelnames, "memwatch.metrics.gauge")
end

--- metrics.counter(name, help [, labelnames]) -> metric (name ends in _total)
function M.counter(name, help, labelnames)
    return define("counter", name, help, labelnames, "memwatch.metrics.counter")
end

--- metrics.get(name) -> metric | nil
function M.get(name) return registry.by_name[name] end

--- metrics.unregister(name)
function M.unregister(name)
    local m = registry.by_name[name]
    if not m then return end
    registry.by_name[name] = nil
    for i, x in ipairs(registry.order) do
        if x == m then table.remove(registry.order, i) break end
    end
end

--- metrics.on_collect(fn): fn(records) runs before each exposition.
function M.on_collect(fn)
    if type(fn) ~= "function" then
        error(string.format("memwatch.metrics.on_collect: expected a function, got %s", type(fn)), 2)
    end
    collectors[#collectors + 1] = fn
end

--- metrics.collect(records [, report]) -> families
-- Runs the on_collect functions (an error is passed to report(message) and
-- the others still run), then returns every metric as a family for
-- memwatch.format's prometheus writer.
function M.collect(records, report)
    for _, fn in ipairs(collectors) do
        local ok, err = pcall(fn, records)
        if not ok and report then report(tostring(err)) end
    end
    return M.families()
end

--- metrics.families() -> {{name=, help=, type=, samples={{labels=, value=}}}, ...}
function M.families()
    local out = {}
    for _, m in ipairs(registry.order) do
        local samples = {}
        for i, k in ipairs(m.order) do
            local s = m.series[k]
            samples[i] = { labels = s.labels, value = s.value }
        end
        out[#out + 1] = { name = m.name, help = m.help, type = m.type, samples = samples }
    end
    return out
end

--- metrics.reset(): forgets every metric and collector (tests).
function M.reset()
    registry = { order = {}, by_name = {} }
    collectors = {}
end

return M
