-- memwatch: the public Lua API, a facade. The C primitives are in
-- memwatch.core; reading records (the filter, lazily read fields, the record
-- metatable) is memwatch.scan. The rest (watch rules, actions, formats,
-- metrics) loads on first use from modules that never require this one.
-- require "memwatch" defines no globals.
local core = require "memwatch.core"

local M = {}

M.version = core.version
M.platform = core.platform
M.bytes = core.bytes
M.parse_bytes = core.parse_bytes
M.parse_duration = core.parse_duration
M.now = core.now
M.sleep = core.sleep

local scan = require "memwatch.scan"

local fields = core.fields

M.processes = scan.processes
M.process = scan.process
M.self = scan.self
M.ledger = scan.ledger
--- memwatch.regions(pid [, {by = "none"|"category"|"path"}]) -> rows | nil, msg, errno
M.regions = require("memwatch.regions").read

--- memwatch.system() -> {total=, available=, free=, swap_total=, swap_free=, pressure=} | nil, msg, errno
M.system = core.system

--- memwatch.sampler() -> "bpf" | "proc", why | nil, why: which sampler scans use
-- (Linux: the BPF task iterator where it loads, else /proc), and how it reads
-- or why /proc; nil and why when the sampler MEMWATCH_SAMPLER names cannot open
M.sampler = core.sampler

-- What people call a process: its .app, else its name.
local function app_name(rec)
    return rec and (rec.app_bundle or rec.name) or nil
end

--- memwatch.coalitions() -> {{id=, key=, leader=, name=, members=, footprint=, totals={...}}, ...},
-- largest footprint first | nil, msg, errno
-- macOS: the resource coalitions (what groups a process by "app" there),
-- with the kernel's own totals over every member, whoever owns it. leader
-- is nil once the leading process has exited; name is then the app of the
-- lowest-numbered member memwatch can see.
function M.coalitions()
    local apps, msg, err = core.apps()
    if not apps then return nil, (msg:gsub("^apps", "coalitions")), err end
    local out, unnamed = {}, false
    for _, a in ipairs(apps) do
        local c = { id = math.tointeger(tonumber(a.key:match("^coalition:(%d+)$"))), key = a.key, leader = a.leader,
            members = a.tasks, footprint = a.totals.phys_footprint, totals = a.totals }
        c.name = a.leader and app_name(scan.process(a.leader))
        unnamed = unnamed or c.name == nil
        out[#out + 1] = c
    end
    if unnamed then
        local first = {} -- app key -> its lowest-numbered member
        for _, p in ipairs(scan.processes()) do
            local k = core.app_key(p.pid)
            if k and (not first[k] or p.pid < first[k].pid) then first[k] = p end
        end
        for _, c in ipairs(out) do c.name = c.name or app_name(first[c.key]) end
    end
    table.sort(out, function(a, b)
        local x, y = a.footprint or -1, b.footprint or -1
        if x ~= y then return x > y end
        return (a.id or 0) < (b.id or 0)
    end)
    return out
end

--- memwatch.fields: field name -> {kind = "bytes"|"count"|"seconds"|"epoch"}
M.fields = {}
for name, info in pairs(fields) do M.fields[name] = { kind = info.kind, order = info.order } end

-- For the prompt: how results print, and tab completion.
function M._print_results(...)
    return require("memwatch.pretty").print_results(...)
end

function M._complete(line)
    return require("memwatch.complete").candidates(line)
end

-- A table whose entries are those of a module loaded on first use. __module
-- names the module, so the prompt's completion can list them; pairs() walks
-- them too.
local function lazy(name, mt)
    mt = mt or {}
    mt.__module = name
    mt.__index = function(_, k) return require(name)[k] end
    mt.__pairs = function() return next, require(name), nil end
    return setmetatable({}, mt)
end

-- Watch rules (scripts/memwatch/watch/), loaded on first use.
-- memwatch.watch is callable (memwatch.watch{...} registers a rule) and also
-- gives the engine module's other entries: memwatch.watch.engine{...},
-- memwatch.watch.trend(samples), ...
M.watch = lazy("memwatch.watch", {
    __call = function(_, def) return require("memwatch.watch").watch(def) end,
})
function M.run(arg) return require("memwatch.watch").run(arg) end
function M.explain(pid, opts) return require("memwatch.watch").explain(pid, opts) end
--- memwatch.rules() -> the rules defined so far; memwatch.unwatch(name) -> true | nil, message
function M.rules() return require("memwatch.watch").rules() end
function M.unwatch(name) return require("memwatch.watch").unwatch(name) end
M.actions = lazy("memwatch.actions")
--- memwatch.delivery() -> the health of each alert destination (memwatch.delivery)
function M.delivery() return require("memwatch.delivery").stats() end

-- Output formats (scripts/memwatch/format.lua) and a script's own metrics
-- (scripts/memwatch/metrics.lua), loaded on first use.
M.format = lazy("memwatch.format")
M.metrics = lazy("memwatch.metrics")

return M
