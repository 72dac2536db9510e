-- memwatch.format: the bundled output formats behind one interface, used by
-- `memwatch ps --format=...`, by `memwatch serve`, by rules and by scripts.
--
--   local format = require "memwatch.format"
--   io.write(format.render("csv", memwatch.processes()))
--
--   local w = format.new("json", {fields = {"pid", "name", "footprint"}})
--   w:begin(io.stdout)            -- a file (anything with :write) or a function(text)
--   for _, p in ipairs(memwatch.processes()) do w:record(p) end
--   w:finish()
--
-- Rows are process records or, with opts.grouping set, the groups of
-- memwatch.group.group(records, how) ({label=, count=, footprint=, ...}).
--
-- Options (all optional):
--   fields    list of field names: the columns (table, csv, json) or the values
--             (prometheus, influx; pid, name and user stay their labels);
--             each format has a default
--   grouping  the grouping the rows come from ("name", "tree", "app", "user", ...)
--   printable true: names pass through text.printable first (for a terminal)
--   time      epoch seconds of the sample (influx timestamps; default: now)
--   families  extra metric families for prometheus (see memwatch.metrics)
--
-- A format module (scripts/memwatch/format/NAME.lua, or one given to
-- format.register) is {name=, description=, new = function(opts, emit) -> impl}
-- where impl has record(self, row) and finish(self) (begin(self) optional) and
-- calls emit(text) with its output; format.lua checks the options and the
-- order of calls.
local core = require "memwatch.core"

local M = {}

local builtin = {
    table = "memwatch.format.table",
    csv = "memwatch.format.csv",
    json = "memwatch.format.json",
    prometheus = "memwatch.format.prometheus",
    influx = "memwatch.format.influx",
}

-- The names in the order usage texts list them.
M.NAMES = { "table", "csv", "json", "prometheus", "influx" }

local registered = {}

local OPTS = { fields = true, grouping = true, printable = true, time = true, families = true }

local function level_error(msg) error(msg, 3) end

--- format.get(name) -> the format module, or nil, message
function M.get(name)
    if type(name) ~= "string" then return nil, string.format("format name must be a string, got %s", type(name)) end
    if registered[name] then return registered[name] end
    if builtin[name] then return require(builtin[name]) end
    local names = {}
    for _, n in ipairs(M.NAMES) do names[#names + 1] = n end
    local extra = {}
    for n in pairs(registered) do if not builtin[n] then extra[#extra + 1] = n end end
    table.sort(extra)
    for _, n in ipairs(extra) do names[#names + 1] = n end
    return nil, string.format("unknown format '%s' (expected %s)", name, table.concat(names, ", "))
end

--- format.names() -> list of every format name (built in, then registered)
function M.names()
    local out = {}
    for _, n in ipairs(M.NAMES) do out[#out + 1] = n end
    local extra = {}
    for n in pairs(registered) do if not builtin[n] then extra[#extra + 1] = n end end
    table.sort(extra)
    for _, n in ipairs(extra) do out[#out + 1] = n end
    return out
end

--- format.register(name, module): adds (or replaces) a format.
function M.register(name, mod)
    if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
        level_error(string.format("format.register: name must be a word, got %s", tostring(name)))
    end
    if type(mod) ~= "table" or type(mod.new) ~= "function" then
        level_error("format.register: the format must be a table with a new(opts, emit) function")
    end
    registered[name] = mod
end

local function check_opts(opts)
    if opts == nil then return {} end
    if type(opts) ~= "table" then level_error(string.format("format: options must be a table, got %s", type(opts))) end
    for k in pairs(opts) do
        if not OPTS[k] then
            level_error(string.format(
                "format: unknown option '%s' (expected families, fields, grouping, printable, time)",
                tostring(k)))
        end
    end
    if opts.fields ~= nil then
        if type(opts.fields) ~= "table" or #opts.fields == 0 then
            level_error("format: option 'fields' must be a non-empty list of field names")
        end
        for i, f in ipairs(opts.fields) do
            if type(f) ~= "string" then
                level_error(string.format("format: fields[%d] must be a field name, got %s", i, type(f)))
            end
        end
    end
    if opts.grouping ~= nil and type(opts.grouping) ~= "string" then
        level_error(string.format("format: option 'grouping' must be a string, got %s", type(opts.grouping)))
    end
    if opts.time ~= nil and type(opts.time) ~= "number" then
        level_error(string.format("format: option 'time' must be epoch seconds, got %s", type(opts.time)))
    end
    if opts.families ~= nil and type(opts.families) ~= "table" then
        level_error(string.format("format: option 'families' must be a list of metric families, got %s",
            type(opts.families)))
    end
    return opts
end

local function emitter(out)
    if type(out) == "function" then return out end
    if (type(out) == "table" or type(out) == "userdata") and out.write then
        return function(s) assert(out:write(s)) end
    end
    error(string.format("format: output must be a file or a function, got %s", type(out)), 3)
end

local Writer = {}
Writer.__index = Writer
Writer.__name = "memwatch.format.writer"

--- format.new(name, opts) -> writer with :begin(out), :record(row), :finish()
function M.new(name, opts)
    local mod, err = M.get(name)
    if not mod then error("format: " .. err, 2) end
    opts = check_opts(opts)
    return setmetatable({ mod = mod, opts = opts, name = name, state = "new" }, Writer)
end

function Writer:begin(out)
    if self.state ~= "new" then error(string.format("format %s: begin called twice", self.name), 2) end
    local emit = emitter(out)
    self.impl = self.mod.new(self.opts, emit)
    self.state = "open"
    if self.impl.begin then self.impl:begin() end
    return self
end

function Writer:record(row)
    if self.state ~= "open" then
        error(string.format("format %s: record before begin or after finish", self.name), 2)
    end
    if type(row) ~= "table" and not core.is_record(row) then
        error(string.format("format %s: a row must be a record or a group, got %s", self.name, type(row)), 2)
    end
    self.impl:record(row)
    return self
end

-- Adds metric families (prometheus only; other formats ignore them).
function Writer:families(list)
    if self.state ~= "open" then
        error(string.format("format %s: families before begin or after finish", self.name), 2)
    end
    if self.impl.families then self.impl:families(list) end
    return self
end

function Writer:finish()
    if self.state ~= "open" then error(string.format("format %s: finish before begin or twice", self.name), 2) end
    if self.opts.families and self.impl.families then self.impl:families(self.opts.families) end
    self.impl:finish()
    self.state = "done"
    return self
end

--- format.write(out, name, rows, opts): rows through a writer to out.
function M.write(out, name, rows, opts)
    local w = M.new(name, opts)
    w:begin(out)
    for _, r in ipairs(rows or {}) do w:record(r) end
    w:finish()
end

--- format.render(name, rows, opts) -> string
function M.render(name, rows, opts)
    local mod, err = M.get(name)
    if not mod then error("format: " .. err, 2) end
    local parts = {}
    local w = setmetatable({ mod = mod, opts = check_opts(opts), name = name, state = "new" }, Writer)
    w:begin(function(s) parts[#parts + 1] = s end)
    if type(rows) ~= "table" then error(string.format("format: rows must be a list, got %s", type(rows)), 2) end
    for _, r in ipairs(rows) do w:record(r) end
    w:finish()
    return table.concat(parts)
end

-- The helpers the format modules share (memwatch.format.fields), here for
-- a script's own format too.
local fields = require "memwatch.format.fields"
M.GROUP_FIELDS = fields.GROUP_FIELDS
M.kind = fields.kind
M.check_fields = fields.check_fields
M.field_names = fields.field_names
M.value = fields.value

M.text = require "memwatch.text"
return M
