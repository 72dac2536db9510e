-- memwatch.group: the one grouping of processes, by name, tree, app, user
-- or a function, for the watch rules, the views (memwatch top, watch, serve)
-- and charts of a recording (memwatch plot).
--
-- build() turns one scan into groups {id =, key =, processes = {...}}: `id`
-- identifies a group across ticks (it holds start times, so a reused pid
-- never inherits another process's state), `key` is what people read.
-- group() adds the sums a view shows. Sums are honest: footprint (and pss
-- only when every member has it) add up; resident is summed too but counts
-- shared pages once per member.
local core = require "memwatch.core"

local M = {}

M.MODES = { "none", "name", "tree", "app", "user" }

local function ident(rec)
    return string.format("%s@%.2f", rec.pid, rec.start_time or -1)
end
M.ident = ident

-- A one-process group's key: "name[pid]".
local function process_key(rec)
    return string.format("%s[%d]", rec.name or "?", rec.pid)
end
M.process_key = process_key

-- Per-tick indexes over the scan, built on first use and shared by rules.
-- views: true for a whole-system view (memwatch top, serve, plot), where
-- init is not the root of one big tree: see is_init.
function M.context(recs, app_key, views)
    return { recs = recs, app_key = app_key, views = views or nil }
end

-- The init of memwatch's pid namespace as /proc shows it: the user process
-- whose parent is outside the namespace (ppid 0). Inside a container it is
-- the application itself, so it is a row of its own, never left out; its
-- children root the trees. Kernel threads go by their flag, not their pid.
local function is_init(rec)
    return rec.ppid == 0 and not rec.kernel_thread
end
M.is_init = is_init

local function by_pid(ctx)
    if not ctx.by_pid then
        local t, kids = {}, {}
        for _, r in ipairs(ctx.recs) do t[r.pid] = r end
        for _, r in ipairs(ctx.recs) do
            local pp = r.ppid
            if pp and pp ~= r.pid and t[pp] then
                local list = kids[pp]
                if not list then
                    list = {}
                    kids[pp] = list
                end
                list[#list + 1] = r
            end
        end
        ctx.by_pid, ctx.children = t, kids
    end
    return ctx.by_pid
end

local function parent(ctx, rec)
    local pp = rec.ppid
    if not pp or pp == rec.pid then return nil end
    return by_pid(ctx)[pp]
end

-- rec and all its descendants (pred, when given, decides which descendants
-- belong; their own descendants are then skipped too).
local function tree(ctx, root, pred)
    by_pid(ctx)
    local out, stack, seen = {}, { root }, {}
    while #stack > 0 do
        local r = table.remove(stack)
        if not seen[r] then
            seen[r] = true
            out[#out + 1] = r
            for _, c in ipairs(ctx.children[r.pid] or {}) do
                if not pred or pred(c) then stack[#stack + 1] = c end
            end
        end
    end
    return out
end

local function app_of(ctx, rec)
    ctx.apps = ctx.apps or {}
    local k = ctx.apps[rec]
    if k == nil then
        k = ctx.app_key(rec) or false
        ctx.apps[rec] = k
    end
    return k or nil
end

-- The top-most ancestor with the same name, through an unbroken chain (in
-- a view, never init: init is a row of its own).
local function same_name_top(ctx, rec)
    local top, depth = rec, 0
    while depth < 4096 do
        local p = parent(ctx, top)
        if not p or p.name ~= rec.name or (ctx.views and is_init(p)) then break end
        top, depth = p, depth + 1
    end
    return top
end

local function add(groups, order, id, key, members)
    local g = groups[id]
    if not g then
        g = { id = id, key = key, processes = {}, seen = {} }
        groups[id] = g
        order[#order + 1] = g
    end
    for _, r in ipairs(members) do
        if not g.seen[r] then
            g.seen[r] = true
            g.processes[#g.processes + 1] = r
        end
    end
end

--- build(how, selected, ctx, call) -> list of groups.
-- how: "none", "name", "tree", "app", "user" or a function of a record;
-- call(fn, rec) runs that function (under the engine's limits, for a rule)
-- and returns ok, key.
function M.build(how, selected, ctx, call)
    local groups, order = {}, {}
    local mode = how
    if mode == "none" then
        -- One group per process: no member set to keep (a rule over every
        -- process builds these every tick).
        for _, r in ipairs(selected) do
            local id = ident(r)
            if not groups[id] then
                local g = { id = id, key = process_key(r), processes = { r } }
                groups[id] = g
                order[#order + 1] = g
            end
        end
    elseif mode == "name" then
        for _, r in ipairs(selected) do
            local n = r.name or "?"
            add(groups, order, "name:" .. n, n, { r })
        end
    elseif mode == "user" then
        for _, r in ipairs(selected) do
            local key = r.user or (r.uid and tostring(r.uid)) or "?"
            add(groups, order, "user:" .. tostring(r.uid or key), key, { r })
        end
    elseif mode == "tree" then
        -- Roots: selected processes with no selected ancestor (in a view,
        -- below init: init is a row of its own, its children are roots).
        local chosen = {}
        for _, r in ipairs(selected) do chosen[r] = true end
        for _, r in ipairs(selected) do
            local alone = ctx.views and is_init(r)
            local p, covered, depth = parent(ctx, r), alone, 0
            while not covered and p and depth < 4096 and not (ctx.views and is_init(p)) do
                if chosen[p] then
                    covered = true
                    break
                end
                p, depth = parent(ctx, p), depth + 1
            end
            if alone then
                add(groups, order, "tree:" .. ident(r), process_key(r), { r })
            elseif not covered then
                add(groups, order, "tree:" .. ident(r), process_key(r), tree(ctx, r))
            end
        end
    elseif mode == "app" then
        local members_of -- app key -> every process of the scan in that app
        local fallback -- roots of same-name trees, for processes without a unit
        for _, r in ipairs(selected) do
            local k = app_of(ctx, r)
            if k then
                if not members_of then
                    members_of = {}
                    for _, x in ipairs(ctx.recs) do
                        local xk = app_of(ctx, x)
                        if xk then
                            members_of[xk] = members_of[xk] or {}
                            table.insert(members_of[xk], x)
                        end
                    end
                end
                add(groups, order, "app:" .. k, k, members_of[k] or { r })
            else
                local top = same_name_top(ctx, r)
                fallback = fallback or {}
                fallback[top] = true
            end
        end
        if fallback then
            -- Processes without a unit belong to the nearest tree root above
            -- them (or themselves) that a selected process named; each is
            -- counted in one group only.
            local members = {}
            for _, x in ipairs(ctx.recs) do
                if app_of(ctx, x) == nil then
                    local a, depth = x, 0
                    while a and not fallback[a] and depth < 4096 do
                        a, depth = parent(ctx, a), depth + 1
                    end
                    if a and fallback[a] and not (ctx.views and a ~= x and is_init(a)) then
                        members[a] = members[a] or {}
                        table.insert(members[a], x)
                    end
                end
            end
            for _, r in ipairs(selected) do
                if not app_of(ctx, r) then
                    local top = same_name_top(ctx, r)
                    add(groups, order, "tree:" .. ident(top), process_key(top), members[top] or { top })
                end
            end
        end
    else -- a function of the record
        for _, r in ipairs(selected) do
            local ok, k = call(how, r)
            if ok and k ~= nil then
                add(groups, order, "fn:" .. type(k) .. ":" .. tostring(k), tostring(k), { r })
            end
        end
    end
    for _, g in ipairs(order) do g.seen = nil end
    return order
end

-- ---- views ---------------------------------------------------------------------------

local function app_key(rec)
    return core.app_key(rec.pid)
end

-- group(records, how) -> array of {key, label, procs, count, footprint, resident, swap, pss,
-- coalition_footprint}
-- how: "none", "name", "tree", "app", "user" or a function of a record.
-- coalition_footprint: macOS, grouped by app: the kernel's footprint total of
-- the coalition (every member's, readable or not).
function M.group(recs, how)
    how = how or "none"
    if type(how) ~= "function" and
        not (how == "none" or how == "name" or how == "tree" or how == "app" or how == "user") then
        error(string.format("unknown grouping '%s' (expected none, name, tree, app, user or a function)",
            tostring(how)), 2)
    end
    local selected = recs
    if how == "tree" or how == "app" then
        -- Kernel threads (by their flag) are no one's tree or app.
        selected = {}
        for _, r in ipairs(recs) do
            if not r.kernel_thread then selected[#selected + 1] = r end
        end
    end
    local call = function(fn, r) return pcall(fn, r) end
    local out = {}
    for _, g in ipairs(M.build(how, selected, M.context(recs, app_key, true), call)) do
        local row = { key = g.id, label = g.key, procs = g.processes, count = #g.processes }
        local pss, pss_ok = 0, true
        for _, r in ipairs(g.processes) do
            for _, f in ipairs { "footprint", "resident", "swap" } do
                local v = core.peek(r, f)
                if v then row[f] = (row[f] or 0) + v end
            end
            local v = core.peek(r, "pss")
            if v then pss = pss + v else pss_ok = false end
        end
        row.pss = pss_ok and pss or nil
        out[#out + 1] = row
    end
    if how == "app" and core.platform == "darwin" then
        -- An app is a resource coalition there: beside the sum over the
        -- members read above, the kernel's own total, which also covers
        -- members this user may not read.
        for _, row in ipairs(out) do
            local totals = row.label:match("^coalition:%d+$") and core.app_totals(row.label)
            row.coalition_footprint = totals and totals.phys_footprint or nil
        end
    end
    return out
end

return M
