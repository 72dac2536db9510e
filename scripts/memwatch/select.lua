-- memwatch.select: the process filter shared by memwatch.processes and the
-- watch rules' `select`. A filter is a table; every given key must hold.
--   name  = "sshd"            exact process name
--   match = "^python.*serve"  Lua pattern tried on the name, then the command line
--   user  = "www-data" | 33   user name or uid
--   pid   = 1234 | {1, 2}     one pid or a list
local core = require "memwatch.core"

local M = {}

local KEYS = { name = true, match = true, user = true, pid = true }
local KEY_LIST = "name, match, user, pid"

-- Checks a Lua pattern's syntax the way lstrlib.c reads it. Running the
-- pattern on a sample string is not enough: matching stops at the first item
-- that fails, so "a%" matches nothing and never reaches its bad tail.
local function pattern_error(p)
    local i, n, depth = 1, #p, 0
    if p:sub(1, 1) == "^" then i = 2 end
    while i <= n do
        local c = p:sub(i, i)
        if c == "%" then
            local d = p:sub(i + 1, i + 1)
            if d == "" then return "malformed pattern (ends with '%')" end
            if d == "b" then
                if i + 3 > n then return "malformed pattern (missing arguments to '%b')" end
                i = i + 4
            elseif d == "f" then
                if p:sub(i + 2, i + 2) ~= "[" then return "missing '[' after '%f' in pattern" end
                i = i + 2
            else
                i = i + 2
            end
        elseif c == "[" then
            local j = i + 1
            if p:sub(j, j) == "^" then j = j + 1 end
            -- The first character of a set is taken as is (so "[]]" works).
            repeat
                if j > n then return "malformed pattern (missing ']')" end
                local cj = p:sub(j, j)
                j = j + 1
                if cj == "%" then
                    if j > n then return "malformed pattern (missing ']')" end
                    j = j + 1
                end
            until p:sub(j, j) == "]"
            i = j + 1
        elseif c == "(" then
            depth = depth + 1
            i = i + 1
        elseif c == ")" then
            depth = depth - 1
            if depth < 0 then return "invalid pattern capture" end
            i = i + 1
        else
            i = i + 1
        end
    end
    if depth > 0 then return "unfinished capture" end
    return nil
end

local function fail(where, level, fmt, ...)
    error(string.format("%s: " .. fmt, where, ...), level + 1)
end

-- Checks a filter and turns it into what core.scan takes. Raises on misuse;
-- `where` names the caller in messages, `level` is the error level to blame.
function M.compile(filter, where, level)
    where = where or "filter"
    level = (level or 1) + 1
    local c = { want = 0 }
    if filter == nil then return c end
    if type(filter) ~= "table" then
        fail(where, level, "filter must be a table, got %s", type(filter))
    end
    for k in pairs(filter) do
        if not KEYS[k] then
            fail(where, level, "unknown filter key '%s' (expected %s)", tostring(k), KEY_LIST)
        end
    end
    if filter.name ~= nil then
        if type(filter.name) ~= "string" then
            fail(where, level, "filter 'name' must be a string, got %s", type(filter.name))
        end
        c.name = filter.name
    end
    if filter.match ~= nil then
        if type(filter.match) ~= "string" then
            fail(where, level, "filter 'match' must be a string (a Lua pattern), got %s", type(filter.match))
        end
        local ok, err = pcall(string.find, "", filter.match)
        err = not ok and (tostring(err):gsub("^.-:%d+: ", "")) or pattern_error(filter.match)
        if err then fail(where, level, "filter 'match' is not a valid Lua pattern: %s", err) end
        c.match = filter.match
        c.want = c.want | core.sources.cmdline
    end
    local user = filter.user
    if user ~= nil then
        if math.type(user) == "integer" then
            if user < 0 then fail(where, level, "filter 'user' must be a user name or a uid >= 0") end
            c.uid = user
        elseif type(user) == "string" then
            local uid = tonumber(user)
            if uid and math.type(uid) == "integer" and uid >= 0 then
                c.uid = uid
            else
                uid = core.user_uid(user)
                if not uid then fail(where, level, "no such user '%s'", user) end
                c.uid = uid
            end
        else
            fail(where, level, "filter 'user' must be a user name or a uid, got %s", type(user))
        end
    end
    local pid = filter.pid
    if pid ~= nil then
        if math.type(pid) == "integer" then
            c.pids = { pid }
        elseif type(pid) == "table" then
            c.pids = {}
            for i, p in ipairs(pid) do
                if math.type(p) ~= "integer" then
                    fail(where, level, "filter 'pid' entry %d must be an integer, got %s", i, type(p))
                end
                c.pids[i] = p
            end
        else
            fail(where, level, "filter 'pid' must be an integer or a list of integers, got %s", type(pid))
        end
    end
    return c
end

-- Does a record satisfy the parts of a compiled filter that the scan itself
-- could not check (the pattern)?
function M.matches(c, rec)
    if c.match then
        local name = rec.name or ""
        if not name:find(c.match) and not (rec.cmdline and rec.cmdline:find(c.match)) then
            return false
        end
    end
    return true
end

return M
