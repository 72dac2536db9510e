-- memwatch.watch: the watch rules behind memwatch.watch{...} and
-- memwatch.run([seconds]), and the public entry to the engine's parts:
--   engine.lua  the rules, the tick, the groups' state machines
--   event.lua   the event a callback receives and its text
--   trend.lua   the growth rules' least-squares fit
--   reload.lua  engine:reload(), for SIGHUP
--   run.lua     engine:run(), the loop
--   state.lua   the firing state kept in a file across restarts
--   rule.lua    a rule definition checked and compiled
--   explain.lua memwatch.explain(pid)
--   rules.lua   engine:list() and engine:unwatch(name)
-- This module gives the engine its defaults: a scan of the system
-- (memwatch.scan) as the sampler and the real clock.
local core = require "memwatch.core"
local units = require "memwatch.units"
local scan = require "memwatch.scan"
local engine = require "memwatch.watch.engine"
local reload = require "memwatch.watch.reload"
local trend = require "memwatch.watch.trend"
require "memwatch.watch.run" -- engine:run()
require "memwatch.watch.rules" -- engine:list(), engine:unwatch()

local M = {}

engine.inject {
    sampler = function(fields) return scan.processes(nil, fields) end,
    clock = function()
        return {
            now = core.now,
            time = core.time,
            -- Wakes early for SIGINT, SIGTERM and SIGHUP (see catch_signals).
            sleep = function(s) return core.wait_signal(s) end,
            real = true,
        }
    end,
    -- What a size written as "20%" is a share of: this machine's memory.
    memory_total = function()
        local sys = core.system()
        return sys and sys.total or nil
    end,
    -- What tells a vanished group the kernel killed from one that exited.
    oom = { count = core.oom_kill_count, kills_since = core.oom_kills_since },
}

M.bytes = units.bytes
M.span = units.span

--- trend(samples) -> slope (units per second), r2, n. samples: {{t, v}, ...}
M.trend = trend.fit

--- engine(opts) -> a new engine with no rules.
M.engine = engine.new

M.default = engine.default
M.set_default = engine.set_default

--- memwatch.watch{...}
function M.watch(def)
    return engine.default():watch(def)
end

--- memwatch.run([seconds | options])
function M.run(arg)
    return engine.default():run(arg)
end

--- memwatch.rules() -> the default engine's rules
function M.rules()
    return engine.default():list()
end

--- memwatch.unwatch(name) -> true | nil, message
function M.unwatch(name)
    return engine.default():unwatch(name)
end

--- memwatch.explain(pid)
function M.explain(pid, opts)
    return require("memwatch.watch.explain").explain(pid, opts)
end

M.actions = setmetatable({}, { __index = function(_, k) return require("memwatch.actions")[k] end })
M.Engine = engine.Engine
M.RELOAD_DONE = reload.DONE

return M
