-- memwatch.pretty: how the prompt shows values. A process record prints as
-- aligned fields with human sizes; an array of records as a table like
-- `memwatch ps`; other tables nested, with depth and length bounded.
local core = require "memwatch.core"
local text = require "memwatch.text"

local M = {}

local MAX_ITEMS, MAX_DEPTH = 40, 3

local is_record = core.is_record
M.is_record = is_record

local function is_record_list(v)
    return type(v) == "table" and #v > 0 and is_record(v[1]) and is_record(v[#v])
end

local function show_value(name, v)
    local info = core.fields[name]
    if math.type(v) == "integer" and info and info.kind == "bytes" then
        return string.format("%s (%d)", core.bytes(v), v)
    elseif info and info.kind == "epoch" then
        return string.format("%s (%.2f)", os.date("%Y-%m-%d %H:%M:%S", math.floor(v)), v)
    elseif info and info.kind == "seconds" then
        return string.format("%.2fs", v)
    elseif type(v) == "string" then
        return text.printable(v)
    elseif type(v) == "table" then
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        return "{" .. table.concat(keys, ", ") .. "}"
    end
    return tostring(v)
end

-- Identity first, then memory in catalogue order, then the rest by name.
local HEAD = { "pid", "ppid", "name", "user", "uid", "state", "threads", "start_time", "cpu_time" }

function M.record(rec)
    local keys, seen = {}, {}
    for _, k in ipairs(HEAD) do
        if core.peek(rec, k) ~= nil then keys[#keys + 1] = k; seen[k] = true end
    end
    local rest = {}
    for k in pairs(rec) do
        if not seen[k] then rest[#rest + 1] = k end
    end
    table.sort(rest, function(a, b)
        local fa, fb = core.fields[a], core.fields[b]
        if fa and fb then return fa.order < fb.order end
        if fa or fb then return fa ~= nil end
        return tostring(a) < tostring(b)
    end)
    for _, k in ipairs(rest) do keys[#keys + 1] = k end
    local width = 0
    for _, k in ipairs(keys) do width = math.max(width, #tostring(k)) end
    local lines = {}
    for _, k in ipairs(keys) do
        lines[#lines + 1] = string.format("  %-" .. width .. "s  %s", tostring(k), show_value(k, rec[k]))
    end
    return string.format("process %s (%s)\n%s", tostring(rec.pid), text.printable(rec.name or "?"),
        table.concat(lines, "\n"))
end

function M.records(list)
    local rows = {}
    local n = math.min(#list, 200)
    for i = 1, n do
        local r = list[i]
        rows[i] = { tostring(r.pid), text.printable(r.name or "?"), text.printable(r.user or "-"),
            r.resident and core.bytes(r.resident) or "-", r.footprint and core.bytes(r.footprint) or "-" }
    end
    local out = text.table({
        { title = "PID", align = "right", min = 5 },
        { title = "COMMAND" },
        { title = "USER" },
        { title = "REAL MEMORY", align = "right" },
        { title = "MEMORY", align = "right" },
    }, rows)
    if #list > n then out = out .. string.format("... %d more\n", #list - n) end
    return out .. string.format("(%d process%s)", #list, #list == 1 and "" or "es")
end

-- A string as a Lua literal that is safe on a terminal: text.printable's
-- escapes (\n, \x1b, \u{9b}, \\) are Lua escapes too. (%q would leave bytes
-- >= 0x80 raw: invalid UTF-8 and C1 controls such as U+009B, a CSI.)
local function quote(s)
    return '"' .. text.printable(s):gsub('"', '\\"') .. '"'
end

local function key_repr(k)
    if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
    if type(k) == "string" then return "[" .. quote(k) .. "]" end
    return "[" .. tostring(k) .. "]"
end

local function nested(v, depth, seen, indent)
    if type(v) == "string" then return quote(v) end
    if type(v) ~= "table" then return tostring(v) end
    if is_record(v) then return tostring(v) end
    if seen[v] then return "<cycle>" end
    if depth >= MAX_DEPTH then return "{...}" end
    seen[v] = true
    local keys, n = {}, 0
    for k in pairs(v) do
        n = n + 1
        if n <= MAX_ITEMS then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b)
        local ta, tb = math.type(a), math.type(b)
        if ta and tb then return a < b end
        if ta or tb then return ta ~= nil end
        return tostring(a) < tostring(b)
    end)
    local parts, inner = {}, indent .. "  "
    local array = #v
    for _, k in ipairs(keys) do
        local val = nested(v[k], depth + 1, seen, inner)
        if math.type(k) == "integer" and k >= 1 and k <= array then
            parts[#parts + 1] = inner .. val
        else
            parts[#parts + 1] = inner .. key_repr(k) .. " = " .. val
        end
    end
    if n > MAX_ITEMS then parts[#parts + 1] = inner .. string.format("... (%d more)", n - MAX_ITEMS) end
    seen[v] = nil
    if #parts == 0 then return "{}" end
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
end

-- A string as lua.c prints it: its own characters, lines as lines and tabs
-- as tabs; only what would act on the terminal (other control characters,
-- invalid UTF-8) becomes a visible escape.
function M.text(s)
    return (s:gsub("[^\n\t]+", text.printable))
end

function M.format(v)
    if is_record(v) then return M.record(v) end
    if is_record_list(v) then return M.records(v) end
    if type(v) == "table" then
        local mt = getmetatable(v)
        if mt and mt.__tostring then return tostring(v) end
        return nested(v, 0, {}, "")
    end
    if type(v) == "string" then return M.text(v) end
    return tostring(v)
end

-- A table that comes after text, as in memwatch.explain's (text, rows): one
-- line, so the text stays readable; the table is still the second result.
local function summary(v)
    if #v > 0 then return string.format("-- rows: %d (table)", #v) end
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    return string.format("-- table with %d %s", n, n == 1 and "key" or "keys")
end

--- results_text(...) -> what the prompt prints for these results (no final newline).
-- Results are separated by tabs as in lua.c; after a first result that is
-- text of several lines, each further result goes on a line of its own and
-- a plain table is summarised.
function M.results_text(...)
    local n = select("#", ...)
    local first = ...
    local lines = n > 1 and type(first) == "string" and first:find("\n") ~= nil
    local out = {}
    for i = 1, n do
        local v = (select(i, ...))
        if lines and i > 1 and type(v) == "table" and not is_record(v) and not is_record_list(v) and
            not (getmetatable(v) and getmetatable(v).__tostring) then
            out[i] = summary(v)
        else
            out[i] = M.format(v)
        end
    end
    if lines then
        out[1] = out[1]:gsub("\n$", "")
        return table.concat(out, "\n")
    end
    return table.concat(out, "\t")
end

-- The prompt's printer.
function M.print_results(...)
    io.stdout:write(M.results_text(...), "\n")
    io.stdout:flush()
end

return M
