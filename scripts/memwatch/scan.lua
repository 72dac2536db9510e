-- memwatch.scan: reading process records, the part of the public API
-- below everything else: the filter, lazily read fields and the record
-- metatable. memwatch (the facade) gives these as memwatch.processes,
-- memwatch.process, memwatch.self and memwatch.ledger; the watch engine's
-- default sampler is processes().
local core = require "memwatch.core"
local select_ = require "memwatch.select"
local text = require "memwatch.text"

local M = {}

local sources = core.sources
local fields = core.fields
-- What every scan reads: /proc/PID/status (one small file, every memory
-- counter). Everything else (start time, CPU time, smaps_rollup, io, command
-- line, path) is read when asked for or on first access.
local BASIC = sources.status

-- Which source each lazily read key needs.
local lazy_source = { cmdline = sources.cmdline, path = sources.path }
for name, info in pairs(fields) do
    if info.sources & BASIC == 0 then lazy_source[name] = info.sources end
end

-- What each record has been read from (or tried) is kept in the record
-- (core.record_attempted), so a nil field the system refused is not read
-- again; a scan's record starts with what the scan read.
local peek = core.peek

-- Where a process runs, from its cgroup path (core.cgroup_ids): read once
-- per record, on first access to one of these keys.
local CGROUP_KEYS = { unit = "unit", container = "container", pod = "pod", container_runtime = "runtime" }
local CGROUP_DONE = 1 << 30 -- a bit of what was tried that no source uses

local function read_cgroup(rec, key)
    if core.record_attempted(rec) & CGROUP_DONE ~= 0 then return nil end
    core.record_attempt(rec, CGROUP_DONE)
    local pid = peek(rec, "pid")
    local ids = pid and core.cgroup_ids(pid)
    if not ids then return nil end
    for k, from in pairs(CGROUP_KEYS) do
        if peek(rec, k) == nil then rec[k] = ids[from] end
    end
    return peek(rec, key)
end

-- Reading p.pss, p.uss, p.cmdline, ... on a record that does not have them
-- yet reads that source now, if the process is still the same one.
core.set_record_fallback(function(rec, key)
    if CGROUP_KEYS[key] then return read_cgroup(rec, key) end
    if key == "app_bundle" then
        -- macOS: the Name.app the executable is in (memwatch.select).
        if core.platform ~= "darwin" then return nil end
        return select_.app_bundle(rec.path)
    end
    local src = lazy_source[key]
    if not src then return nil end
    if core.record_attempted(rec) & src ~= 0 then return nil end
    core.record_attempt(rec, src)
    local pid = peek(rec, "pid")
    if not pid then return nil end
    -- A different start time means the pid now belongs to another process.
    -- (A record read without its start time cannot tell; it takes this one.)
    local started = peek(rec, "start_time")
    local fresh = core.read(pid, started and (src | sources.ident) or src)
    if not fresh or (started and peek(fresh, "start_time") ~= started) then return nil end
    core.record_merge(rec, fresh)
    return peek(rec, key)
end)

local record_mt = core.record_metatable()
record_mt.__tostring = function(rec)
    local fp = peek(rec, "footprint")
    -- print(p) goes to a terminal: the name is made printable (memwatch.text).
    return string.format("process %d (%s) footprint %s", peek(rec, "pid") or -1,
        text.printable(peek(rec, "name") or "?"), fp and core.bytes(fp) or "-")
end

-- Turn a list of field names (or "all") into source bits.
local function want_for(list, where)
    if list == nil then return BASIC end
    if list == "all" then
        return BASIC | sources.ident | sources.stat | sources.smaps | sources.io | sources.cmdline | sources.path
    end
    if type(list) ~= "table" then
        error(string.format("%s: fields must be a list of field names or \"all\", got %s", where, type(list)), 3)
    end
    local want = BASIC
    for _, name in ipairs(list) do
        local src = lazy_source[name] or (fields[name] and 0)
        if not src and name ~= "name" and name ~= "user" and name ~= "state" then
            error(string.format("%s: unknown field '%s'", where, tostring(name)), 3)
        end
        want = want | (src or 0)
    end
    return want
end

--- memwatch.processes([filter [, fields]]) -> array of process records
-- One scan of the system. filter: see memwatch.select (a pidfile that is
-- missing or holds no pid selects nothing; memwatch.select.refresh says why). fields: a list of the
-- extra fields to read now (pss, uss, cmdline, ...) or "all"; anything else is
-- read on first access.
function M.processes(filter, fieldlist)
    local c = select_.refresh(select_.compile(filter, "memwatch.processes", 2))
    local want = want_for(fieldlist, "memwatch.processes") | c.want
    local pids = c.pids
    if c.pidfile then
        -- Only the pid the file names (and none when it names none).
        pids = {}
        if c.pidfile_pid and (not c.pid_set or c.pid_set[c.pidfile_pid]) then pids[1] = c.pidfile_pid end
    end
    local recs = core.scan(want, pids, c.uid, c.scan_name)
    if select_.post(c) then
        local kept = {}
        for _, r in ipairs(recs) do
            if select_.matches(c, r, true) then kept[#kept + 1] = r end
        end
        recs = kept
    end
    return recs
end

--- memwatch.process(pid [, fields]) -> record | nil, message, errno
function M.process(pid, fieldlist)
    if math.type(pid) ~= "integer" then
        error(string.format("bad argument #1 to 'process' (integer expected, got %s)",
            math.type(pid) or type(pid)), 2)
    end
    local want = want_for(fieldlist, "memwatch.process")
    local rec, msg, errno = core.read(pid, want)
    if not rec then return nil, msg, errno end
    return rec
end

--- memwatch.self() -> the record of this process, plus lua_bytes
function M.self(fieldlist)
    local rec = assert(M.process(core.getpid(), fieldlist))
    rec.lua_bytes = math.floor(collectgarbage("count") * 1024)
    return rec
end

--- memwatch.ledger(pid) -> {{group=, name=, balance=, credit=, debit=, unit=}, ...}, refused | nil, msg, errno
-- refused: {{group=, source=}, ...}, what the system would not let us read
-- (another user's process): those rows are missing.
function M.ledger(pid)
    if math.type(pid) ~= "integer" then
        error(string.format("bad argument #1 to 'ledger' (integer expected, got %s)",
            math.type(pid) or type(pid)), 2)
    end
    return core.ledger(pid)
end

return M
