-- memwatch top: the live view. One row per process (or group), largest
-- footprint first, with a sparkline of recent footprint and its change per
-- minute. Without a terminal, or with --once, one plain table.
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local text = require "memwatch.text"
local view = require "memwatch.view"
local group = require "memwatch.group"

local GROUPINGS = { "none", "name", "tree", "app", "user" }
-- In the order of the columns, so keys 1-5 name them left to right.
local SORT_KEYS = { "pid", "name", "resident", "footprint", "change" }
local HISTORY = 120 -- samples kept per process

local bytes = view.bytes

local function rate_text(r)
    if not r then return "-" end
    if r == 0 then return "0" end
    return (r > 0 and "+" or "") .. memwatch.bytes(math.floor(r + 0.5))
end

-- Change per minute from a row's history: over the last minute when there is
-- a minute of it, else over what there is (at least two samples 1s apart).
local function per_minute(hist)
    local n = #hist
    if n < 2 then return nil end
    local last = hist[n]
    local first = hist[1]
    for i = n - 1, 1, -1 do
        first = hist[i]
        if last.t - hist[i].t >= 60 then break end
    end
    local dt = last.t - first.t
    if dt < 1 then return nil end
    return (last.v - first.v) / dt * 60
end

local BLOCKS_UTF8 = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" }
local BLOCKS_ASCII = { "_", ".", "-", "~", "=", "+", "*", "#" }

local function sparkline(hist, width, blocks)
    local n = #hist
    if n == 0 then return "" end
    local from = math.max(1, n - width + 1)
    local lo, hi = math.huge, -math.huge
    for i = from, n do
        lo = math.min(lo, hist[i].v)
        hi = math.max(hi, hist[i].v)
    end
    local out = {}
    for i = from, n do
        local level = hi > lo and math.floor((hist[i].v - lo) / (hi - lo) * 7 + 0.5) + 1 or 1
        out[#out + 1] = blocks[level]
    end
    return table.concat(out)
end

-- History is kept per process (pid and start time, so a reused pid starts
-- afresh), one footprint per sample; a row's history is the sum of its
-- members' at each sample. So changing the grouping keeps every sparkline
-- and change per minute: a group's past is its members' past.
local function record_history(st, recs, now)
    st.tick = (st.tick or 0) + 1
    local tick = st.tick
    st.times[tick] = now
    st.times[tick - HISTORY] = nil
    local alive = {}
    for _, r in ipairs(recs) do
        if r.footprint then
            local id = group.ident(r)
            local h = st.history[id]
            if not h then
                h = { first = tick }
                st.history[id] = h
            end
            h[tick] = r.footprint
            if tick - HISTORY >= h.first then
                h[tick - HISTORY] = nil
                h.first = tick - HISTORY + 1
            end
            alive[id] = true
        end
    end
    for id in pairs(st.history) do
        if not alive[id] then st.history[id] = nil end
    end
end

local function row_history(st, row)
    local hs, from = {}, st.tick
    for _, r in ipairs(row.procs) do
        local h = st.history[group.ident(r)]
        if h then
            hs[#hs + 1] = h
            if h.first < from then from = h.first end
        end
    end
    local out = {}
    for tick = from, st.tick do
        local sum, any = 0, false
        for _, h in ipairs(hs) do
            local v = h[tick]
            if v then sum, any = sum + v, true end
        end
        if any then out[#out + 1] = { t = st.times[tick], v = sum } end
    end
    return out
end

-- The processes the view shows: every one, or those the selection options
-- choose (one filter per --name: their union, each process once).
local function scan(st)
    -- start_time keys each process's history across pid reuse.
    if not st.selection then return memwatch.processes(nil, { "start_time" }) end
    local recs, seen = {}, {}
    for _, f in ipairs(st.selection) do
        for _, r in ipairs(memwatch.processes(f, { "start_time" })) do
            if not seen[r.pid] then
                seen[r.pid] = true
                recs[#recs + 1] = r
            end
        end
    end
    return recs
end

local function sample(st)
    local recs = scan(st)
    record_history(st, recs, memwatch.now())
    local rows = view.rows(recs, st.grouping, st.filter)
    for _, row in ipairs(rows) do
        row.hist = row_history(st, row)
        row.change = per_minute(row.hist)
    end
    view.sort(rows, st.sort, st.desc)
    st.rows = rows
    st.system = memwatch.system()
    st.nprocs = #recs
end

-- The titles are memwatch ps's (and memwatch.format's table): PID COMMAND
-- REAL MEMORY MEMORY, in that order; a group shows PROCS and GROUP.
local function columns(st)
    local grouped = st.grouping ~= "none"
    return {
        { key = "pid", title = grouped and "PROCS" or "PID", width = 7, right = true,
            cell = function(r) return grouped and tostring(r.count) or tostring(r.pid) end },
        { key = "name", title = grouped and "GROUP" or "COMMAND", width = 24,
            cell = function(r) return text.printable(r.name) end },
        { key = "resident", title = "REAL MEMORY", width = 12, right = true,
            cell = function(r) return bytes(r.resident) end },
        { key = "footprint", title = "MEMORY", width = 9, right = true,
            cell = function(r) return bytes(r.footprint) end },
        { key = "change", title = "CHANGE/MIN", width = 11, right = true,
            cell = function(r) return rate_text(r.change) end },
        -- macOS apps: the kernel's total over the whole coalition.
        st.grouping == "app" and core.platform == "darwin" and { key = "coalition_footprint", title = "COALITION",
            width = 10, right = true, cell = function(r) return bytes(r.coalition_footprint) end } or nil,
    }
end

local function fit(s, w, right)
    local len = text.width(s)
    if len > w then
        -- cut on a character boundary
        local cut = utf8.offset(s, w) or (w + 1)
        return s:sub(1, cut - 1)
    end
    return right and string.rep(" ", w - len) .. s or s .. string.rep(" ", w - len)
end

local function line_of(cols, cells)
    local parts = {}
    for i, c in ipairs(cols) do parts[i] = fit(cells[i], c.width, c.right) end
    return table.concat(parts, " ")
end

-- The plain table for --once and for output that is not a terminal.
local function plain(st, limit)
    local cols = columns(st)
    local out = { view.system_line(st.system), "" }
    local titles = {}
    for i, c in ipairs(cols) do titles[i] = c.title end
    out[#out + 1] = (line_of(cols, titles):gsub("%s+$", ""))
    for i, r in ipairs(st.rows) do
        if limit and i > limit then break end
        local cells = {}
        for j, c in ipairs(cols) do cells[j] = c.cell(r) end
        out[#out + 1] = (line_of(cols, cells):gsub("%s+$", ""))
    end
    return table.concat(out, "\n") .. "\n"
end

local HELP = "q quit  / filter  g group  p pause  k signal  <> or 1-5 sort  r reverse  arrows select"

local function draw(st, curses)
    local rows_n, cols_n = curses.size()
    local cols = columns(st)
    curses.erase()
    local n = st.nprocs or 0
    curses.put(0, 0, string.format("memwatch top  %s  %d %s  every %gs  group: %s%s%s",
        os.date("%H:%M:%S"), n, n == 1 and "process" or "processes", st.every, st.grouping,
        st.filter and ("  filter: " .. text.printable(st.filter)) or "", st.paused and "  [paused]" or ""), "bold")
    curses.put(1, 0, view.system_line(st.system), "header")
    local titles = {}
    for i, c in ipairs(cols) do
        local mark = c.key == st.sort and (st.desc and "v" or "^") or ""
        titles[i] = c.title .. mark
    end
    local header = line_of(cols, titles) .. " HISTORY"
    curses.put(3, 0, header .. string.rep(" ", math.max(0, cols_n - #header)), "title")
    local body = rows_n - 6
    if body < 1 then body = 1 end
    local nrows = #st.rows
    if st.sel > nrows then st.sel = nrows end
    if st.sel < 1 then st.sel = 1 end
    if st.sel <= st.offset then st.offset = st.sel - 1 end
    if st.sel > st.offset + body then st.offset = st.sel - body end
    local spark_w = math.max(0, cols_n - #header + #" HISTORY" - 1)
    for i = 1, body do
        local r = st.rows[st.offset + i]
        if not r then break end
        local cells = {}
        for j, c in ipairs(cols) do cells[j] = c.cell(r) end
        local line = line_of(cols, cells) .. " " .. sparkline(r.hist or {}, math.min(spark_w, 40), st.blocks)
        local y = 3 + i
        curses.put(y, 0, line, st.offset + i == st.sel and "selected" or nil)
        if st.offset + i == st.sel then curses.fill(y, "selected") end
    end
    curses.put(rows_n - 1, 0, st.message or HELP, st.message and "warn" or "dim")
    curses.refresh()
end

-- Reads a line of text at the bottom of the screen (for /).
local function prompt(curses, st, label)
    local buf = ""
    while true do
        st.message = label .. buf
        draw(st, curses)
        local k = curses.getkey(-1)
        if k == "enter" then st.message = nil return buf end
        if k == "esc" then st.message = nil return nil end
        if k == "backspace" then
            buf = buf:sub(1, -2)
        elseif k and #k == 1 and k:byte() >= 32 and k:byte() < 127 then
            buf = buf .. k
        end
    end
end

-- A yes/no question at the bottom of the screen: one key answers it, y (or
-- Y) for yes, any other for no; the keys after it are top's again.
local function confirm(curses, st, label)
    st.message = label
    while true do
        draw(st, curses)
        local k = curses.getkey(-1)
        if k and k ~= "resize" then
            st.message = nil
            return k == "y" or k == "Y"
        end
    end
end

local function send_signal(curses, st)
    local r = st.rows[st.sel]
    if not r then return end
    local what = st.grouping == "none" and string.format("pid %d (%s)", r.pid, text.printable(r.name))
        or string.format("%d process%s of %s", r.count, r.count == 1 and "" or "es", text.printable(r.name))
    if not confirm(curses, st, string.format("Send SIGTERM to %s? [y/N] ", what)) then
        st.message = "signal cancelled"
        return
    end
    local self = core.getpid()
    local sent, failed = 0, nil
    for _, pid in ipairs(r.pids) do
        if pid == self or pid == 1 then
            failed = "refused to signal memwatch itself or pid 1"
        else
            local ok, err = core.kill(pid, "TERM")
            if ok then sent = sent + 1 else failed = err end
        end
    end
    st.message = failed and string.format("sent SIGTERM to %d; %s", sent, failed)
        or string.format("sent SIGTERM to %d process%s", sent, sent == 1 and "" or "es")
end

local function cycle(list, current, step)
    for i, v in ipairs(list) do
        if v == current then return list[(i - 1 + step) % #list + 1] end
    end
    return list[1]
end

local function handle_key(st, k, curses)
    st.message = nil
    if k == "q" or k == "Q" then return "quit" end
    if k == "p" or k == " " then
        st.paused = not st.paused
    elseif k == "g" then
        st.grouping = cycle(GROUPINGS, st.grouping, 1)
        st.sel, st.offset = 1, 0
        return "resample"
    elseif k == "/" then
        local f = prompt(curses, st, "Filter by name (empty clears): ")
        if f then st.filter = f ~= "" and f or nil end
        st.sel, st.offset = 1, 0
        return "resample"
    elseif k == "<" or k == ">" then
        st.sort = cycle(SORT_KEYS, st.sort, k == ">" and 1 or -1)
    elseif k and k:match("^[1-5]$") then
        local key = SORT_KEYS[tonumber(k)]
        if key == st.sort then st.desc = not st.desc else st.sort, st.desc = key, key ~= "name" end
    elseif k == "r" then
        st.desc = not st.desc
    elseif k == "up" then
        st.sel = st.sel - 1
    elseif k == "down" then
        st.sel = st.sel + 1
    elseif k == "pgup" then
        st.sel = st.sel - 10
    elseif k == "pgdown" then
        st.sel = st.sel + 10
    elseif k == "home" then
        st.sel = 1
    elseif k == "end" then
        st.sel = #st.rows
    elseif k == "k" then
        send_signal(curses, st)
    elseif k == "resize" then
        return "redraw"
    end
    if st.rows then view.sort(st.rows, st.sort, st.desc) end
    return "redraw"
end

local function live(st, curses)
    local next_at = memwatch.now()
    sample(st)
    while true do
        draw(st, curses)
        local now = memwatch.now()
        local wait
        if not st.paused and now >= next_at + st.every then
            next_at = next_at + st.every
            if next_at < now - st.every then next_at = now end
            sample(st)
            -- A scan that takes longer than the interval (thousands of
            -- processes, a short --every) must not starve the keys: look
            -- once without waiting before the next one.
            wait = 0
        else
            wait = st.paused and 1000 or math.max(0, math.floor((next_at + st.every - now) * 1000))
        end
        local k = curses.getkey(wait)
        if k then
            local what = handle_key(st, k, curses)
            if what == "quit" then return end
            if what == "resample" then sample(st) end
        end
    end
end

return options.command {
    name = "top",
    summary = "the live view: processes by footprint, refreshed",
    usage = [[
usage: memwatch top [--every=DURATION] [--filter=TEXT] [--group=none|name|tree|app|user]
                    [--sort=footprint|resident|pid|name|change] [--once] [--limit=N]
                    [selection options]

A full-screen view, largest footprint (MEMORY) first: PID, COMMAND, REAL
MEMORY (resident), MEMORY (footprint), the change per minute and a sparkline
of recent footprint (grouped: PROCS and GROUP for the first two; on macOS
--group=app adds COALITION, the kernel's footprint total of the app's
coalition, members memwatch may not read included).
Keys: q quit, / filter by name, g cycle grouping (each process keeps its
history), p pause, k send SIGTERM to the selected row (y confirms, any other
key cancels), < > or 1-5 choose the sort column, r reverse it,
arrows/PgUp/PgDn select. With --once, or when standard output is not a
terminal, prints one plain table and exits. The selection options choose
which processes it shows (all of them by default); --filter and / then
narrow the rows by name.

]] .. options.SELECTION_HELP,
    options = options.with_selection {
        every = { arg = true, short = "d" },
        filter = { arg = true, short = "f" },
        group = { arg = true, values = GROUPINGS, short = "g" },
        sort = { arg = true, values = SORT_KEYS, short = "s" },
        once = { short = "1" },
        limit = { arg = true, short = "n" },
        help = { short = "h" },
    },
    run = function(opts)
        local ok, every = pcall(memwatch.parse_duration, opts.every or "2s")
        if not ok then return false, (tostring(every):gsub("^.-:%d+: ", "")) end
        if every <= 0 then return false, "--every must be greater than 0" end
        local limit = opts.limit and math.tointeger(tonumber(opts.limit))
        if opts.limit and (not limit or limit < 1) then return false, "--limit must be a positive integer" end
        local selection, given = options.selection(opts)
        if not selection then return false, given end
        local st = {
            selection = given and selection or nil,
            every = every, filter = opts.filter, grouping = opts.group or "none",
            sort = opts.sort or "footprint", desc = (opts.sort or "footprint") ~= "name",
            paused = false, sel = 1, offset = 0, history = {}, times = {},
        }
        local curses = require "memwatch.curses"
        if opts.once or not core.isatty(1) or not core.isatty(0) then
            sample(st)
            io.stdout:write(plain(st, limit))
            return 0
        end
        local started, err = curses.init()
        if not started then return nil, err end
        st.blocks = curses.utf8() and BLOCKS_UTF8 or BLOCKS_ASCII
        -- Always give the terminal back, whatever ends the loop (q, Ctrl-C, an error).
        local ok2, err2 = pcall(live, st, curses)
        curses.done()
        if not ok2 and not tostring(err2):find("interrupted!") then error(err2, 0) end
        return 0
    end,
}
