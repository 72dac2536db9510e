-- memwatch.watch.state: the rules' firing state kept in a file across
-- restarts (`--state FILE`, memwatch.run{state = FILE}, an engine's
-- `state` option), so a service that restarts neither fires again what was
-- already firing nor forgets what ended while it was down.
--
-- The file is JSON, rewritten whole (a temporary file renamed over it, so a
-- crash leaves the old one or the new one, never half of either) whenever a
-- group fires or resolves:
--   {"memwatch_state": 1, "firing": [{"rule": "big", "id": "tree:42@1234.50",
--     "key": "firefox[42]", "since": 1764064800.5, "value": 4294967296}, ...]}
-- `id` is the group's identity across ticks (memwatch.group: pids with their
-- start times, so a reused pid is another group); an id that is not valid
-- UTF-8 is kept as hex in `id_hex`. `since` is the wall-clock time the
-- condition began, `value` the last value reported.
--
-- On start the recorded groups are put back as firing, with their original
-- `since`, before each rule's first evaluation; the rule's usual state
-- machine then decides: still over (or within `clear`) -> it goes on firing,
-- and on_alert is not called again; under -> on_resolve; gone -> on_resolve
-- with `gone`. Events of that first evaluation carry `while_down = true`
-- (they ended while memwatch was not watching). The engine calls restore()
-- and changed(); memwatch.watch.run opens the file.
local json = require "memwatch.json"
local log = require "memwatch.log"
local core = require "memwatch.core"

local M = {}

M.VERSION = 1

local State = {}
State.__index = State

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(s)
    if #s % 2 ~= 0 or s:find("[^%x]") then return nil end
    return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

local function warn(line)
    log.write(io.stderr, log.WARNING, "memwatch: " .. line)
end

-- The entries of a decoded file, or nil and what is wrong with it.
local function entries_of(doc)
    if type(doc) ~= "table" or doc.memwatch_state == nil then return nil, "no \"memwatch_state\" field" end
    if doc.memwatch_state ~= M.VERSION then
        return nil, string.format("version %s, this memwatch reads version %d", tostring(doc.memwatch_state),
            M.VERSION)
    end
    if type(doc.firing) ~= "table" then return nil, "no \"firing\" list" end
    local out = {}
    for i, f in ipairs(doc.firing) do
        local id = type(f) == "table" and f.id
        if type(f) == "table" and f.id == nil and type(f.id_hex) == "string" then id = unhex(f.id_hex) end
        if type(f) ~= "table" or type(f.rule) ~= "string" or type(id) ~= "string" or type(f.key) ~= "string" or
            type(f.since) ~= "number" or (f.value ~= nil and type(f.value) ~= "number") then
            return nil, string.format("entry %d is not {rule, id, key, since, value}", i)
        end
        out[#out + 1] = { rule = f.rule, id = id, key = f.key, since = f.since, value = f.value }
    end
    return out
end

--- read(path) -> entries | nil, why (nil, nil: no file yet)
function M.read(path)
    local f, err, errno = io.open(path, "r")
    if not f then
        if errno == 2 then return nil, nil end -- ENOENT: a first start
        return nil, "it cannot be read: " .. tostring(err):gsub("^.-: ", "")
    end
    local text, rerr = f:read("a")
    f:close()
    if not text then return nil, "it cannot be read: " .. tostring(rerr) end
    local doc, derr = json.decode(text)
    if doc == nil then return nil, "it is not JSON: " .. tostring(derr) end
    local list, why = entries_of(doc)
    if not list then return nil, "it is not a memwatch state file: " .. why end
    return list
end

--- encode(entries) -> the file's text (entries sorted, so an unchanged
-- state gives the same text)
function M.encode(list)
    table.sort(list, function(a, b)
        if a.rule ~= b.rule then return a.rule < b.rule end
        return a.id < b.id
    end)
    local firing = {}
    for i, x in ipairs(list) do
        local f = { rule = x.rule, key = x.key, since = x.since, value = x.value }
        if utf8.len(x.id) then f.id = x.id else f.id_hex = hex(x.id) end
        firing[i] = f
    end
    -- An empty list must stay a JSON array.
    local body = #firing > 0 and json.encode(firing, true) or "[]"
    return string.format('{"memwatch_state": %d, "firing": %s}\n', M.VERSION, body)
end

--- write(path, text) -> true | nil, message: a temporary file beside it,
-- renamed over it.
function M.write(path, text)
    local tmp = string.format("%s.tmp.%d", path, core.getpid())
    local f, err = io.open(tmp, "w")
    if not f then return nil, err end
    local ok, werr = f:write(text)
    if ok then ok, werr = f:flush() end
    f:close()
    if ok then ok, werr = os.rename(tmp, path) end
    if not ok then
        os.remove(tmp)
        return nil, werr
    end
    return true
end

--- open(path) -> state. Reads what the last run left; a file that cannot
-- be read or understood is said on stderr (naming it, and where it was
-- moved), and watching starts with nothing firing. Raises when the file
-- cannot be written: a service that would forget its state is refused at
-- start, not found out after a restart.
function M.open(path)
    if type(path) ~= "string" or path == "" then
        error(string.format("state: expected a file name, got %s", type(path) == "string" and "''" or type(path)), 0)
    end
    local list, why = M.read(path)
    if not list then
        list = {}
        if why then
            local kept = path .. ".corrupt"
            local moved = os.rename(path, kept)
            warn(string.format("state file %s: %s; starting with nothing firing%s", path, why,
                moved and string.format(" (the file is kept as %s)", kept) or ""))
        end
    end
    local s = setmetatable({ path = path, pending = {}, checked = false }, State)
    for _, x in ipairs(list) do
        s.pending[x.rule] = s.pending[x.rule] or {}
        s.pending[x.rule][x.id] = x
    end
    s.text = M.encode(list)
    local ok, err = M.write(path, s.text)
    if not ok then
        error(string.format("state file %s: cannot write it (%s)", path, tostring(err):gsub("^.-: ", "")), 0)
    end
    return s
end

-- What the file should hold now: every rule's firing groups, and the
-- recorded ones of rules that have not been evaluated yet.
function State:entries(e)
    local list = {}
    for _, r in ipairs(e.rules) do
        for id, st in pairs(r.states) do
            if st.firing then
                list[#list + 1] = { rule = r.name, id = id, key = st.key, since = st.since_wall or 0,
                    value = st.value }
            end
        end
    end
    for _, ids in pairs(self.pending) do
        for _, x in pairs(ids) do list[#list + 1] = x end
    end
    return list
end

--- state:changed(engine): rewrites the file if what fires changed. A
-- failing write is reported (rate limited) and tried again on the next
-- change.
function State:changed(e)
    local text = M.encode(self:entries(e))
    if text == self.text then return end
    local ok, err = M.write(self.path, text)
    if ok then
        self.text = text
    else
        e:report("state\0" .. self.path, string.format("state file %s: cannot write it (%s); trying again at " ..
            "the next change", self.path, tostring(err):gsub("^.-: ", "")))
    end
end

--- state:restore(engine, rule, now): before the rule's first evaluation,
-- puts its recorded groups back as firing.
function State:restore(e, rule, now)
    if not self.checked then
        self.checked = true
        local names = {}
        for name in pairs(self.pending) do
            if not e.by_name[name] then names[#names + 1] = name end
        end
        table.sort(names)
        for _, name in ipairs(names) do
            local n = 0
            for _ in pairs(self.pending[name]) do n = n + 1 end
            self.pending[name] = nil
            warn(string.format("state file %s: rule '%s' is not defined any more: %d firing %s forgotten " ..
                "(no RESOLVED)", self.path, name, n, n == 1 and "group" or "groups"))
        end
    end
    local recorded = self.pending[rule.name]
    if not recorded then return end
    self.pending[rule.name] = nil
    local wall_now = e.clock.time and e.clock.time() or os.time()
    for id, x in pairs(recorded) do
        if not rule.states[id] then
            rule.states[id] = { id = id, key = x.key, first = now, hits = 0, firing = true,
                pending = now - math.max(0, wall_now - x.since), since_wall = x.since, last_alert = now,
                repeated = 0, value = x.value, processes = {}, restored_at = now }
            -- From here on, a vanishing group can be told OOM-killed again.
            e:oom_mark(rule.states[id])
        end
    end
end

return M
