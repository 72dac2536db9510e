-- memwatch.watch.grew: what grew, for a rule's alert (event.grew). The
-- engine calls track() every tick a group has a value and at_fire() when it
-- fires; the breakdowns (memwatch.regions: smaps, which holds the process's
-- mmap_lock) are read at most twice per window per group:
--   - a baseline, once per window, of one member: the one that grew most so
--     far (at first, the largest). A growth rule takes it at the first tick
--     of the window its group shows growth (a positive slope), so groups that
--     do not grow, most of them, are never read; a threshold rule with
--     explain = true as the window starts. While the rule is not firing, each
--     new window re-takes it;
--   - one when the alert fires, of the member that grew most over the window
--     (each member's first and last footprint in the window are kept; that
--     costs no read).
-- When the member that grew most is not the one the baseline was taken of,
-- grew names it and its growth without a breakdown (one read per window
-- start is all there is).
local regions = require "memwatch.regions"
local units = require "memwatch.units"

local M = {}

-- How many categories and regions event.grew lists; the text shows three.
local TOP = 5
local TEXT_TOP = 3

-- A window's members, their first and last footprint in it: the first
-- member in the window's own fields (pid1, first1, last1), any other in two
-- tables made when a second member shows up, so a group of one process (a
-- rule over every process, one group each) keeps no table per member.
local function note(w, pid, footprint)
    if w.pid1 == nil or w.pid1 == pid then
        if w.pid1 == nil then w.pid1, w.first1 = pid, footprint end
        w.last1 = footprint
        return
    end
    if not w.first then w.first, w.last = {}, {} end
    if w.first[pid] == nil then w.first[pid] = footprint end
    w.last[pid] = footprint
end

-- The member that grew most over window w (nil when none is known).
local function top_grower(w)
    if w.pid1 == nil then return nil end
    local best, change = w.pid1, w.last1 - w.first1
    for pid, last in pairs(w.last or {}) do
        local d = last - w.first[pid]
        if d > change or (d == change and pid < best) then best, change = pid, d end
    end
    return best, change
end

local function largest(processes)
    local best
    for _, p in ipairs(processes) do
        if p.footprint and (not best or p.footprint > best.footprint) then best = p end
    end
    return best and best.pid
end

--- track(st, processes, now, window, read, ready): keeps st.grew_window, the
-- group's window: its start, each member's first and last footprint, the
-- baseline, read (once) on the first call with ready true.
-- read(pid) -> regions | nil (memwatch.regions).
function M.track(st, processes, now, window, read, ready)
    local w = st.grew_window
    -- The window before serves an alert of the tick this one started only.
    if w and w.prev and w.start < now then w.prev = nil end
    if not w or (not st.firing and now - w.start >= window) then
        -- The window before stays for an alert that fires as this one starts.
        if w then w.prev = nil end
        w = { start = now, prev = w, hint = w and top_grower(w) }
        st.grew_window = w
    end
    for _, p in ipairs(processes) do
        if p.footprint then note(w, p.pid, p.footprint) end
    end
    if ready and not w.base_pid then
        local top, change = top_grower(w)
        w.base_pid = (change and change > 0 and top) or w.hint or largest(processes)
        w.base = w.base_pid and read(w.base_pid) or nil
    end
end

-- "heap", or a region's own name where one region of a category made most
-- of its growth and has a name of its own ([anon:pool], /memfd:cache).
local function label(cat, d)
    if cat.name == "heap" or cat.name == "stack" then return cat.name end
    for _, r in ipairs(d.regions) do
        if r.category == cat.name and r.name ~= "[anon]" and r.change * 2 >= cat.change then return r.name end
    end
    return cat.name
end

--- at_fire(st, read, now) -> event.grew | nil
-- {pid =, change = (its footprint's growth over the window), categories =
-- {{name =, change =}, ...}, regions = {{name =, start =, category =,
-- change =, status =}, ...}, text = "heap +58.0M, [anon:pool] +2.9M"}.
function M.at_fire(st, read, now)
    local w = st.grew_window
    if w and w.start >= now and w.prev then w = w.prev end
    if not w then return nil end
    local pid, change = top_grower(w)
    if not pid then return nil end
    local grew = { pid = pid, change = change }
    local after = pid == w.base_pid and w.base and read(pid)
    if not after then
        grew.text = string.format("pid %d %s", pid, (change > 0 and "+" or "") .. units.bytes(change))
        return grew
    end
    local d = regions.compare(w.base, after)
    grew.categories, grew.regions = {}, {}
    local words = {}
    for _, c in ipairs(d.categories) do
        if c.change > 0 and #grew.categories < TOP then
            grew.categories[#grew.categories + 1] = { name = c.name, change = c.change }
            if #words < TEXT_TOP then words[#words + 1] = label(c, d) .. " +" .. units.bytes(c.change) end
        end
    end
    for _, r in ipairs(d.regions) do
        if r.change > 0 and #grew.regions < TOP then
            grew.regions[#grew.regions + 1] = { name = r.name, start = r.start, category = r.category,
                change = r.change, status = r.status }
        end
    end
    grew.text = #words > 0 and table.concat(words, ", ") or "no region grew"
    return grew
end

return M
