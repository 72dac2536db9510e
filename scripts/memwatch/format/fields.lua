-- memwatch.format.fields: what the format modules share: the kind of each
-- field a row may have, the check of a field list, and a row's value. Below
-- memwatch.format, so a format module needs not require the module that
-- loads it.
local core = require "memwatch.core"

local M = {}

-- Keys a process record may have besides the catalogue's fields.
local RECORD_KEYS = { pid = "count", ppid = "count", uid = "count", user = "string", name = "string",
    state = "string", threads = "count", start_time = "epoch", cpu_time = "seconds", cmdline = "string",
    path = "string", kernel_thread = "boolean", comm = "string" }
-- The fields of a group row.
local GROUP_KEYS = { group = "string", grouping = "string", key = "string", count = "count",
    footprint = "bytes", resident = "bytes", swap = "bytes", pss = "bytes" }
M.GROUP_FIELDS = { "group", "count", "footprint", "resident", "swap", "pss" }

--- format.kind(field [, grouped]) -> "bytes" | "count" | "seconds" | "epoch" | "string" | "boolean" | nil
function M.kind(field, grouped)
    if grouped then return GROUP_KEYS[field] end
    local f = core.fields[field]
    if f then return f.kind end
    return RECORD_KEYS[field]
end

--- format.field_names([grouped]) -> every field name a row may have, sorted
function M.field_names(grouped)
    local out = {}
    for k in pairs(grouped and GROUP_KEYS or RECORD_KEYS) do out[#out + 1] = k end
    if not grouped then
        for k in pairs(core.fields) do
            if not RECORD_KEYS[k] then out[#out + 1] = k end
        end
    end
    table.sort(out)
    return out
end

-- Checks a field list against the rows' kind; raises with the unknown name.
function M.check_fields(fields, grouped, who)
    for _, f in ipairs(fields) do
        if not M.kind(f, grouped) then
            error(string.format("format %s: unknown %sfield '%s'", who, grouped and "group " or "", f), 0)
        end
    end
    return fields
end

--- format.value(row, field, grouping) -> the value; for a group row (grouping
-- set) "group" is its label and "grouping" the grouping's name.
function M.value(row, field, grouping)
    if grouping then
        if field == "group" then return row.label end
        if field == "grouping" then return grouping end
        return core.peek(row, field)
    end
    return row[field]
end

return M
