-- memwatch.format.json: JSON Lines, one object per row, encoded by
-- memwatch.json (jansson): integers stay exact, control characters are
-- escaped and bytes that are not UTF-8 become U+FFFD, so every line is valid
-- JSON whatever a process name holds. Without opts.fields a process row has
-- every field it was read with (and `denied`); a group row has grouping,
-- group, key, count and the sums.
local format = require "memwatch.format.fields"
local json = require "memwatch.json"

local function c1_escape(c) return string.format("\\u%04x", c:byte()) end

return {
    name = "json",
    description = "JSON Lines: one object per row, sizes as exact integers",
    new = function(opts, emit)
        local grouping = opts.grouping
        local printable = opts.printable
        local fields = opts.fields
        if fields then format.check_fields(fields, grouping ~= nil, "json") end
        return {
            record = function(_, row)
                local obj
                if fields then
                    obj = {}
                    for _, f in ipairs(fields) do obj[f] = format.value(row, f, grouping) end
                elseif grouping then
                    obj = { grouping = grouping, group = row.label, key = row.key, count = row.count,
                        footprint = row.footprint, resident = row.resident, swap = row.swap, pss = row.pss }
                else
                    obj = row
                end
                local line = json.encode(obj, true)
                -- On a terminal (opts.printable) the C1 controls (U+0080-U+009F,
                -- U+009B is a one-character CSI) and DEL, which JSON may leave
                -- raw, are written as \u escapes: still the same JSON.
                if printable then
                    line = line:gsub("\xC2([\x80-\x9F])", c1_escape):gsub("\x7F", "\\u007f")
                end
                emit(line .. "\n")
            end,
            finish = function() end,
        }
    end,
}
