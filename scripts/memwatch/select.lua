-- memwatch.select: the process filter shared by memwatch.processes, the
-- watch rules' `select` and every subcommand's selection options. A filter
-- is a table; every given key must hold.
--   name      = "sshd"            the full name (Linux: a comm at its 15-byte limit
--                                 also answers to a longer name its executable or
--                                 argv[0] has; darwin: also the .app bundle's name)
--   exe       = "/usr/sbin/nginx" | "nginx"   the executable's path or basename
--   match     = "^python.*serve"  Lua pattern tried on the name, then the command
--                                 line; never matches memwatch's own process,
--                                 nor a wrapper that started it (sudo, timeout)
--   user      = "www-data" | 33   user name or uid
--   pid       = 1234 | {1, 2}     one pid or a list
--   pidfile   = "/run/nginx.pid"  a file holding a pid, read again at every scan
--   unit      = "nginx" | "nginx.service"   systemd unit or scope (cgroup path)
--   container = "3f5c2a1b"        container id or prefix (4+ hex digits), or a
--                                 Kubernetes pod UID (cgroup path)
local core = require "memwatch.core"

local M = {}

local KEYS = { name = true, exe = true, match = true, user = true, pid = true, pidfile = true, unit = true,
    container = true }
local KEY_LIST = "name, exe, match, user, pid, pidfile, unit, container"
M.KEYS = { "name", "exe", "match", "user", "pid", "pidfile", "unit", "container" }

-- The kernel's short name is at least this long when it may be cut (Linux
-- keeps 15 bytes, darwin's p_comm 16).
local COMM_LIMIT = 15

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
    local c = { want = 0, fields = {} }
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
        if core.platform == "darwin" then
            -- The bundle's name comes from the executable's path, which the
            -- C scan does not look at: the name is matched here.
            c.want = c.want | core.sources.path
            c.fields[#c.fields + 1] = "path"
        else
            c.scan_name = c.name
        end
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
        c.fields[#c.fields + 1] = "cmdline"
    end
    for _, k in ipairs { "exe", "pidfile", "unit" } do
        local v = filter[k]
        if v ~= nil then
            if type(v) ~= "string" or v == "" then
                fail(where, level, "filter '%s' must be a non-empty string, got %s", k,
                    type(v) == "string" and "''" or type(v))
            end
            c[k] = v
        end
    end
    if c.exe then
        c.want = c.want | core.sources.path
        c.fields[#c.fields + 1] = "path"
    end
    if filter.container ~= nil then
        local v = filter.container
        if type(v) ~= "string" then
            fail(where, level, "filter 'container' must be a string, got %s", type(v))
        end
        v = v:lower()
        local pod = v:match("^%x+%-%x+%-%x+%-%x+%-%x+$") and #v == 36
        if not pod and not (v:match("^%x+$") and #v >= 4) then
            fail(where, level, "filter 'container' must be a container id (at least 4 hex digits) " ..
                "or a Kubernetes pod UID, got '%s'", filter.container)
        end
        c.container = v
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
        c.pid_set = {}
        for _, p in ipairs(c.pids) do c.pid_set[p] = true end
    end
    return c
end

-- The pid a pidfile names now: an integer, or nil and why not. Read at
-- every scan: a restarted daemon writes a new pid.
function M.read_pidfile(path)
    local f, err = io.open(path, "r")
    if not f then return nil, string.format("pidfile '%s': %s", path, (tostring(err):gsub("^[^:]*: ", ""))) end
    local body = f:read(64) or ""
    f:close()
    local pid = math.tointeger(tonumber(body:match("^%s*(%d+)%s*$") or ""))
    if not pid or pid < 1 then
        local first = body:match("^[^\n]*"):gsub("[%c\128-\255]", "?"):sub(1, 20)
        return nil, string.format("pidfile '%s' holds no process id (%s)", path,
            first == "" and "it is empty" or ("it reads '" .. first .. "'"))
    end
    return pid
end

--- post(c) -> whether a core.scan given the filter's pids, uid and scan_name
-- still needs matches(c, rec, true) on what it returns.
function M.post(c)
    return (c.match or c.exe or c.pidfile or c.unit or c.container) ~= nil or c.name ~= c.scan_name
end

--- refresh(c) -> c: what a compiled filter reads anew at each scan (its
-- pidfile). c.problem then says why the filter can match nothing, or is nil.
function M.refresh(c)
    c.problem = nil
    if c.pidfile then
        local pid, why = M.read_pidfile(c.pidfile)
        c.pidfile_pid = pid or false
        c.problem = why
    end
    return c
end

--- app_bundle(path) -> the name of the outermost Name.app the executable
-- is in ("/Applications/Google Chrome.app/Contents/Frameworks/.../Google
-- Chrome Helper" -> "Google Chrome"), or nil: what Activity Monitor calls
-- the app on macOS.
function M.app_bundle(path)
    return path and path:match("^.-/([^/]+)%.app/") or nil
end

local function basename(s)
    return s and s:match("([^/]*)$")
end

local function exe_path(rec)
    local path = rec.path
    return path and (path:gsub(" %(deleted%)$", ""))
end

-- The name key: the full name; a longer name than a comm at its limit that
-- starts with it, when the executable or argv[0] has that name; on darwin,
-- the .app bundle's name.
local function name_matches(want, rec)
    if rec.name == want then return true end
    if rec.app_bundle ~= nil and rec.app_bundle == want then return true end
    local comm = rec.comm
    if not comm or #comm < COMM_LIMIT or #want <= #comm or want:sub(1, #comm) ~= comm then return false end
    if basename(exe_path(rec)) == want then return true end
    local cmd = rec.cmdline
    return cmd ~= nil and basename(cmd:match("^[^ ]*")) == want
end

local function unit_matches(want, unit)
    return unit ~= nil and (unit == want or unit == want .. ".service" or unit == want .. ".scope")
end

local function container_matches(want, rec)
    local id = rec.container
    if id and id:sub(1, #want) == want then return true end
    local pod = rec.pod
    return pod ~= nil and pod == want
end

-- The processes that started memwatch with its command line inside theirs
-- (sudo, timeout, runuser, sh -c "memwatch ..."): a pattern taken from that
-- command line is found in theirs too, so `sudo memwatch ps --match leaky`
-- would list sudo. Found once: memwatch's parent, its parent, ... as long as
-- each one's command line holds memwatch's own.
local wrappers
local function wrapper_pids()
    if wrappers then return wrappers end
    wrappers = {}
    local src = core.sources.status | core.sources.cmdline
    local me = core.read(core.getpid(), src)
    local own = me and me.cmdline
    if not own or own == "" then return wrappers end
    local pid, hops = me.ppid, 0
    while pid and pid > 0 and hops < 16 do
        local rec = core.read(pid, src)
        if not (rec and rec.cmdline and rec.cmdline:find(own, 1, true)) then break end
        wrappers[pid] = true
        pid, hops = rec.ppid, hops + 1
    end
    return wrappers
end

--- own(rec) -> whether rec is memwatch's own process or one of the wrappers
-- that started it (above): `match` never selects them, nor are they offered
-- as what comes close to a selection that matches nothing.
function M.own(rec)
    return rec.pid == core.getpid() or wrapper_pids()[rec.pid] == true
end

--- matches(c, rec [, scanned]) -> whether a record satisfies a compiled
-- filter (refresh it first when it has a pidfile). Fields not yet read are
-- read on access. scanned: the record comes from a core.scan given the
-- filter's pids, uid and scan_name, so those need no second look.
function M.matches(c, rec, scanned)
    if not scanned then
        if c.pid_set and not c.pid_set[rec.pid] then return false end
        if c.uid and rec.uid ~= c.uid then return false end
    end
    if c.name and (not scanned or not c.scan_name) and not name_matches(c.name, rec) then return false end
    if c.pidfile and rec.pid ~= c.pidfile_pid then return false end
    if c.exe then
        local path = exe_path(rec)
        if not path then return false end
        if c.exe:find("/", 1, true) then
            if path ~= c.exe then return false end
        elseif basename(path) ~= c.exe then
            return false
        end
    end
    if c.match then
        if M.own(rec) then return false end
        local name = rec.name or ""
        if not name:find(c.match) and not (rec.cmdline and rec.cmdline:find(c.match)) then
            return false
        end
    end
    if c.unit and not unit_matches(c.unit, rec.unit) then return false end
    if c.container and not container_matches(c.container, rec) then return false end
    return true
end

return M
