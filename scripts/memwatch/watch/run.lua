-- memwatch.watch.run: engine:run(), the loop that ticks the rules until a
-- time is up, a signal comes or a callback stops it; SIGHUP reloads the
-- script (memwatch.watch.reload). Under a service manager it says when the
-- first scan is done and feeds the watchdog (memwatch.service). Adds the
-- method to memwatch.watch.engine's Engine.
local core = require "memwatch.core"
local units = require "memwatch.units"
local engine = require "memwatch.watch.engine"
local reload = require "memwatch.watch.reload"
local rule_ = require "memwatch.watch.rule"
local service = require "memwatch.service"
local state = require "memwatch.watch.state"

local M = {}
local Engine = engine.Engine
local EPS = engine.EPS
-- The least time to the next tick for a full collection between ticks.
local IDLE_COLLECT = 0.5

-- The service manager's status line: "watching 1 rule", "watching 3 rules".
local function watching(n) return string.format("watching %d rule%s", n, n == 1 and "" or "s") end

local RUN_OPTS = { seconds = true, every = true, budget = true, budget_time = true, memory_limit = true,
    error_interval = true, state = true }

-- Growth rules that could never give a verdict in this run are refused at
-- the memwatch.run() line: a window with fewer than three samples at the
-- engine's interval (for rules without their own 'every'), a warm-up longer
-- than the run. Then each rule says when its first verdict can come.
function Engine:check_verdicts(seconds)
    for _, r in ipairs(self.rules) do
        if r.growth then
            local function fail(fmt, ...)
                error(rule_.user_where() .. "memwatch.run: " .. r.label .. ": " .. string.format(fmt, ...), 0)
            end
            rule_.check_samples(r, self:rule_every(r), fail)
            -- (A rule that ran before goes on with its warm-up.)
            if seconds and not r.next_at and r.growth.warmup > seconds + EPS then
                fail("'growth.warmup' (%s%s) is longer than this run (%s), so the rule can never give a " ..
                    "verdict: shorten 'growth.warmup' or run longer", rule_.dur(r.growth.warmup),
                    r.def.growth.warmup == nil and ", by default one 'growth.window'" or "", rule_.dur(seconds))
            end
        end
    end
    for _, r in ipairs(self.rules) do
        if not r.announced then
            r.announced = true
            local when = rule_.first_verdict(r, self:rule_every(r))
            if when then self:notice(r, when) end
        end
    end
end

-- The state file (memwatch.watch.state): the engine's `state`, or for the
-- engine behind a script's memwatch.run() on the real clock, `memwatch
-- --state FILE SCRIPT` (memwatch.core.state_file, set by the executable).
-- Opened once per file; a file that cannot be written is an error here.
function Engine:open_state()
    local path = self.state_path
    if path == nil and self == engine.current() and self.clock.real then path = core.state_file end
    if path == nil or (self.persist and self.persist.path == path) then return end
    local ok, s = pcall(state.open, path)
    if not ok then error(rule_.user_where() .. "memwatch.run: " .. tostring(s), 0) end
    self.persist = s
end

--- engine:run([seconds | {seconds=, every=, budget=, budget_time=, memory_limit=, error_interval=, state=}])
-- -> "elapsed" | "interrupted" | "terminated" | "stopped"
function Engine:run(arg)
    if self.collecting then error(reload.DONE, 0) end
    local seconds
    if type(arg) == "table" then
        engine.check_opts(arg, RUN_OPTS, "memwatch.run")
        seconds = arg.seconds
        if arg.every ~= nil then self.every = engine.positive_duration(arg.every, "memwatch.run: 'every'") end
        if arg.budget ~= nil then self.budget = engine.instructions(arg.budget, "memwatch.run: 'budget'") end
        if arg.budget_time ~= nil then
            self.budget_time = engine.duration(arg.budget_time, "memwatch.run: 'budget_time'")
        end
        if arg.memory_limit ~= nil then
            self.memory_limit = engine.limit_bytes(arg.memory_limit, "memwatch.run: 'memory_limit'")
        end
        if arg.error_interval ~= nil then
            self.error_interval = engine.duration(arg.error_interval, "memwatch.run: 'error_interval'")
        end
        if arg.state ~= nil then self.state_path = arg.state end
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
    -- A dry engine (memwatch check, memwatch rules) loads a script to see its
    -- rules: memwatch.run() returns at once, without a scan. A second call
    -- ends the script, so a loop around memwatch.run() cannot spin.
    if self.dry then
        if self.dry_ran then error(reload.DONE, 0) end
        self.dry_ran = true
        return "dry"
    end
    self:check_verdicts(seconds)
    self:open_state()

    local clock = self.clock
    local svc, told = service.of(clock), false
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
            if not told then
                told = true
                svc.ready(watching(#self.rules))
            end
            next_at = math.min(next_at, svc.watchdog(clock.now()))
            if self.stopping then return self.stopping end
            -- A tick's scan is garbage by the next one: with time to spare
            -- before it, a full collection now keeps the heap at what is live
            -- (at 1 Hz over 1000 processes: 4.0 MiB against 5.2 MiB, for less
            -- CPU than the generational collector's own steps; hz1.sh).
            if next_at - clock.now() >= IDLE_COLLECT then collectgarbage() end
            if stop_at and stop_at < next_at then next_at = stop_at end
            local wait = next_at - clock.now()
            if wait > 0 then clock.sleep(wait) end
            if self.signals then
                local sig = core.take_signal()
                while sig do
                    if sig == "TERM" then return "terminated" end
                    if sig == "INT" then return "interrupted" end
                    svc.reloading()
                    self:reload()
                    svc.ready(watching(#self.rules))
                    sig = core.take_signal()
                end
            end
            if self.stopping then return self.stopping end
        end
    end)
    self.running = false
    svc.stopping()
    if self.signals then core.catch_signals(false) end
    if prev_limit then core.memory_limit(prev_limit) end
    if not ok then
        if tostring(result):find("not enough memory", 1, true) then
            error(string.format("memwatch.run: the interpreter memory cap of %s was reached outside the " ..
                "callbacks; raise it with memwatch.run{memory_limit = ...}", units.bytes(self.memory_limit)), 0)
        end
        error(result, 0)
    end
    return result
end

return M
