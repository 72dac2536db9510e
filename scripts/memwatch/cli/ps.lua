-- memwatch ps: one table of processes, largest footprint first, in the
-- layout of the article's table (PID COMMAND REAL MEMORY MEMORY).
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"

local SORTS = { "footprint", "resident", "pid", "name" }

local function sort_records(recs, key)
    local function num(r, k) return r[k] or -1 end
    table.sort(recs, function(a, b)
        if key == "pid" then return a.pid < b.pid end
        if key == "name" then
            if a.name ~= b.name then return (a.name or "") < (b.name or "") end
            return a.pid < b.pid
        end
        local x, y = num(a, key), num(b, key)
        if x ~= y then return x > y end
        return a.pid < b.pid
    end)
end

local function size_cell(r, field)
    local v = r[field]
    if v then return memwatch.bytes(v) end
    if r.denied and r.denied[field] then return "denied" end
    return "-"
end

local function as_table(recs)
    local rows = {}
    for i, r in ipairs(recs) do
        rows[i] = { tostring(r.pid), text.printable(r.name), size_cell(r, "resident"),
            size_cell(r, "footprint") }
    end
    return text.table({
        { title = "PID", align = "right", min = 5 },
        { title = "COMMAND" },
        { title = "REAL MEMORY", align = "right" },
        { title = "MEMORY", align = "right" },
    }, rows)
end

local CSV_FIELDS = { "pid", "ppid", "user", "name", "resident", "footprint", "swap", "state" }

local function as_csv(recs)
    local out = { text.csv_line(CSV_FIELDS) }
    for _, r in ipairs(recs) do
        local row = {}
        for i, f in ipairs(CSV_FIELDS) do row[i] = r[f] end
        out[#out + 1] = text.csv_line(row, #CSV_FIELDS)
    end
    return table.concat(out)
end

local function as_json(recs)
    local json = require "memwatch.json"
    local out = {}
    for _, r in ipairs(recs) do out[#out + 1] = json.encode(r, true) end
    return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

return options.command {
    name = "ps",
    summary = "one table of processes, largest footprint first",
    usage = [[
usage: memwatch ps [--sort=footprint|resident|pid|name] [--format=table|csv|json]
                   [--all] [NAME...]

Prints PID, COMMAND, REAL MEMORY (resident) and MEMORY (footprint) for every
process, or for the processes with one of the given names, largest footprint
first. Kernel threads are left out unless --all is given. csv and json give
every field in bytes (json: one object per line).
]],
    options = {
        sort = { arg = true, values = SORTS, short = "s" },
        format = { arg = true, values = { "table", "csv", "json" }, short = "f" },
        all = { short = "a" },
        help = { short = "h" },
    },
    run = function(opts, names)
        local recs = {}
        if #names == 0 then
            recs = memwatch.processes()
        else
            for _, n in ipairs(names) do
                for _, r in ipairs(memwatch.processes { name = n }) do recs[#recs + 1] = r end
            end
        end
        if not opts.all then
            local kept = {}
            for _, r in ipairs(recs) do
                if not r.kernel_thread then kept[#kept + 1] = r end
            end
            recs = kept
        end
        sort_records(recs, opts.sort or "footprint")
        local fmt = opts.format or "table"
        local out, err
        if fmt == "csv" then
            out = as_csv(recs)
        elseif fmt == "json" then
            out, err = as_json(recs)
        else
            out = as_table(recs)
        end
        if not out then return nil, err end
        io.stdout:write(out)
        io.stdout:flush()
        return 0
    end,
}
