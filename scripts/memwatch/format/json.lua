-- memwatch.format.json: JSON Lines, one object per row, encoded by
-- memwatch.json (jansson): integers stay exact, control characters are
-- escaped and bytes that are not UTF-8 become U+FFFD, so every line is valid
-- JSON whatever a process name holds. Without opts.fields a process row has
-- every field it was read with (and `denied`); a group row has grouping,
-- group, key, count and the sums.
local format = require "memwatch.format"
local json = require "memwatch.json"

return {
    name = "json",
    description = "JSON Lines: one object per row, sizes as exact integers",
    new = function(opts, emit)
        local grouping = opts.grouping
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
                emit(json.encode(obj, true) .. "\n")
            end,
            finish = function() end,
        }
    end,
}
