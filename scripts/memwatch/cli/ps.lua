-- memwatch ps: one table of processes, largest footprint first, in the
-- layout of the article's table (PID COMMAND REAL MEMORY MEMORY).
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local format = require "memwatch.format"
local select_ = require "memwatch.select"
local suggest = require "memwatch.suggest"
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

-- --fields=a,b (repeatable) -> the list, or nil and the message for an
-- unknown name (the closest known one, or all of them).
local function field_list(given)
    local list = {}
    for _, g in ipairs(given) do
        for f in (g .. ","):gmatch("([^,]*),") do
            f = f:match("^%s*(.-)%s*$")
            if f == "" then return nil, "--fields: an empty field name" end
            if not format.kind(f) then
                local known, near, best = format.field_names(), nil, 3
                for _, k in ipairs(known) do
                    local d = suggest.distance(f, k, 2)
                    if d < best then near, best = k, d end
                end
                return nil, string.format("--fields: unknown field '%s' (%s)", text.printable(f),
                    near and ("did you mean '" .. near .. "'?") or ("fields: " .. table.concat(known, ", ")))
            end
            list[#list + 1] = f
        end
    end
    return list
end

-- The fields memwatch.processes reads in its scan (the others are the
-- record's own keys, or read on access).
local SCANNED = { name = true, user = true, state = true, cmdline = true, path = true }

return options.command {
    name = "ps",
    summary = "one table of processes, largest footprint first",
    usage = [[
usage: memwatch ps [--sort=footprint|resident|pid|name]
                   [--format=table|csv|json|prometheus|influx]
                   [--fields=FIELD,...] [--all] [selection options] [NAME...]

Prints PID, COMMAND, REAL MEMORY (resident) and MEMORY (footprint) for every
process, or for the processes with one of the given names, largest footprint
first. A selection that matches no process is said on stderr with the
processes whose names come close; when nothing matches, the exit status is 1.
Kernel threads are left out unless --all is given. csv gives pid, ppid, user,
name, resident, footprint, swap and state, json every field it read (one
object per line), both with sizes in bytes; prometheus gives the text
exposition format (process_memory_* gauges), influx the InfluxDB line
protocol. Written to a terminal, names in every format are made printable.
A NAME is the same as --name NAME.

  --fields  the columns (table, csv, json) or values (prometheus, influx;
            their pid, name and user labels stay), in this order, read in
            the same scan: --fields=pid,name,pss,uss,cpu_time

]] .. options.SELECTION_HELP,
    options = options.with_selection {
        sort = { arg = true, values = SORTS, short = "s" },
        format = { arg = true, values = format.NAMES, short = "f" },
        fields = { arg = true, many = true },
        all = { short = "a" },
        help = { short = "h" },
    },
    run = function(opts, names)
        local fields, read
        if opts.fields then
            local ferr
            fields, ferr = field_list(opts.fields)
            if not fields then return false, ferr end
            read = {}
            for _, f in ipairs(fields) do
                if core.fields[f] or SCANNED[f] then read[#read + 1] = f end
            end
        end
        local recs, seen, missing = {}, {}, {}
        if #names > 0 then
            opts.name = opts.name or {}
            for _, n in ipairs(names) do opts.name[#opts.name + 1] = n end
        end
        -- options.selection: the filters and whether any was given, or nil
        -- and the message.
        local filters, given = options.selection(opts)
        if not filters then return false, given end
        for _, f in ipairs(filters) do
            local found = memwatch.processes(f, read)
            for _, r in ipairs(found) do
                -- A process two names select is listed once.
                if not seen[r.pid] then
                    seen[r.pid] = true
                    recs[#recs + 1] = r
                end
            end
            if given and #found == 0 then missing[#missing + 1] = f end
        end
        if opts.pidfile then
            local _, why = select_.read_pidfile(opts.pidfile)
            if why then io.stderr:write("memwatch ps: ", why, "\n") end
        end
        -- A selection that matches nothing is said, with what comes close
        -- (never memwatch itself, nor a wrapper that started it); when
        -- nothing matched at all, nothing is printed but that, and the exit
        -- status is 1.
        if #missing > 0 then
            local all = memwatch.processes()
            local say = options.reporter("ps")
            for _, f in ipairs(missing) do
                local close = f.name and suggest.closest_text(f.name, all, nil, select_.own)
                say(text.printable(string.format("no process matches %s%s", suggest.describe(f),
                    close and (" (" .. close .. ")") or "")))
            end
            if #missing == #filters then return 1 end
        end
        if not opts.all then
            local kept = {}
            for _, r in ipairs(recs) do
                if not r.kernel_thread then kept[#kept + 1] = r end
            end
            recs = kept
        end
        sort_records(recs, opts.sort or "footprint")
        local ok, out = pcall(format.render, opts.format or "table", recs,
            { printable = core.isatty(1) or nil, fields = fields })
        -- A field the format cannot show (a string as a prometheus sample).
        if not ok and tostring(out):find("^format %w+: ") then
            return false, "--fields: " .. tostring(out):gsub("^format %w+: ", "")
        end
        if not ok then error(out, 0) end
        io.stdout:write(out)
        io.stdout:flush()
        return 0
    end,
}
