-- memwatch.group: all processes of a scan put together by name, tree, app or
-- user, for views (memwatch top, memwatch serve). The grouping itself is the
-- watch rules' (memwatch.watch.group); this adds the sums a view shows.
-- Sums are honest: footprint (and pss only when every member has it) add up;
-- resident is summed too but counts shared pages once per member.
local core = require "memwatch.core"
local wgroup = require "memwatch.watch.group"

local M = {}

M.MODES = { "none", "name", "tree", "app", "user" }

local function app_key(rec)
    return core.app_key(rec.pid)
end

-- group(records, how) -> array of {key, label, procs, count, footprint, resident, swap, pss}
-- how: "none", "name", "tree", "app", "user" or a function of a record.
function M.group(recs, how)
    how = how or "none"
    local rule = { group = how }
    if type(how) == "function" then
        rule.group, rule.group_fn = "function", how
    elseif not (how == "none" or how == "name" or how == "tree" or how == "app" or how == "user") then
        error(string.format("unknown grouping '%s' (expected none, name, tree, app, user or a function)",
            tostring(how)), 2)
    end
    local selected = recs
    if how == "tree" or how == "app" then
        -- For a whole-system view, init and the kernel's thread parent are
        -- not the root of one big tree: their children are.
        selected = {}
        for _, r in ipairs(recs) do
            if r.pid > 2 then selected[#selected + 1] = r end
        end
    end
    local call = function(fn, r) return pcall(fn, r) end
    local out = {}
    for _, g in ipairs(wgroup.build(rule, selected, wgroup.context(recs, app_key), call)) do
        local row = { key = g.id, label = g.key, procs = g.processes, count = #g.processes }
        local pss, pss_ok = 0, true
        for _, r in ipairs(g.processes) do
            for _, f in ipairs { "footprint", "resident", "swap" } do
                local v = rawget(r, f)
                if v then row[f] = (row[f] or 0) + v end
            end
            local v = rawget(r, "pss")
            if v then pss = pss + v else pss_ok = false end
        end
        row.pss = pss_ok and pss or nil
        out[#out + 1] = row
    end
    return out
end

return M
