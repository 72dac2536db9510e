-- memwatch.watch.reload: engine:reload(), what SIGHUP does to a running
-- script: it runs again, and rules whose definition did not change keep
-- their state. Adds the method to memwatch.watch.engine's Engine.
local engine = require "memwatch.watch.engine"
local log = require "memwatch.log"

local M = {}
local Engine = engine.Engine

-- The sentinel that ends a script being re-run for a reload at its
-- memwatch.run() call.
M.DONE = setmetatable({}, { __tostring = function() return "memwatch: reload finished" end })

--- engine:reload([path]) -> true | nil, message
-- Re-runs the script; rules whose definition did not change keep their state.
function Engine:reload(path)
    path = path or self.script or (type(_G.arg) == "table" and _G.arg[0]) or nil
    if type(path) ~= "string" or path == "" or path == "-" then
        local msg = "SIGHUP: no script file to reload (memwatch was not started with one)"
        self:report("reload", msg)
        return nil, msg
    end
    local chunk, err = loadfile(path, "t")
    if not chunk then
        local msg = string.format("reload failed, keeping the current rules: %s", err)
        self.report_fn("memwatch: " .. msg, log.ERR)
        return nil, msg
    end
    -- While the script runs again, memwatch.watch{} registers into a new
    -- rule set of this engine and memwatch.run() ends the script.
    self.collecting = { rules = {}, by_name = {}, count = 0 }
    local saved = engine.set_default(self)
    local args = type(_G.arg) == "table" and _G.arg or {}
    local ok, e = pcall(chunk, table.unpack(args, 1, #args))
    engine.set_default(saved)
    local new = self.collecting
    self.collecting = nil
    if not ok and e ~= M.DONE then
        local msg = string.format("reload failed, keeping the current rules: %s", tostring(e))
        self.report_fn("memwatch: " .. msg, log.ERR)
        return nil, msg
    end
    local kept, fresh = 0, 0
    for _, r in ipairs(new.rules) do
        local old = self.by_name[r.name]
        if old and old.signature == r.signature then
            r.states = old.states
            r.base, r.k, r.next_at = old.base, old.k, old.next_at
            kept = kept + 1
        else
            fresh = fresh + 1
        end
    end
    local removed = 0
    for name in pairs(self.by_name) do
        if not new.by_name[name] then removed = removed + 1 end
    end
    self.rules, self.by_name, self.count = new.rules, new.by_name, new.count
    self.report_fn(string.format("memwatch: reloaded %s: %d %s kept, %d new or changed, %d removed", path,
        kept, kept == 1 and "rule" or "rules", fresh, removed), log.INFO)
    return true
end

return M
