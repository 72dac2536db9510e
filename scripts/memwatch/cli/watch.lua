-- memwatch watch: the default watch. The processes with the largest
-- footprint, refreshed every few seconds until Ctrl-C: top's rows and
-- system line (memwatch.view) as a plain table.
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"
local view = require "memwatch.view"

local function header()
    local line = view.system_line(memwatch.system(), "watch")
    return line == "" and "" or line .. "\n"
end

-- The rows are top's (one per process, largest footprint first), in a table
-- that fits its content.
local function frame(limit)
    local rows = view.rows(memwatch.processes(), "none")
    view.sort(rows, "footprint", true)
    local cells = {}
    for i = 1, math.min(limit, #rows) do
        local r = rows[i].proc
        cells[i] = { tostring(r.pid), text.printable(r.user or tostring(r.uid or "?")),
            memwatch.bytes(r.resident or 0), memwatch.bytes(r.footprint), text.printable(r.name) }
    end
    return text.table({
        { title = "PID", align = "right", min = 5 },
        { title = "USER" },
        { title = "REAL MEMORY", align = "right" },
        { title = "MEMORY", align = "right" },
        { title = "COMMAND" },
    }, cells)
end

return options.command {
    name = "watch",
    summary = "the largest processes by footprint, refreshed until Ctrl-C",
    usage = [[
usage: memwatch watch [--every=DURATION] [--count=N] [--limit=N]

Shows the processes with the largest footprint (MEMORY), refreshed every
DURATION (default 2s), until Ctrl-C or until N frames have been shown.
On a terminal the screen is redrawn; otherwise frames follow each other.
]],
    options = {
        every = { arg = true, short = "d" },
        count = { arg = true, short = "n" },
        limit = { arg = true, short = "l" },
        help = { short = "h" },
    },
    run = function(opts)
        local ok, every = pcall(memwatch.parse_duration, opts.every or "2s")
        if not ok then return false, (tostring(every):gsub("^.-:%d+: ", "")) end
        if every <= 0 then return false, "--every must be greater than 0" end
        local count = opts.count and math.tointeger(tonumber(opts.count))
        if opts.count and (not count or count < 1) then return false, "--count must be a positive integer" end
        local limit = math.tointeger(tonumber(opts.limit or 20))
        if not limit or limit < 1 then return false, "--limit must be a positive integer" end
        local tty = require("memwatch.core").isatty(1)
        local next_at, n = memwatch.now(), 0
        while true do
            local out = header() .. frame(limit)
            if tty then io.stdout:write("\27[H\27[2J") end
            io.stdout:write(os.date("%Y-%m-%d %H:%M:%S"), "  (Ctrl-C to stop)\n", out)
            if not tty then io.stdout:write("\n") end
            io.stdout:flush()
            n = n + 1
            if count and n >= count then break end
            -- Schedule on the monotonic clock so frames do not drift.
            next_at = next_at + every
            local wait = next_at - memwatch.now()
            if wait < 0 then
                next_at = memwatch.now()
                wait = 0
            end
            memwatch.sleep(wait)
        end
        return 0
    end,
}
