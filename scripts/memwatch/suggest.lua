-- memwatch.suggest: what comes close to a selection that matches nothing, so
-- that a watcher left waiting says what the user may have meant. Pure: it
-- reads the records it is given (their name, comm, path and cmdline).
local M = {}

-- The kernel keeps this many bytes of a program's name on Linux (comm).
local COMM_MAX = 15

-- Levenshtein distance of a and b (bytes), or limit + 1 as soon as it must
-- exceed limit.
function M.distance(a, b, limit)
    limit = limit or math.huge
    if math.abs(#a - #b) > limit then return limit + 1 end
    local prev = {}
    for j = 0, #b do prev[j] = j end
    for i = 1, #a do
        local cur, best = { [0] = i }, i
        local ai = a:byte(i)
        for j = 1, #b do
            local cost = (ai == b:byte(j)) and 0 or 1
            local v = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            cur[j] = v
            if v < best then best = v end
        end
        if best > limit then return limit + 1 end
        prev = cur
    end
    return prev[#b]
end

-- "name 'x'", "name 'x', user 'www-data'": the selection as people typed it.
function M.describe(filter)
    local parts = {}
    local order = { "name", "exe", "match", "user", "pid", "pidfile", "unit", "container" }
    for _, k in ipairs(order) do
        local v = filter and filter[k]
        if type(v) == "table" then
            local items = {}
            for i, x in ipairs(v) do items[i] = tostring(x) end
            v = table.concat(items, ",")
        end
        if v ~= nil then parts[#parts + 1] = string.format("%s '%s'", k, tostring(v)) end
    end
    if #parts == 0 then return "the selection" end
    return table.concat(parts, ", ")
end

local function shorten(s, n)
    if #s <= n then return s end
    return s:sub(1, n - 3) .. "..."
end

-- Up to `max` records close to the name: first those whose name starts with
-- the name's first 15 bytes, then names within a small edit distance, then
-- processes whose command line holds it. Each entry is {rec =, from =}, from
-- being the executable or command line that explains the suggestion (or nil).
-- `skip(rec)` leaves records out (memwatch's own process, say).
function M.closest(name, recs, max, skip)
    max = max or 3
    local out, seen = {}, {}
    if type(name) ~= "string" or name == "" then return out end
    local lower = name:lower()
    local limit = math.max(1, math.min(3, #name // 4))
    local function add(rec, from, rank)
        if not seen[rec.pid] then
            seen[rec.pid] = true
            out[#out + 1] = { rec = rec, from = from, rank = rank }
        end
    end
    local head = name:sub(1, COMM_MAX)
    for _, rec in ipairs(recs) do
        if not (skip and skip(rec)) then
            local rname = rec.name or ""
            local comm = rec.comm or rname
            if #name > COMM_MAX and (comm == head or rname:sub(1, COMM_MAX) == head) then
                add(rec, rec.path or rec.cmdline, 0)
            else
                local d = M.distance(lower, rname:lower(), limit)
                if d <= limit then add(rec, nil, d) end
            end
        end
    end
    for _, rec in ipairs(recs) do
        if not (skip and skip(rec)) and not seen[rec.pid] then
            local cmd = rec.cmdline
            if cmd and cmd:find(name, 1, true) then add(rec, shorten(cmd, 60), limit + 1) end
        end
    end
    table.sort(out, function(a, b)
        if a.rank ~= b.rank then return a.rank < b.rank end
        return a.rec.pid < b.rec.pid
    end)
    while #out > max do out[#out] = nil end
    return out
end

--- no_match(filter, recs, when, doing [, skip]) -> "no process matches name
-- 'x' yet; watching (closest: ...)": when is "yet" (watching starts) or
-- "any more" (the last matching process went away); doing what goes on
-- ("watching", "serving", "recording"); skip(rec) leaves a process out of
-- what comes close (memwatch's own).
function M.no_match(filter, recs, when, doing, skip)
    local close = type(filter.name) == "string" and M.closest_text(filter.name, recs, nil, skip)
    return string.format("no process matches %s %s; %s%s", M.describe(filter), when, doing,
        close and (" (" .. close .. ")") or "")
end

--- empty_watch(say, doing, skip) -> check(i, filter, count, all): for a
-- command that scans a selection again and again (serve, record), says once
-- when selection i matches nothing as it starts and again each time its last
-- process goes away; all() gives every process, for what comes close. An
-- empty filter (every process) is not concerned.
function M.empty_watch(say, doing, skip)
    local matched = {}
    return function(i, filter, count, all)
        local before = matched[i]
        matched[i] = count > 0
        if count > 0 or before == false or next(filter) == nil then return end
        say(M.no_match(filter, all(), before == nil and "yet" or "any more", doing, skip))
    end
end

-- "closest: my-leaky-servic[4242], from /opt/app/my-leaky-service-long; ..."
-- or nil when nothing comes close. `printable` makes names safe for a terminal.
function M.closest_text(name, recs, printable, skip)
    printable = printable or function(s) return s end
    local list = M.closest(name, recs, 3, skip)
    if #list == 0 then return nil end
    local items = {}
    for i, c in ipairs(list) do
        local s = string.format("%s[%d]", printable(c.rec.name or "?"), c.rec.pid)
        if c.from then s = s .. ", from " .. printable(c.from) end
        items[i] = s
    end
    return "closest: " .. table.concat(items, "; ")
end

return M
