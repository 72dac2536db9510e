-- memwatch.group: putting process records together. Used by `memwatch top`
-- and by the watch rules' `group`. Sums are honest: footprint (and pss when
-- present on every member) are added up; resident is summed too but marked
-- as over-counted, since shared pages appear in every member.
local core = require "memwatch.core"

local M = {}

M.MODES = { "none", "name", "tree", "app", "user" }

local function index_by_pid(recs)
    local by = {}
    for _, r in ipairs(recs) do by[r.pid] = r end
    return by
end

-- The ancestor right below pid 1 (or the kernel's pid 2), the root of the
-- process's tree as a user sees it (a login shell, a service, a terminal).
local function tree_root(r, by)
    local seen = 0
    while true do
        local parent = r.ppid and by[r.ppid]
        if not parent or parent.pid <= 2 or seen > 4096 then return r end
        r = parent
        seen = seen + 1
    end
end

-- The top-most ancestor reached through parents with the same name: one
-- running instance of a multi-process program (chrome and its chrome children).
local function same_name_root(r, by)
    local seen = 0
    while true do
        local parent = r.ppid and by[r.ppid]
        if not parent or parent.name ~= r.name or parent.pid <= 1 or seen > 4096 then return r end
        r = parent
        seen = seen + 1
    end
end

-- key(record) -> group key, label. `how` is a mode name or a function of the
-- record returning a key (nil leaves the record out).
function M.keyer(how, recs)
    if type(how) == "function" then
        return function(r)
            local k = how(r)
            return k, k ~= nil and tostring(k) or nil
        end
    end
    local by
    local function index()
        by = by or index_by_pid(recs)
        return by
    end
    if how == "none" or how == nil then
        return function(r) return r.pid .. "@" .. tostring(r.start_time), r.name end
    elseif how == "name" then
        return function(r) return r.name, r.name end
    elseif how == "user" then
        return function(r)
            local u = r.user or (r.uid and tostring(r.uid)) or "?"
            return "user:" .. u, u
        end
    elseif how == "tree" then
        return function(r)
            local root = tree_root(r, index())
            return "tree:" .. root.pid .. "@" .. tostring(root.start_time),
                string.format("%s[%d]", root.name or "?", root.pid)
        end
    elseif how == "app" then
        local cache = {}
        return function(r)
            -- The system's own notion of an app first: a systemd app scope or
            -- service unit on Linux, the resource coalition on macOS.
            local key = cache[r.pid]
            if key == nil then
                key = core.app_key(r.pid) or false
                cache[r.pid] = key
            end
            if key then return "app:" .. key, key end
            local root = same_name_root(r, index())
            return "proc:" .. root.pid .. "@" .. tostring(root.start_time),
                string.format("%s[%d]", root.name or "?", root.pid)
        end
    end
    error(string.format("unknown grouping '%s' (expected none, name, tree, app, user or a function)",
        tostring(how)), 2)
end

-- group(records, how) -> array of {key, label, procs, count, footprint, resident, pss}
function M.group(recs, how)
    local key_of = M.keyer(how, recs)
    local groups, order = {}, {}
    for _, r in ipairs(recs) do
        local key, label = key_of(r)
        if key ~= nil then
            local g = groups[key]
            if not g then
                g = { key = key, label = label, procs = {}, count = 0 }
                groups[key] = g
                order[#order + 1] = g
            end
            g.count = g.count + 1
            g.procs[g.count] = r
            for _, f in ipairs { "footprint", "resident", "swap" } do
                local v = rawget(r, f)
                if v then g[f] = (g[f] or 0) + v end
            end
        end
    end
    -- pss only when every member has it: a partial sum would understate.
    for _, g in ipairs(order) do
        local sum = 0
        for _, r in ipairs(g.procs) do
            local v = rawget(r, "pss")
            if not v then sum = nil break end
            sum = sum + v
        end
        g.pss = sum
    end
    return order
end

return M
