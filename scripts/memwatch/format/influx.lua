-- memwatch.format.influx: InfluxDB line protocol, one line per row:
--   process_memory,name=sshd,pid=639,user=root footprint=5242880i,resident=15728640i 1732550400000000000
-- Sizes are integers (the i suffix), the timestamp is in nanoseconds (opts.time,
-- epoch seconds, or now). Tag values are the printable form of the name
-- (text.printable: no newline or control character can break a line, a
-- backslash is doubled so it never escapes a separator), then commas,
-- equals signs and spaces are escaped with a backslash. Group rows go to the
-- measurement memwatch_group_memory with tags grouping and group.
local core = require "memwatch.core"
local text = require "memwatch.text"
local fieldkind = require "memwatch.format.fields"

local M = {}

M.PROCESS_FIELDS = { "footprint", "resident", "virtual", "swap", "pss", "resident_peak", "footprint_peak" }
M.GROUP_FIELDS = { "count", "footprint", "resident", "swap", "pss" }

function M.escape_measurement(s)
    return (s:gsub("[, ]", "\\%0"))
end

function M.escape_tag(s)
    return (text.printable(tostring(s)):gsub("[,= ]", "\\%0"))
end

-- Epoch seconds (float) -> integer nanoseconds, without float rounding of
-- the whole product.
function M.ns(t)
    local sec = math.floor(t)
    local frac = math.floor((t - sec) * 1e9 + 0.5)
    if frac >= 1000000000 then sec, frac = sec + 1, frac - 1000000000 end
    return math.tointeger(sec) * 1000000000 + math.tointeger(frac)
end

-- A field value: an integer with i, a float, a quoted string (with " and \
-- escaped; printable, as tags are), a boolean.
local function field_value(v)
    if type(v) == "string" then return '"' .. text.printable(v):gsub('["\\]', "\\%0") .. '"' end
    if type(v) == "boolean" then return tostring(v) end
    if math.type(v) == "integer" then return string.format("%di", v) end
    if v ~= v or v == math.huge or v == -math.huge then return nil end -- not representable
    return string.format("%.15g", v)
end

M.name = "influx"
M.description = "InfluxDB line protocol (integers with i, nanosecond timestamps)"

-- The tags of a row, never fields, whatever opts.fields asks.
local TAGS = { pid = true, name = true, user = true }
local GROUP_TAGS = { group = true, grouping = true }

function M.new(opts, emit)
    local grouping = opts.grouping
    local chosen
    if opts.fields then
        fieldkind.check_fields(opts.fields, grouping ~= nil, "influx")
        chosen = {}
        for _, f in ipairs(opts.fields) do
            if not (grouping and GROUP_TAGS or TAGS)[f] then chosen[#chosen + 1] = f end
        end
    end
    -- Fields asked for by name may be read on access (a record's lazy fields).
    local get = (chosen and not grouping) and function(r, k) return r[k] end or core.peek
    local ts
    return {
        begin = function()
            ts = string.format("%d", M.ns(opts.time or core.time()))
        end,
        record = function(_, row)
            local measurement, tags, fields
            if grouping then
                measurement = "memwatch_group_memory"
                tags = { { "group", row.label or row.key }, { "grouping", grouping } }
                fields = chosen or M.GROUP_FIELDS
            else
                measurement = "process_memory"
                tags = { { "name", core.peek(row, "name") }, { "pid", core.peek(row, "pid") },
                    { "user", core.peek(row, "user") or core.peek(row, "uid") } }
                fields = chosen or M.PROCESS_FIELDS
            end
            local parts = { M.escape_measurement(measurement) }
            for _, t in ipairs(tags) do
                -- An empty tag value is not allowed: the tag is left out.
                if t[2] ~= nil and tostring(t[2]) ~= "" then
                    parts[#parts + 1] = "," .. t[1] .. "=" .. M.escape_tag(t[2])
                end
            end
            local fv = {}
            for _, f in ipairs(fields) do
                local v = get(row, f)
                if v ~= nil and type(v) ~= "table" then
                    local s = field_value(v)
                    if s then fv[#fv + 1] = f .. "=" .. s end
                end
            end
            -- A line needs at least one field.
            if #fv == 0 then return end
            emit(table.concat(parts) .. " " .. table.concat(fv, ",") .. " " .. ts .. "\n")
        end,
        finish = function() end,
    }
end

return M
