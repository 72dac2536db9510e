-- memwatch.watch.rules: the rules an engine holds, listed and removed
-- (memwatch.rules() and memwatch.unwatch(name)). Adds the methods to
-- memwatch.watch.engine's Engine.
local text = require "memwatch.text"
local units = require "memwatch.units"
local engine = require "memwatch.watch.engine"
local rule_ = require "memwatch.watch.rule"

local M = {}
local Engine = engine.Engine

-- How a list of rules prints (at the prompt, with print or tostring).
local List = { __name = "memwatch.rules" }

List.__tostring = function(list)
    if #list == 0 then return "no rules (memwatch.watch{...} defines one)" end
    local rows = {}
    for i, r in ipairs(list) do
        local state = r.state
        if #r.firing > 0 then state = "firing: " .. table.concat(r.firing, ", ") end
        rows[i] = { text.printable(r.name), state, text.printable(r.watches) }
    end
    local out = text.table({ { title = "RULE" }, { title = "STATE" }, { title = "WATCHES" } }, rows)
    return out .. string.format("(%d %s)", #list, #list == 1 and "rule" or "rules")
end

local function copy(t)
    if type(t) ~= "table" then return t end
    local out = {}
    for k, v in pairs(t) do out[k] = copy(v) end
    return out
end

--- engine:list() -> {{name=, select=, watches=, every=, state=, firing=, groups=}, ...}
-- state: "not started" (no tick yet), "ok", "pending" (the condition holds,
-- not yet for `sustain`) or "firing"; firing lists the keys of the groups
-- that fire; select is a copy of the rule's filter ({} for every process).
function Engine:list()
    local out = {}
    for _, r in ipairs(self.rules) do
        local firing, pending, groups = {}, 0, 0
        for _, st in pairs(r.states) do
            groups = groups + 1
            if st.firing then
                firing[#firing + 1] = text.printable(tostring(st.key))
            elseif st.pending then
                pending = pending + 1
            end
        end
        table.sort(firing)
        local state = #firing > 0 and "firing" or pending > 0 and "pending" or r.next_at and "ok" or "not started"
        out[#out + 1] = {
            name = r.name,
            select = copy(r.def.select) or {},
            watches = (rule_.describe(r, units.bytes):gsub("^.-: ", "", 1)),
            every = self:rule_every(r),
            state = state,
            firing = firing,
            groups = groups,
        }
    end
    return setmetatable(out, List)
end

--- engine:unwatch(name) -> true | nil, message. The rule stops; an alert it
-- was firing ends without a resolve (as when a reload removes a rule).
function Engine:unwatch(name)
    if type(name) ~= "string" then
        error(rule_.user_where() ..
            string.format("bad argument #1 to 'unwatch' (rule name expected, got %s)", type(name)), 0)
    end
    local target = self.collecting or self
    local r = target.by_name[name]
    if not r then
        local names = {}
        for _, x in ipairs(target.rules) do names[#names + 1] = "'" .. x.name .. "'" end
        return nil, string.format("no rule named '%s' (%s)", name,
            #names > 0 and "rules: " .. table.concat(names, ", ") or "no rules are defined")
    end
    target.by_name[name] = nil
    for i = #target.rules, 1, -1 do
        if target.rules[i] == r then table.remove(target.rules, i) end
    end
    return true
end

M.List = List
return M
