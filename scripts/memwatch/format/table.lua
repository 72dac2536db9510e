-- memwatch.format.table: the human table, aligned, sizes in the article's
-- units (memwatch.bytes). Every text cell goes through text.printable, so no
-- control character or escape sequence from a process name reaches a terminal.
-- The default columns are `memwatch ps`'s: PID COMMAND REAL MEMORY MEMORY.
local core = require "memwatch.core"
local format = require "memwatch.format.fields"
local text = require "memwatch.text"

local TITLES = { pid = "PID", name = "COMMAND", resident = "REAL MEMORY", footprint = "MEMORY",
    group = "GROUP", count = "PROCS", grouping = "GROUPING" }

local function title(field)
    return TITLES[field] or (field:upper():gsub("_", " "))
end

local function cell(row, field, kind, grouping)
    local v = format.value(row, field, grouping)
    if v == nil then
        local denied = not grouping and core.peek(row, "denied")
        if denied and denied[field] then return "denied" end
        return "-"
    end
    if kind == "bytes" and math.type(v) == "integer" then return core.bytes(v) end
    if kind == "seconds" and type(v) == "number" then return string.format("%.2f", v) end
    if kind == "epoch" and type(v) == "number" then return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(v)) end
    return text.printable(tostring(v))
end

return {
    name = "table",
    description = "aligned columns for people, sizes like 15.0M",
    fields = { "pid", "name", "resident", "footprint" },
    group_fields = { "group", "count", "resident", "footprint", "swap", "pss" },
    new = function(opts, emit)
        local grouping = opts.grouping
        local fields = opts.fields or (grouping and { "group", "count", "resident", "footprint" }) or
            { "pid", "name", "resident", "footprint" }
        format.check_fields(fields, grouping ~= nil, "table")
        local columns, kinds = {}, {}
        for i, f in ipairs(fields) do
            local kind = format.kind(f, grouping ~= nil)
            kinds[i] = kind
            columns[i] = { title = title(f), align = (kind == "string" or kind == "boolean") and "left" or "right",
                min = f == "pid" and 5 or nil }
        end
        local rows = {}
        return {
            record = function(_, row)
                local r = {}
                for i, f in ipairs(fields) do r[i] = cell(row, f, kinds[i], grouping) end
                rows[#rows + 1] = r
            end,
            finish = function()
                emit(text.table(columns, rows))
            end,
        }
    end,
}
