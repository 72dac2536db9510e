-- memwatch ps: one table of processes, largest footprint first, in the
-- layout of the article's table (PID COMMAND REAL MEMORY MEMORY).
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local format = require "memwatch.format"
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

return options.command {
    name = "ps",
    summary = "one table of processes, largest footprint first",
    usage = [[
usage: memwatch ps [--sort=footprint|resident|pid|name]
                   [--format=table|csv|json|prometheus|influx] [--all] [NAME...]

Prints PID, COMMAND, REAL MEMORY (resident) and MEMORY (footprint) for every
process, or for the processes with one of the given names, largest footprint
first. A NAME that matches no process is said on stderr with the processes
whose names come close; when no NAME matches, the exit status is 1. Kernel
threads are left out unless --all is given. csv gives pid, ppid, user, name,
resident, footprint, swap and state, json every field
(one object per line), both with sizes in bytes; prometheus gives the text
exposition format (process_memory_* gauges), influx the InfluxDB line
protocol. Written to a terminal, names in every format are made printable.
]],
    options = {
        sort = { arg = true, values = SORTS, short = "s" },
        format = { arg = true, values = format.NAMES, short = "f" },
        all = { short = "a" },
        help = { short = "h" },
    },
    run = function(opts, names)
        local recs = {}
        local missing = {}
        if #names == 0 then
            recs = memwatch.processes()
        else
            for _, n in ipairs(names) do
                local found = memwatch.processes { name = n }
                for _, r in ipairs(found) do recs[#recs + 1] = r end
                if #found == 0 then missing[#missing + 1] = n end
            end
        end
        -- A name that matches nothing is said, with what comes close (never
        -- memwatch itself); when no name matched, nothing is printed but
        -- that, and the exit status is 1.
        if #missing > 0 then
            local all, me = memwatch.processes(), core.getpid()
            local say = options.reporter("ps")
            for _, n in ipairs(missing) do
                local close = suggest.closest_text(n, all, nil, function(r) return r.pid == me end)
                say(text.printable(string.format("no process matches %s%s", suggest.describe { name = n },
                    close and (" (" .. close .. ")") or "")))
            end
            if #missing == #names then return 1 end
        end
        if not opts.all then
            local kept = {}
            for _, r in ipairs(recs) do
                if not r.kernel_thread then kept[#kept + 1] = r end
            end
            recs = kept
        end
        sort_records(recs, opts.sort or "footprint")
        local out = format.render(opts.format or "table", recs,
            { printable = core.isatty(1) or nil })
        io.stdout:write(out)
        io.stdout:flush()
        return 0
    end,
}
