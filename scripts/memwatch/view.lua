-- memwatch.view: what the live views share (memwatch top, memwatch watch):
-- the rows of one scan, processes or groups, largest footprint first, and
-- the system line above them.
local core = require "memwatch.core"
local group = require "memwatch.group"

local M = {}

--- bytes(n) -> "1.5G", or "-" for nil
function M.bytes(v) return v and core.bytes(v) or "-" end
local bytes = M.bytes

--- rows(records, grouping [, filter]) -> rows with a footprint, one per
-- process (grouping "none") or group: {key, pid, count, pids, name,
-- footprint, resident, coalition_footprint (macOS apps), proc, procs}. pid and proc are the (first) process,
-- procs every member; filter
-- keeps the rows whose name holds it, ignoring case.
function M.rows(recs, grouping, filter)
    local rows = {}
    filter = filter and filter:lower()
    for _, g in ipairs(group.group(recs, grouping)) do
        local first = g.procs[1]
        local name = grouping == "none" and first.name or g.label
        if g.footprint and (not filter or (name or ""):lower():find(filter, 1, true)) then
            local pids = {}
            for i, r in ipairs(g.procs) do pids[i] = r.pid end
            rows[#rows + 1] = {
                key = g.key,
                pid = first.pid,
                proc = first,
                procs = g.procs,
                count = g.count,
                pids = pids,
                name = name or "?",
                footprint = g.footprint,
                resident = g.resident,
                coalition_footprint = g.coalition_footprint,
            }
        end
    end
    return rows
end

--- sort(rows, key, desc): by key ("pid", "name", "footprint", ...), then pid
function M.sort(rows, key, desc)
    table.sort(rows, function(a, b)
        local x, y = a[key], b[key]
        if key == "name" then x, y = x or "", y or "" else x, y = x or -math.huge, y or -math.huge end
        if x ~= y then
            if desc then return x > y end
            return x < y
        end
        return a.pid < b.pid
    end)
end

-- The system line's wording: top's, and watch's (kept as it always read).
local STYLES = {
    top = { mem = "Mem %s total, %s available", swap = "Swap %s/%s",
        pressure = "Pressure some %.1f%% full %.1f%%", state = true, sep = "   " },
    watch = { mem = "memory %s total, %s available", swap = "swap %s of %s used",
        pressure = "pressure some %.1f%% full %.1f%% (avg10)", sep = " | " },
}

--- system_line(system [, "top" | "watch"]) -> "Mem 15.5G total, ..." ("" without one)
function M.system_line(s, style)
    if not s then return "" end
    local st = STYLES[style or "top"]
    local parts = { string.format(st.mem, bytes(s.total), bytes(s.available or s.free)) }
    if s.swap_total and s.swap_total > 0 then
        parts[#parts + 1] = string.format(st.swap, bytes(s.swap_total - (s.swap_free or 0)), bytes(s.swap_total))
    end
    if s.pressure then
        parts[#parts + 1] = string.format(st.pressure, s.pressure.some_avg10, s.pressure.full_avg10)
    elseif s.pressure_state and st.state then
        parts[#parts + 1] = "Pressure " .. s.pressure_state
    end
    return table.concat(parts, st.sep)
end

return M
