-- memwatch watch: the default watch. The processes with the largest
-- footprint, refreshed every few seconds until Ctrl-C.
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"

local function header()
    local s = memwatch.system()
    if not s then return "" end
    local parts = { string.format("memory %s total, %s available", memwatch.bytes(s.total),
        memwatch.bytes(s.available or s.free)) }
    if s.swap_total and s.swap_total > 0 then
        parts[#parts + 1] = string.format("swap %s of %s used", memwatch.bytes(s.swap_total - s.swap_free),
            memwatch.bytes(s.swap_total))
    end
    if s.pressure then
        parts[#parts + 1] = string.format("pressure some %.2f%% full %.2f%% (avg10)", s.pressure.some_avg10,
            s.pressure.full_avg10)
    end
    return table.concat(parts, " | ") .. "\n"
end

local function frame(limit)
    local recs = memwatch.processes()
    local kept = {}
    for _, r in ipairs(recs) do
        if r.footprint then kept[#kept + 1] = r end
    end
    table.sort(kept, function(a, b)
        if a.footprint ~= b.footprint then return a.footprint > b.footprint end
        return a.pid < b.pid
    end)
    local rows = {}
    for i = 1, math.min(limit, #kept) do
        local r = kept[i]
        rows[i] = { tostring(r.pid), text.printable(r.user or tostring(r.uid or "?")),
            memwatch.bytes(r.resident or 0), memwatch.bytes(r.footprint), text.printable(r.name) }
    end
    return text.table({
        { title = "PID", align = "right", min = 5 },
        { title = "USER" },
        { title = "REAL MEMORY", align = "right" },
        { title = "MEMORY", align = "right" },
        { title = "COMMAND" },
    }, rows)
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
