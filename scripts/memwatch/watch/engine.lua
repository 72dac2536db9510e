-- memwatch.watch.engine: the rule engine. An engine holds rules and runs
-- them: at each tick, the rules that are due share one scan reading the
-- union of the fields they need; each rule picks its processes (select),
-- forms groups (memwatch.group), computes one value per group and moves that
-- group's state machine (pending -> firing -> resolved), calling on_alert /
-- on_resolve under a CPU budget and a memory cap.
--
-- Everything the engine takes from the outside world is given to it, so
-- tests replay recorded series deterministically:
--   local e = require("memwatch.watch").engine{
--       sampler = function(fields) return records end,
--       clock = { now = function() ... end, sleep = function(s) ... end, time = ... },
--       app_key = function(rec) return key or nil end,
--       report = function(line) ... end,
--       memory_total = function() return bytes end, -- what "20%" is a share of
--       notice = function(rule, text) ... end,      -- "no process matches ..."
--       oom = { count = function() -> n, kills_since = function(cursor) -> kills, next },
--       regions = function(pid) -> regions | nil }   -- for event.grew; false: none
-- The defaults (a scan of the system, the real clock, the kernel's OOM-kill
-- evidence) are injected by
-- memwatch.watch; what runs on every tick besides the rules (the actions'
-- reaping) registers itself with on_tick. Reload (memwatch.watch.reload)
-- and the run loop (memwatch.watch.run) add their methods to Engine.
local core = require "memwatch.core"
local text = require "memwatch.text"
local log = require "memwatch.log"
local suggest = require "memwatch.suggest"
local units = require "memwatch.units"
local select_ = require "memwatch.select"
local group_ = require "memwatch.group"
local rule_ = require "memwatch.watch.rule"
local event = require "memwatch.watch.event"
local grew_ = require "memwatch.watch.grew"

local M = {}

M.EPS = 1e-9
local EPS = M.EPS

-- The cells of a growth rule's window (see condition).
M.TREND_CELLS = 10

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

-- What new() uses when not given a sampler or a clock.
local injected = {}

--- inject{sampler = function(fields) -> records, clock = function() -> clock,
--         memory_total = function() -> bytes | nil, oom = {count =, kills_since =}}
function M.inject(defaults)
    injected.sampler = defaults.sampler
    injected.clock = defaults.clock
    injected.memory_total = defaults.memory_total
    injected.oom = defaults.oom
end

-- Functions run at the end of every tick, given its time.
local tick_hooks = {}

--- on_tick(fn): fn(now) runs at the end of every tick of every engine.
function M.on_tick(fn)
    tick_hooks[#tick_hooks + 1] = fn
end

-- Callbacks told of alerts that a state file brought back still firing
-- (weak keys: a reloaded script's old actions go). Others are not called
-- again, so no second ALERT line or message; an Alertmanager action needs to
-- know, or the alert it posted before the restart would expire.
local resumers = setmetatable({}, { __mode = "k" })

--- resumes(fn): fn, in an on_alert list, also gets an alert event with
-- `restored = true` when a restart finds its group still firing.
function M.resumes(fn)
    resumers[fn] = true
end

local Engine = {}
Engine.__index = Engine

local default -- the engine behind memwatch.watch{} and memwatch.run()

local ENGINE_OPTS = { sampler = true, clock = true, app_key = true, report = true, every = true,
    budget = true, budget_time = true, memory_limit = true, error_interval = true, script = true,
    signals = true, memory_total = true, notice = true, oom = true, regions = true, state = true }

-- Option checks, shared with the run loop (memwatch.watch.run): they raise
-- naming the user's line, not ours.
function M.check_opts(opts, allowed, where)
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

-- A value as the user wrote it, in a message: 'x' for a string.
local function written(v)
    if type(v) == "string" then return "'" .. v .. "'" end
    return tostring(v)
end

-- Options of engine{} and memwatch.run{} are checked where they are given,
-- and refused at the user's line: a bad one found later, in a callback's
-- call, would name a line of the engine. `what` names the option and its
-- caller ("memwatch.run: 'every'").
function M.positive_duration(v, what)
    local ok, s = pcall(core.parse_duration, v)
    if not ok or s <= 0 then
        error(rule_.user_where() .. string.format("%s must be a duration greater than 0, got %s", what,
            written(v)), 0)
    end
    return s
end

--- A duration that may be 0 (budget_time: 0 turns it off; error_interval).
function M.duration(v, what)
    local ok, s = pcall(core.parse_duration, v)
    if not ok then
        error(rule_.user_where() .. string.format("%s must be a duration (0 or more), got %s", what, written(v)), 0)
    end
    return s
end

--- A number of instructions (budget: 0 turns it off).
function M.instructions(v, what)
    local n = math.tointeger(v)
    if not n or n < 0 then
        error(rule_.user_where() .. string.format("%s must be a whole number of instructions (0 turns it off), " ..
            "got %s", what, written(v)), 0)
    end
    return n
end

function M.limit_bytes(v, what)
    if v == false or v == 0 then return 0 end
    local ok, n = pcall(core.parse_bytes, v)
    if not ok then
        error(rule_.user_where() .. string.format("%s: %s", what, (tostring(n):gsub("^[^\n]-:%d+: ", ""))), 0)
    end
    return n
end

--- new(opts) -> a new engine with no rules. The sampler and the clock are
-- opts.sampler and opts.clock, else the ones given to inject().
function M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then error("memwatch.watch.engine: options must be a table", 2) end
    M.check_opts(opts, ENGINE_OPTS, "memwatch.watch.engine")
    local e = setmetatable({}, Engine)
    e.rules = {}
    e.by_name = {}
    e.count = 0
    e.sampler = opts.sampler or injected.sampler
    e.clock = opts.clock or (injected.clock and injected.clock())
    if not e.sampler or not e.clock then
        error("memwatch.watch.engine: no sampler or clock (give them, or require memwatch.watch)", 2)
    end
    e.app_key_fn = opts.app_key
    -- Physical memory, for sizes given as a percentage: a number, a function,
    -- or false (unknown: percentages are refused).
    local total = opts.memory_total
    if total == nil then total = injected.memory_total end
    if type(total) == "number" then
        local n = total
        total = function() return n end
    end
    e.memory_total = total or nil
    e.notice_fn = opts.notice
    -- The live system's OOM evidence goes with the live sampler only: a
    -- replay's vanished group says nothing about this machine's kernel.
    if opts.oom ~= nil then e.oom = opts.oom or nil elseif not opts.sampler then e.oom = injected.oom end
    -- What grew, for event.grew (watch/grew.lua): a process's regions by pid.
    if opts.regions ~= nil then
        e.regions_fn = opts.regions or nil
    elseif not opts.sampler then
        e.regions_fn = function(pid) return (require("memwatch.regions").read(pid)) end
    end
    e.report_fn = opts.report or function(line, level)
        -- Reports quote callback errors, which may quote process names.
        log.write(io.stderr, level, text.printable(line))
    end
    local where = "memwatch.watch.engine: "
    e.every = opts.every and M.positive_duration(opts.every, where .. "'every'") or 2.0
    e.budget = opts.budget and M.instructions(opts.budget, where .. "'budget'") or 10000000
    e.budget_time = opts.budget_time and M.duration(opts.budget_time, where .. "'budget_time'") or 1.0
    e.memory_limit = M.limit_bytes(opts.memory_limit == nil and "256M" or opts.memory_limit,
        where .. "'memory_limit'")
    e.error_interval = opts.error_interval and M.duration(opts.error_interval, where .. "'error_interval'") or 60
    e.script = opts.script
    e.state_path = opts.state -- opened by engine:run (memwatch.watch.state)
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
        suffix = string.format(" (%d more like this in the last %s)", r.suppressed, units.span(now - r.last))
    end
    if not r then
        -- Keys carry messages, which may differ every time: forget the ones
        -- whose interval is over with nothing left out to count, so the
        -- table stays small on a long run.
        self.nreports = (self.nreports or 0) + 1
        if self.nreports > 256 then
            for k, old in pairs(self.reports) do
                if old.suppressed == 0 and now - old.last >= self.error_interval then
                    self.reports[k] = nil
                    self.nreports = self.nreports - 1
                end
            end
        end
    end
    self.reports[key] = { last = now, suppressed = 0 }
    self.report_fn("memwatch: " .. line .. suffix, log.ERR) -- failures only
end

-- Runs a user function under the CPU budget; failures are reported and give
-- ok = false. Reports are rate limited per rule, callback (what, and its
-- place in an on_alert / on_resolve list) and message: one failing callback
-- never hides another's error, nor a new error of its own.
local function guarded(self, rule, what, index, fn, ...)
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
            limit > 0 and (" of " .. units.bytes(limit)) or "", a)
        collectgarbage()
    else
        msg = string.format("%s: %s: %s", rule.label, what, a)
    end
    self:report(table.concat({ rule.name, what, tostring(index or 0), msg }, "\0"), msg)
    return false, nil, b
end

function Engine:call(rule, what, fn, ...)
    return guarded(self, rule, what, nil, fn, ...)
end

-- A rule prints as what it does (at the prompt, memwatch.watch{...} shows it).
local RULE = { __name = "memwatch.rule", __tostring = function(r) return rule_.describe(r, units.bytes) end }

--- engine:watch(def) -> rule. Raises (naming the rule and the key) on a bad definition.
function Engine:watch(def)
    local target = self.collecting or self
    local r = rule_.compile(def, "#" .. (target.count + 1), { memory_total = self.memory_total, every = self.every })
    local old = target.by_name[r.name]
    -- At the prompt (memwatch.core.prompt, set by the prompt) a rule typed
    -- again replaces the old one, in its place and with fresh state.
    if old and not core.prompt then
        error(rule_.user_where() .. string.format("memwatch.watch: %s: a rule with this name already exists",
            r.label), 0)
    end
    r.states = {}
    target.by_name[r.name] = r
    if old then
        for i, x in ipairs(target.rules) do
            if x == old then target.rules[i] = r end
        end
    else
        target.count = target.count + 1
        target.rules[#target.rules + 1] = r
    end
    return setmetatable(r, RULE)
end

function Engine:rule_every(r)
    return r.every or self.every
end

--- engine:describe() -> one line per rule saying what it does.
function Engine:describe()
    local out = {}
    for _, r in ipairs(self.rules) do out[#out + 1] = rule_.describe(r, units.bytes) end
    return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

--- engine:state(name) -> the rule's live states by group id (for inspection).
function Engine:state(name)
    local r = self.by_name[name]
    return r and r.states
end

local function selected(rule, recs)
    -- A rule over every process takes the scan as it is (read only).
    if not rule.def.select or next(rule.def.select) == nil then return recs end
    local c = select_.refresh(rule.select)
    local out = {}
    for _, r in ipairs(recs) do
        if select_.matches(c, r) then out[#out + 1] = r end
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
    local ev = event.new(rule, st, kind, now, wall(self, now), extra)
    local list = kind == "alert" and rule.on_alert or rule.on_resolve
    for i, fn in ipairs(list) do
        guarded(self, rule, kind == "alert" and "on_alert" or "on_resolve", i, fn, ev)
    end
    -- After the callbacks: a crash between the two repeats an event rather than loses one.
    if self.persist then self.persist:changed(self) end
    return ev
end

-- A group restored as firing and still over at the first evaluation: only
-- the callbacks that asked (resumes) hear of it.
function Engine:resume(rule, st, now)
    local ev
    for i, fn in ipairs(rule.on_alert) do
        if resumers[fn] then
            ev = ev or event.new(rule, st, "alert", now, wall(self, now), { restored = true })
            guarded(self, rule, "on_alert", i, fn, ev)
        end
    end
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
    -- The window's least-squares moments in a few cells of a time grid
    -- (memwatch.core.trend_window): a few hundred bytes per group whatever
    -- the window's length, where a 10-minute window at 1 Hz held 600 samples
    -- a group. Exact while each cell holds one sample (windows of up to
    -- TREND_CELLS samples); longer windows keep their length within half a
    -- cell (memwatch/trend.h).
    local win = st.trend
    if not win then
        win = core.trend_window(g.window, M.TREND_CELLS)
        st.trend = win
    end
    win:add(now, v, now - g.window - EPS)
    local slope, r2, kept = win:fit()
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
    if now - st.first < g.warmup - EPS or kept < 3 or not slope then
        return false, st.firing
    end
    -- A firing alert holds while the samples still show growth: a slope at
    -- or above 'clear' that a line still explains (r2 at least half of
    -- min_r2, a margin against flapping). Once the growth stops, what is
    -- left in the window is noise around a level: a low r2, whatever slope
    -- the noise happens to draw, so the alert resolves within one window.
    return slope > g.rate and r2 >= g.min_r2, slope >= rule.clear and r2 >= g.min_r2 / 2
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
                self:oom_mark(st)
                local grew = rule.grew_window and self.regions_fn and grew_.at_fire(st, self.regions_fn, now)
                self:emit(rule, st, "alert", now, grew and { grew = grew } or nil)
            end
        else
            st.pending, st.hits, st.since_wall = nil, 0, nil
        end
    elseif not holds then
        st.firing = false
        self:emit(rule, st, "resolve", now)
        st.pending, st.hits, st.since_wall, st.repeated = nil, 0, nil, 0
    elseif st.restored_at == now then
        self:resume(rule, st, now)
    elseif rule.repeat_every and now - st.last_alert >= rule.repeat_every - EPS then
        st.repeated = st.repeated + 1
        st.last_alert = now
        self:emit(rule, st, "alert", now)
    end
end

--- engine:notice(rule, text): a line the user should see once (not a
-- failure): "memwatch: rule 'x': TEXT" on the report stream, or the
-- engine's notice function (memwatch alert words its own).
function Engine:notice(rule, line)
    if self.notice_fn then return self.notice_fn(rule, line) end
    self.report_fn("memwatch: " .. rule.label .. ": " .. line)
end

--- no_match(filter, recs, when) -> "no process matches name 'x' yet; watching
-- (closest: ...)": when is "yet" (watching starts) or "any more" (the last
-- matching process went away). memwatch's own process, and a wrapper that
-- started it (sudo, timeout), are never suggested.
function M.no_match(filter, recs, when)
    return suggest.no_match(filter, recs, when, "watching", select_.own)
end

-- Says so when a rule's selection matches nothing as watching starts, and
-- when the last matching process goes away. Rules without a selection
-- watch every process and are not concerned.
function Engine:check_empty(rule, count, recs)
    local before = rule.matched
    rule.matched = count > 0
    if count > 0 or before == false or not rule.def.select or next(rule.def.select) == nil then return end
    self:notice(rule, M.no_match(rule.def.select, recs, before == nil and "yet" or "any more"))
end

-- A rule of one group per process, with a field as its metric: each
-- process's state is found by pid (checked by start time and name, which
-- make its id and key) and keeps its one-process list, with no group table,
-- id or key made for a process seen before; a threshold rule's state that
-- is neither pending nor firing, whose value stays on the quiet side, is
-- left as it is (step would change nothing). A rule over every process does
-- this for each process every tick.
local function evaluate_each(self, rule, sel, now, tick)
    local by_pid = rule.by_pid
    if not by_pid then
        by_pid = {}
        rule.by_pid = by_pid
    end
    local states, metric, dir, threshold = rule.states, rule.metric, rule.direction, rule.threshold
    local track = rule.grew_window and self.regions_fn
    for _, r in ipairs(sel) do
        local pid, start, name = r.pid, r.start_time, r.name
        local st = by_pid[pid]
        if not st or st.start ~= start or st.name ~= name or states[st.id] ~= st then
            local id = group_.ident(r)
            st = states[id]
            if not st then
                st = { id = id, first = now, hits = 0, firing = false }
                states[id] = st
            end
            st.key = group_.process_key(r)
            st.start, st.name = start, name
            st.processes = { r }
            by_pid[pid] = st
        end
        st.seen_at = tick
        st.processes[1] = r
        -- (nil when the system refused it, as for a group of one)
        local v = r[metric]
        if v ~= nil then
            if track then
                grew_.track(st, st.processes, now, rule.grew_window, self.regions_fn,
                    not rule.growth or (st.slope ~= nil and st.slope > 0))
            end
            if st.firing or st.pending or (dir == "above" and v > threshold) or
                (dir == "below" and v < threshold) or not (dir == "above" or dir == "below") then
                self:step(rule, st, v, now)
            else
                st.value = v
            end
        end
    end
end

function Engine:evaluate(rule, ctx, now)
    if self.persist then self.persist:restore(self, rule, now) end
    local sel = selected(rule, ctx.recs)
    self:check_empty(rule, #sel, ctx.recs)
    local tick = self.ticks
    if rule.group == "none" and not rule.metric_fn then
        evaluate_each(self, rule, sel, now, tick)
        return self:sweep(rule, now, tick)
    end
    local how = rule.group == "function" and rule.group_fn or rule.group
    local groups = group_.build(how, sel, ctx, function(fn, rec)
        local ok, k = self:call(rule, "group", fn, rec)
        -- A key is a string or a number: a table would make a group per
        -- address ("table: 0x..."), one per process, every tick anew.
        if ok and k ~= nil and type(k) ~= "string" and type(k) ~= "number" then
            self:report(rule.name .. "\0group", string.format("%s: group: returned a %s, expected a string " ..
                "or a number", rule.label, type(k)))
            return false
        end
        return ok, k
    end)
    -- Each group's state is stamped with the tick that saw it (rather than
    -- a set of the ids seen, made anew every tick).
    for _, g in ipairs(groups) do
        local st = rule.states[g.id]
        if not st then
            st = { id = g.id, key = g.key, first = now, hits = 0, firing = false }
            rule.states[g.id] = st
        end
        st.seen_at = tick
        st.key = g.key
        st.processes = g.processes
        local v = self:value(rule, g)
        if v ~= nil and rule.grew_window and self.regions_fn then
            grew_.track(st, g.processes, now, rule.grew_window, self.regions_fn,
                not rule.growth or (st.slope ~= nil and st.slope > 0))
        end
        if v ~= nil then self:step(rule, st, v, now) end
    end
    return self:sweep(rule, now, tick)
end

-- Groups that are gone: a firing one resolves (its processes exited or
-- were killed: never a recovery), any other state is forgotten.
function Engine:sweep(rule, now, tick)
    local by_pid = rule.by_pid
    for id, st in pairs(rule.states) do
        if st.seen_at ~= tick then
            rule.states[id] = nil
            local first = by_pid and st.processes and st.processes[1]
            if first and by_pid[first.pid] == st then by_pid[first.pid] = nil end
            if st.firing then
                local pids = {}
                for _, p in ipairs(st.processes or {}) do pids[p.pid] = true end
                st.value = 0
                st.processes = {}
                self:emit(rule, st, "resolve", now, { gone = true, oom_killed = self:oom_killed(st, pids) })
            end
        end
    end
end

-- ---- OOM kills: telling a group the kernel killed from one that exited --------------

-- When a group starts firing: the kernel's OOM-kill count, and where its log
-- ends (its cursor), to compare with should the group vanish. The count is
-- one small read; the log is read whole to find its end, so its cursor is
-- kept and renewed at most once a minute: with many short-lived groups
-- firing, the log is not read for each. (An older cursor only lets in kills
-- from a little before the group fired: of pids the group's processes did
-- not have yet, barring a pid reused within that minute.)
local OOM_CURSOR_AGE = 60

function Engine:oom_mark(st)
    local o = self.oom
    if not o then return end
    local count = o.count()
    if not count then return end -- no such counter (macOS, kernels before 4.13)
    local now = self.clock.now()
    if self.oom_cursor == nil or (self.oom_cursor and now - self.oom_cursor_at >= OOM_CURSOR_AGE) then
        local _, cursor = o.kills_since(self.oom_cursor or 0)
        -- false: the log cannot be read (not root); the count alone then.
        self.oom_cursor, self.oom_cursor_at = cursor or false, now
    end
    st.oom = { count = count, cursor = self.oom_cursor or nil }
end

-- A firing group vanished: killed by the OOM killer? The kernel's count of
-- kills must have risen since the group fired, and where the kernel log can
-- be read (as root), the log must name one of the group's processes. Without
-- the log the count alone is the evidence.
function Engine:oom_killed(st, pids)
    local o, mark = self.oom, st.oom
    if not (o and mark) then return false end
    local count = o.count()
    if not count or count <= mark.count then return false end
    if not mark.cursor then return true end
    local kills = o.kills_since(mark.cursor)
    if not kills then return true end
    for _, k in ipairs(kills) do
        if pids[k.pid] then return true end
    end
    return false
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
    for _, fn in ipairs(tick_hooks) do fn(now) end
    local next_at = math.huge
    for _, r in ipairs(self.rules) do
        if r.next_at < next_at then next_at = r.next_at end
    end
    return next_at
end

function Engine:stop(reason)
    self.stopping = reason or "stopped"
end

-- ---- the default engine behind memwatch.watch{} and memwatch.run() -------------------

--- default() -> the default engine (made on first use)
function M.default()
    if not default then default = M.new() end
    return default
end

--- current() -> the default engine if there is one (none is made)
function M.current()
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

M.Engine = Engine
return M
