-- memwatch.watch: the rule engine behind memwatch.watch{...} and
-- memwatch.run([seconds]).
--
-- An engine holds rules and runs them: at each tick, the rules that are due
-- share one scan reading the union of the fields they need; each rule picks
-- its processes (select), forms groups, computes one value per group and
-- moves that group's state machine (pending -> firing -> resolved), calling
-- on_alert / on_resolve under a CPU budget and a memory cap.
--
-- Everything the engine takes from the outside world is injectable, so tests
-- replay recorded series deterministically:
--   local e = require("memwatch.watch").engine{
--       sampler = function(fields) return records end,
--       clock = { now = function() ... end, sleep = function(s) ... end, time = ... },
--       app_key = function(rec) return key or nil end,
--       report = function(line) ... end }
local core = require "memwatch.core"
local rule_ = require "memwatch.watch.rule"
local group_ = require "memwatch.watch.group"

local M = {}

local EPS = 1e-9

local function fmt_bytes(n)
    if n == nil then return "-" end
    if n < 0 then return "-" .. core.bytes(-n) end
    return core.bytes(n)
end
M.bytes = fmt_bytes

-- Sorted list of the union of several field lists.
local function union(lists)
    local set, out = {}, {}
    for _, list in ipairs(lists) do
        for _, f in ipairs(list) do
            if not set[f] then
                set[f] = true
                out[#out + 1] = f
            end
        end
    end
    table.sort(out)
    return out
end

-- ---- events ---------------------------------------------------------------------

local event_mt = { __name = "memwatch.event" }

local function human(rule, v)
    if v == nil then return "-" end
    if rule.metric_fn or (core.fields[rule.metric] and core.fields[rule.metric].kind == "bytes") then
        return fmt_bytes(v)
    end
    if math.type(v) == "float" then return string.format("%.6g", v) end
    return tostring(v)
end

event_mt.__index = {}
--- event:describe() -> one line: ALERT rule 'x' key: value (threshold), N processes
function event_mt.__index.describe(ev)
    local word = ev.kind == "alert" and "ALERT" or "RESOLVED"
    -- The key holds process names (bytes chosen by whoever started them):
    -- made printable here, so print(ev) in a callback is safe on a terminal.
    local printable = require("memwatch.text").printable
    local parts = { word, string.format("rule '%s'", printable(ev.rule)), printable(ev.key) }
    if ev.slope then
        parts[#parts + 1] = string.format("%s grows %s/h (r2 %.2f, threshold %s/h)", ev.metric,
            fmt_bytes(ev.slope * 3600), ev.r2 or 0, fmt_bytes(ev.threshold * 3600))
        if ev.eta then parts[#parts + 1] = string.format("limit %s in %s", fmt_bytes(ev.limit), M.span(ev.eta)) end
    else
        parts[#parts + 1] = string.format("%s %s (%s %s)", ev.metric, ev.value_text, ev.direction,
            ev.threshold_text)
    end
    parts[#parts + 1] = string.format("%d %s", ev.count, ev.count == 1 and "process" or "processes")
    if ev.gone then parts[#parts + 1] = "(gone)" end
    return table.concat(parts, " ")
end
event_mt.__tostring = function(ev) return ev:describe() end

--- span(seconds) -> "3h12m", "45s", "2d4h"
function M.span(s)
    if s == nil then return "-" end
    if s == math.huge then return "never" end
    s = math.floor(s + 0.5)
    if s < 60 then return s .. "s" end
    if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
    if s < 86400 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
    return string.format("%dd%02dh", s // 86400, (s % 86400) // 3600)
end

-- ---- growth: least squares over the window ----------------------------------------

--- trend(samples) -> slope (units per second), r2, n. samples: {{t, v}, ...}
function M.trend(samples)
    local n = #samples
    if n < 2 then return nil, nil, n end
    local t0 = samples[1][1]
    local st, sv = 0.0, 0.0
    for i = 1, n do
        st = st + (samples[i][1] - t0)
        sv = sv + samples[i][2]
    end
    local mt, mv = st / n, sv / n
    local stt, stv, svv = 0.0, 0.0, 0.0
    for i = 1, n do
        local dt, dv = samples[i][1] - t0 - mt, samples[i][2] - mv
        stt = stt + dt * dt
        stv = stv + dt * dv
        svv = svv + dv * dv
    end
    if stt <= 0 then return nil, nil, n end
    local slope = stv / stt
    local r2 = svv > 0 and (stv * stv) / (stt * svv) or 0.0
    return slope, r2, n
end

-- ---- the engine ---------------------------------------------------------------------

local Engine = {}
Engine.__index = Engine

local default -- the engine behind memwatch.watch{} and memwatch.run()

local ENGINE_OPTS = { sampler = true, clock = true, app_key = true, report = true, every = true,
    budget = true, budget_time = true, memory_limit = true, error_interval = true, script = true,
    signals = true }

local RUN_OPTS = { seconds = true, every = true, budget = true, budget_time = true, memory_limit = true,
    error_interval = true }

local function default_sampler(fields)
    return require("memwatch").processes(nil, fields)
end

local function real_clock()
    return {
        now = core.now,
        time = core.time,
        -- Wakes early for SIGINT, SIGTERM and SIGHUP (see catch_signals).
        sleep = function(s) return core.wait_signal(s) end,
        real = true,
    }
end

local function check_opts(opts, allowed, where)
    for k in pairs(opts) do
        if not allowed[k] then
            local names = {}
            for n in pairs(allowed) do names[#names + 1] = n end
            table.sort(names)
            error(rule_.user_where() .. string.format("%s: unknown option '%s' (expected %s)", where, tostring(k),
                table.concat(names, ", ")), 0)
        end
    end
end

local function positive_duration(v, what)
    local ok, s = pcall(core.parse_duration, v)
    if not ok or s <= 0 then
        error(rule_.user_where() .. string.format("%s must be a duration greater than 0, got %s", what,
            tostring(v)), 0)
    end
    return s
end

local function limit_bytes(v, what)
    if v == false or v == 0 then return 0 end
    local ok, n = pcall(core.parse_bytes, v)
    if not ok then
        error(rule_.user_where() .. string.format("%s: %s", what, (tostring(n):gsub("^[^\n]-:%d+: ", ""))), 0)
    end
    return n
end

--- engine(opts) -> a new engine with no rules.
function M.engine(opts)
    opts = opts or {}
    if type(opts) ~= "table" then error("memwatch.watch.engine: options must be a table", 2) end
    check_opts(opts, ENGINE_OPTS, "memwatch.watch.engine")
    local e = setmetatable({}, Engine)
    e.rules = {}
    e.by_name = {}
    e.count = 0
    e.sampler = opts.sampler or default_sampler
    e.clock = opts.clock or real_clock()
    e.app_key_fn = opts.app_key
    e.report_fn = opts.report or function(line)
        -- Reports quote callback errors, which may quote process names.
        io.stderr:write(require("memwatch.text").printable(line), "\n")
        io.stderr:flush()
    end
    e.every = opts.every and positive_duration(opts.every, "every") or 2.0
    e.budget = opts.budget or 10000000
    e.budget_time = opts.budget_time or 1.0
    e.memory_limit = limit_bytes(opts.memory_limit == nil and "256M" or opts.memory_limit, "memory_limit")
    e.error_interval = opts.error_interval or 60
    e.script = opts.script
    -- Catch SIGINT/SIGTERM/SIGHUP while running: by default only with the
    -- real clock (a replay with a fake clock leaves signals alone).
    if opts.signals == nil then e.signals = e.clock.real and true or false else e.signals = opts.signals end
    e.reports = {}
    e.app_cache = {}
    e.ticks = 0
    return e
end

function Engine:report(key, line, now)
    now = now or self.clock.now()
    local r = self.reports[key]
    if r and now - r.last < self.error_interval then
        r.suppressed = r.suppressed + 1
        return
    end
    local suffix = ""
    if r and r.suppressed > 0 then
        suffix = string.format(" (%d more like this in the last %s)", r.suppressed, M.span(now - r.last))
    end
    self.reports[key] = { last = now, suppressed = 0 }
    self.report_fn("memwatch: " .. line .. suffix)
end

-- Runs a user function under the CPU budget; failures are reported (rate
-- limited per rule and callback) and give ok = false.
function Engine:call(rule, what, fn, ...)
    local ok, a, b
    if core.budget_call then
        ok, a, b = core.budget_call(self.budget, self.budget_time, fn, ...)
    else
        ok, a = pcall(fn, ...)
        b = "error"
    end
    if ok then return true, a end
    local msg
    if b == "budget" then
        msg = string.format("%s: %s stopped: %s", rule.label, what, a)
    elseif b == "memory" then
        local limit = core.memory_limit and core.memory_limit() or 0
        msg = string.format("%s: %s stopped: the interpreter memory cap%s was reached (%s)", rule.label, what,
            limit > 0 and (" of " .. fmt_bytes(limit)) or "", a)
        collectgarbage()
    else
        msg = string.format("%s: %s: %s", rule.label, what, a)
    end
    self:report(rule.name .. "\0" .. what, msg)
    return false, nil, b
end

--- engine:watch(def) -> rule. Raises (naming the rule and the key) on a bad definition.
function Engine:watch(def)
    local target = self.collecting or self
    local r = rule_.compile(def, "#" .. (target.count + 1))
    if target.by_name[r.name] then
        error(rule_.user_where() .. string.format("memwatch.watch: %s: a rule with this name already exists",
            r.label), 0)
    end
    r.states = {}
    target.count = target.count + 1
    target.by_name[r.name] = r
    target.rules[#target.rules + 1] = r
    return r
end

function Engine:rule_every(r)
    return r.every or self.every
end

--- engine:describe() -> one line per rule saying what it does.
function Engine:describe()
    local out = {}
    for _, r in ipairs(self.rules) do out[#out + 1] = rule_.describe(r, fmt_bytes) end
    return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

--- engine:state(name) -> the rule's live states by group id (for inspection).
function Engine:state(name)
    local r = self.by_name[name]
    return r and r.states
end

local function selected(rule, recs)
    local c = rule.select
    local out = {}
    for _, r in ipairs(recs) do
        if (not c.name or r.name == c.name) and (not c.uid or r.uid == c.uid) and
            (not rule.pid_set or rule.pid_set[r.pid]) then
            if not c.match or require("memwatch.select").matches(c, r) then out[#out + 1] = r end
        end
    end
    return out
end

function Engine:app_key(rec)
    if self.app_key_fn then return self.app_key_fn(rec) end
    -- A process's app rarely changes: cache it per process (pid and start
    -- time), refreshed now and then.
    local id = group_.ident(rec)
    local now = self.clock.now()
    local c = self.app_cache[id]
    if c and now - c.at < 30 then return c.key end
    local key = core.app_key(rec.pid)
    self.app_cache[id] = { key = key or false, at = now }
    return key or nil
end

function Engine:value(rule, g)
    if rule.metric_fn then
        local arg = rule.group == "none" and g.processes[1] or g
        local ok, v = self:call(rule, "metric", rule.metric_fn, arg)
        if not ok then return nil end
        if v ~= nil and type(v) ~= "number" then
            self:report(rule.name .. "\0metric", string.format("%s: metric: returned a %s, expected a number",
                rule.label, type(v)))
            return nil
        end
        return v
    end
    local sum, any = 0, false
    for _, p in ipairs(g.processes) do
        local v = p[rule.metric]
        if v then
            sum = sum + v
            any = true
        elseif p.denied and p.denied[rule.metric] then
            -- A member the system would not let us read: a sum without it
            -- would understate the group, so there is no value this tick.
            return nil
        end
    end
    return any and sum or nil
end

local function wall(self, now)
    local c = self.clock
    if c.time then return c.time() - (c.now() - now) end
    return now
end

function Engine:emit(rule, st, kind, now, extra)
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
        time = wall(self, now),
        now = now,
        processes = st.processes or {},
        count = st.processes and #st.processes or 0,
        repeated = st.repeated or 0,
    }, event_mt)
    ev.value_text = human(rule, ev.value)
    ev.threshold_text = rule.direction == "growth" and (fmt_bytes(rule.threshold * 3600) .. "/h") or
        human(rule, rule.threshold)
    if rule.growth then
        ev.slope, ev.r2, ev.eta, ev.limit, ev.window = st.slope, st.r2, st.eta, rule.growth.limit, rule.growth.window
    end
    for k, v in pairs(extra or {}) do ev[k] = v end
    local list = kind == "alert" and rule.on_alert or rule.on_resolve
    for _, fn in ipairs(list) do
        self:call(rule, kind == "alert" and "on_alert" or "on_resolve", fn, ev)
    end
    return ev
end

-- The rule's condition for one group: returns met (to fire), holds (to keep
-- firing), and updates growth statistics on st.
local function condition(rule, st, v, now)
    if rule.direction == "above" then
        return v > rule.threshold, v >= rule.clear
    elseif rule.direction == "below" then
        return v < rule.threshold, v <= rule.clear
    end
    local g = rule.growth
    local samples = {}
    for _, s in ipairs(st.samples) do
        if s[1] >= now - g.window - EPS then samples[#samples + 1] = s end
    end
    samples[#samples + 1] = { now, v }
    st.samples = samples
    local slope, r2 = M.trend(samples)
    st.slope, st.r2 = slope, r2
    st.eta = nil
    if slope and g.limit then
        if v >= g.limit then
            st.eta = 0
        elseif slope > 0 then
            st.eta = (g.limit - v) / slope
        end
    end
    -- No verdict during the warm-up, or while the window holds too few
    -- samples to fit a line (after a gap in sampling): neither fire nor
    -- resolve, keep whatever state the rule is in.
    if now - st.first < g.warmup - EPS or #samples < 3 or not slope then
        return false, st.firing
    end
    return slope > g.rate and r2 >= g.min_r2, slope >= rule.clear
end

function Engine:step(rule, st, v, now)
    st.value = v
    local met, holds = condition(rule, st, v, now)
    if not st.firing then
        if met then
            if not st.pending then
                st.pending = now
                st.since_wall = wall(self, now)
                st.hits = 0
            end
            st.hits = st.hits + 1
            local due
            if rule.sustain_n then
                due = st.hits >= rule.sustain_n
            else
                due = now - st.pending >= rule.sustain_s - EPS
            end
            if due then
                st.firing = true
                st.repeated = 0
                st.last_alert = now
                self:emit(rule, st, "alert", now)
            end
        else
            st.pending, st.hits, st.since_wall = nil, 0, nil
        end
    elseif not holds then
        st.firing = false
        self:emit(rule, st, "resolve", now)
        st.pending, st.hits, st.since_wall, st.repeated = nil, 0, nil, 0
    elseif rule.repeat_every and now - st.last_alert >= rule.repeat_every - EPS then
        st.repeated = st.repeated + 1
        st.last_alert = now
        self:emit(rule, st, "alert", now)
    end
end

function Engine:evaluate(rule, ctx, now)
    local sel = selected(rule, ctx.recs)
    local groups = group_.build(rule, sel, ctx, function(fn, rec) return self:call(rule, "group", fn, rec) end)
    local seen = {}
    for _, g in ipairs(groups) do
        seen[g.id] = true
        local st = rule.states[g.id]
        if not st then
            st = { id = g.id, key = g.key, first = now, hits = 0, firing = false, samples = {} }
            rule.states[g.id] = st
        end
        st.key = g.key
        st.processes = g.processes
        local v = self:value(rule, g)
        if v ~= nil then self:step(rule, st, v, now) end
    end
    -- Groups that are gone: a firing one resolves (its processes exited),
    -- any other state is forgotten.
    for id, st in pairs(rule.states) do
        if not seen[id] then
            rule.states[id] = nil
            if st.firing then
                st.value = 0
                st.processes = {}
                self:emit(rule, st, "resolve", now, { gone = true })
            end
        end
    end
end

--- engine:tick([now]) -> time of the next due rule. Runs the due rules.
function Engine:tick(now)
    now = now or self.clock.now()
    local due, lists = {}, {}
    for _, r in ipairs(self.rules) do
        if not r.next_at then
            r.base, r.k = now, 0
            r.next_at = now
        end
        if r.next_at <= now + EPS then
            due[#due + 1] = r
            lists[#lists + 1] = r.need
        end
    end
    if #due > 0 then
        self.ticks = self.ticks + 1
        local recs = self.sampler(union(lists))
        local ctx = group_.context(recs, function(rec) return self:app_key(rec) end)
        for _, r in ipairs(due) do self:evaluate(r, ctx, now) end
        -- Next times are on each rule's grid base + k * every, so ticks never
        -- drift; slots missed by a slow tick are skipped, not caught up.
        local after = self.clock.now()
        for _, r in ipairs(due) do
            local every = self:rule_every(r)
            r.k = math.max(r.k + 1, math.floor((after - r.base) / every + EPS) + 1)
            r.next_at = r.base + r.k * every
        end
    end
    local actions = package.loaded["memwatch.actions"]
    if actions and actions.poll then actions.poll(now) end
    local next_at = math.huge
    for _, r in ipairs(self.rules) do
        if r.next_at < next_at then next_at = r.next_at end
    end
    return next_at
end

function Engine:stop(reason)
    self.stopping = reason or "stopped"
end

-- The sentinel that ends a script being re-run for a reload at its
-- memwatch.run() call.
local RELOAD_DONE = setmetatable({}, { __tostring = function() return "memwatch: reload finished" end })

--- engine:reload([path]) -> true | nil, message
-- Re-runs the script; rules whose definition did not change keep their state.
function Engine:reload(path)
    path = path or self.script or (type(_G.arg) == "table" and _G.arg[0]) or nil
    if type(path) ~= "string" or path == "" or path == "-" then
        local msg = "SIGHUP: no script file to reload (memwatch was not started with one)"
        self:report("reload", msg)
        return nil, msg
    end
    local chunk, err = loadfile(path, "t")
    if not chunk then
        local msg = string.format("reload failed, keeping the current rules: %s", err)
        self.report_fn("memwatch: " .. msg)
        return nil, msg
    end
    -- While the script runs again, memwatch.watch{} registers into a new
    -- rule set of this engine and memwatch.run() ends the script.
    self.collecting = { rules = {}, by_name = {}, count = 0 }
    local saved = default
    default = self
    local args = type(_G.arg) == "table" and _G.arg or {}
    local ok, e = pcall(chunk, table.unpack(args, 1, #args))
    default = saved
    local new = self.collecting
    self.collecting = nil
    if not ok and e ~= RELOAD_DONE then
        local msg = string.format("reload failed, keeping the current rules: %s", tostring(e))
        self.report_fn("memwatch: " .. msg)
        return nil, msg
    end
    local kept, fresh = 0, 0
    for _, r in ipairs(new.rules) do
        local old = self.by_name[r.name]
        if old and old.signature == r.signature then
            r.states = old.states
            r.base, r.k, r.next_at = old.base, old.k, old.next_at
            kept = kept + 1
        else
            fresh = fresh + 1
        end
    end
    local removed = 0
    for name in pairs(self.by_name) do
        if not new.by_name[name] then removed = removed + 1 end
    end
    self.rules, self.by_name, self.count = new.rules, new.by_name, new.count
    self.report_fn(string.format("memwatch: reloaded %s: %d rules kept, %d new or changed, %d removed", path,
        kept, fresh, removed))
    return true
end

--- engine:run([seconds | {seconds=, every=, budget=, budget_time=, memory_limit=, error_interval=}])
-- -> "elapsed" | "interrupted" | "terminated" | "stopped"
function Engine:run(arg)
    if self.collecting then error(RELOAD_DONE, 0) end
    local seconds
    if type(arg) == "table" then
        check_opts(arg, RUN_OPTS, "memwatch.run")
        seconds = arg.seconds
        if arg.every ~= nil then self.every = positive_duration(arg.every, "every") end
        if arg.budget ~= nil then self.budget = arg.budget end
        if arg.budget_time ~= nil then self.budget_time = arg.budget_time end
        if arg.memory_limit ~= nil then self.memory_limit = limit_bytes(arg.memory_limit, "memory_limit") end
        if arg.error_interval ~= nil then self.error_interval = arg.error_interval end
    else
        seconds = arg
    end
    if seconds ~= nil then
        if type(seconds) ~= "number" and type(seconds) ~= "string" then
            error(rule_.user_where() .. string.format("memwatch.run: seconds must be a number or a duration, got %s",
                type(seconds)), 0)
        end
        local ok, s = pcall(core.parse_duration, seconds)
        if not ok then
            error(rule_.user_where() .. "memwatch.run: " .. (tostring(s):gsub("^[^\n]-:%d+: ", "")), 0)
        end
        seconds = s
    end
    if #self.rules == 0 then
        error(rule_.user_where() .. "memwatch.run: no rules (add some with memwatch.watch{...})", 0)
    end
    if self.running then error(rule_.user_where() .. "memwatch.run: already running", 0) end

    local clock = self.clock
    local prev_limit
    if self.memory_limit > 0 and core.memory_limit then
        prev_limit = core.memory_limit()
        core.memory_limit(self.memory_limit)
    end
    if self.signals then core.catch_signals(true) end
    self.running, self.stopping = true, nil
    local ok, result = pcall(function()
        local start = clock.now()
        local stop_at = seconds and start + seconds
        while true do
            local now = clock.now()
            if stop_at and now >= stop_at - EPS then return "elapsed" end
            local next_at = self:tick(now)
            if self.stopping then return self.stopping end
            if stop_at and stop_at < next_at then next_at = stop_at end
            local wait = next_at - clock.now()
            if wait > 0 then clock.sleep(wait) end
            if self.signals then
                local sig = core.take_signal()
                while sig do
                    if sig == "TERM" then return "terminated" end
                    if sig == "INT" then return "interrupted" end
                    self:reload()
                    sig = core.take_signal()
                end
            end
            if self.stopping then return self.stopping end
        end
    end)
    self.running = false
    if self.signals then core.catch_signals(false) end
    if prev_limit then core.memory_limit(prev_limit) end
    if not ok then
        if tostring(result):find("not enough memory", 1, true) then
            error(string.format("memwatch.run: the interpreter memory cap of %s was reached outside the " ..
                "callbacks; raise it with memwatch.run{memory_limit = ...}", fmt_bytes(self.memory_limit)), 0)
        end
        error(result, 0)
    end
    return result
end

-- ---- the default engine behind memwatch.watch{} and memwatch.run() -------------------

function M.default()
    if not default then default = M.engine() end
    return default
end

--- set_default(engine) -> the engine that was the default (or nil)
-- Puts engine behind memwatch.watch{} and memwatch.run() (nil: a fresh one
-- on next use). memwatch replay runs a rules script on its own engine so.
function M.set_default(e)
    local prev = default
    default = e
    return prev
end

--- memwatch.watch{...}
function M.watch(def)
    return M.default():watch(def)
end

--- memwatch.run([seconds | options])
function M.run(arg)
    return M.default():run(arg)
end

--- memwatch.explain(pid)
function M.explain(pid, opts)
    return require("memwatch.watch.explain").explain(pid, opts)
end

M.actions = setmetatable({}, { __index = function(_, k) return require("memwatch.actions")[k] end })
M.Engine = Engine
M.RELOAD_DONE = RELOAD_DONE

return M
