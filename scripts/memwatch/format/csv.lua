-- memwatch.format.csv: RFC 4180. A header line, then one line per row, every
-- line ending in CRLF; a field holding a comma, a quote, CR or LF is quoted
-- with its quotes doubled. Sizes are plain integers in bytes; a missing value
-- is an empty field. Names keep their bytes, unless opts.printable (set by
-- memwatch ps when writing to a terminal) asks for text.printable.
local format = require "memwatch.format.fields"
local text = require "memwatch.text"

return {
    name = "csv",
    description = "RFC 4180 comma-separated values, sizes in bytes",
    fields = { "pid", "ppid", "user", "name", "resident", "footprint", "swap", "state" },
    new = function(opts, emit)
        local grouping = opts.grouping
        local fields = opts.fields or
            (grouping and { "grouping", "group", "count", "footprint", "resident", "swap", "pss" })
            or { "pid", "ppid", "user", "name", "resident", "footprint", "swap", "state" }
        format.check_fields(fields, grouping ~= nil, "csv")
        local printable = opts.printable
        return {
            begin = function()
                emit(text.csv_line(fields))
            end,
            record = function(_, row)
                local vals = {}
                for i, f in ipairs(fields) do
                    local v = format.value(row, f, grouping)
                    if type(v) == "string" and printable then v = text.printable(v) end
                    if type(v) == "table" then v = nil end
                    vals[i] = v
                end
                emit(text.csv_line(vals, #fields))
            end,
            finish = function() end,
        }
    end,
}
