-- memwatch.record: reading and writing recordings (memwatch record, replay,
-- plot). A recording is JSON Lines through memwatch.json (jansson), in
-- segments: each run of `memwatch record` appends one header line, then one
-- line per sample.
--
--   {"every":1.0,"fields":["footprint","resident","swap"],"format":1,
--    "machine":{"hostname":..,"kernel":..,"memory_total":..,"os":..,"page_size":..,"platform":..},
--    "memwatch":"recording","select":{..},"start":1764061445.25,"start_iso":"..","version":".."}
--   {"mono":0.0,"processes":[{"footprint":..,"name":"app","pid":42,"ppid":1,
--    "start_time":..,"uid":1000,"user":"alice",..}],"t":1764061445.25}
--
-- `t` is the wall-clock time of the sample (epoch seconds), `mono` the
-- monotonic seconds since the segment's start. Names that are not valid
-- UTF-8 are kept exactly in "raw": {"name": "<hex of the bytes>"}.
--
-- Format 2 (this one): "name" is the full name (see memwatch.select), "comm"
-- the kernel's short name when it differs, "kernel_thread": true for kernel
-- threads. Format 1 is still read: its "name" was the kernel's short name,
-- so a format-1 row gets comm = name.
local core = require "memwatch.core"
local json = require "memwatch.json"

local M = {}

M.FORMAT = 2
-- The oldest format the reader still reads.
M.OLDEST_FORMAT = 1
-- What every process row holds, besides the recorded fields.
M.BASE = { "pid", "ppid", "start_time", "name", "user", "uid" }
M.DEFAULT_FIELDS = { "footprint", "resident", "swap" }
-- Strings kept byte for byte (in "raw" when they are not valid UTF-8).
local STRINGS = { name = true, comm = true, user = true, cmdline = true, app = true }
local BOOLEANS = { kernel_thread = true }
local BASE_SET = {}
for _, f in ipairs(M.BASE) do BASE_SET[f] = true end

-- ---- errors ------------------------------------------------------------------------

-- Errors about a file are tables, so a rules script or the engine passing
-- them on does not change them, and callers can tell them from script errors.
local err_mt = { __tostring = function(e) return e.message end }
local function fail(fmt, ...)
    error(setmetatable({ message = string.format(fmt, ...), recording = true }, err_mt), 0)
end
M.fail = fail

--- is_error(e) -> true for the errors raised by the reader
function M.is_error(e)
    return type(e) == "table" and getmetatable(e) == err_mt
end

-- ---- fields -------------------------------------------------------------------------

--- recordable() -> sorted list of the field names record accepts
function M.recordable()
    local out = { "app", "cmdline" }
    for name, info in pairs(core.fields) do
        if info.kind ~= "epoch" and not BASE_SET[name] and name ~= "unique_id" then out[#out + 1] = name end
    end
    table.sort(out)
    return out
end

--- check_fields(list of strings, each maybe "a,b") -> fields | nil, message
-- The default fields, then the extra ones in the order given, once each.
function M.check_fields(extra)
    local ok = {}
    for _, f in ipairs(M.recordable()) do ok[f] = true end
    local out, seen = {}, {}
    local function add(f)
        if not seen[f] then
            seen[f] = true
            out[#out + 1] = f
        end
    end
    for _, f in ipairs(M.DEFAULT_FIELDS) do add(f) end
    for _, item in ipairs(extra or {}) do
        for f in (item .. ","):gmatch("([^,]*),") do
            f = f:match("^%s*(.-)%s*$")
            if f == "" then return nil, "--fields: empty field name" end
            if not ok[f] then
                return nil, string.format("--fields: unknown field '%s' (expected %s)", f,
                    table.concat(M.recordable(), ", "))
            end
            add(f)
        end
    end
    return out
end

-- ---- the machine ------------------------------------------------------------------------

local function read_first_line(path)
    local f = io.open(path, "r")
    if not f then return nil end
    local line = f:read("l")
    f:close()
    return line
end

-- A constant command's output (no user data reaches it), first line.
local function command_line(cmd)
    local p = io.popen(cmd .. " 2>/dev/null", "r")
    if not p then return nil end
    local out = p:read("l")
    p:close()
    if out == "" then return nil end
    return out
end

local function os_release()
    local f = io.open("/etc/os-release", "r")
    if not f then return nil end
    local name
    for line in f:lines() do
        local v = line:match('^PRETTY_NAME="?(.-)"?$')
        if v then name = v end
    end
    f:close()
    return name
end

local function linux_page_size()
    local f = io.open("/proc/self/smaps", "r")
    if not f then return nil end
    local size
    for line in f:lines() do
        local kb = line:match("^KernelPageSize:%s*(%d+) kB")
        if kb then
            size = math.tointeger(tonumber(kb)) * 1024
            break
        end
    end
    f:close()
    return size
end

--- machine() -> {hostname, platform, kernel, os, memory_total, page_size}
function M.machine()
    local m = { platform = core.platform }
    if core.platform == "linux" then
        m.hostname = read_first_line("/proc/sys/kernel/hostname")
        m.kernel = read_first_line("/proc/sys/kernel/osrelease")
        m.os = os_release()
        m.page_size = linux_page_size()
    end
    m.hostname = m.hostname or command_line("uname -n")
    m.kernel = m.kernel or command_line("uname -r")
    if not m.os and core.platform == "darwin" then
        local v = command_line("sw_vers -productVersion")
        m.os = v and ("macOS " .. v)
    end
    m.page_size = m.page_size or math.tointeger(tonumber(command_line("getconf PAGESIZE") or ""))
    local sys = core.system()
    m.memory_total = sys and sys.total
    return m
end

-- ---- times ---------------------------------------------------------------------------

--- iso(epoch [, utc]) -> "2026-11-25T10:04:05+01:00" (local) or "2026-11-25T09:04:05Z"
function M.iso(t, utc)
    local secs = math.floor(t)
    if utc then return os.date("!%Y-%m-%dT%H:%M:%SZ", secs) end
    local z = os.date("%z", secs)
    if not z:match("^[+-]%d%d%d%d$") then z = "+0000" end
    return os.date("%Y-%m-%dT%H:%M:%S", secs) .. z:sub(1, 3) .. ":" .. z:sub(4, 5)
end

-- ---- writing ---------------------------------------------------------------------------

local function hex(s)
    return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(s)
    if type(s) ~= "string" or #s % 2 ~= 0 or s:find("[^%x]") then return nil end
    return (s:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end))
end

--- row(record, fields) -> the table written for one process
function M.row(rec, fields)
    local row = {}
    local raw
    local function put(k, v)
        if v == nil then return end
        if type(v) == "string" and STRINGS[k] and not utf8.len(v) then
            raw = raw or {}
            raw[k] = hex(v)
        end
        row[k] = v
    end
    for _, f in ipairs(M.BASE) do put(f, rec[f]) end
    local comm = core.peek(rec, "comm")
    if comm ~= rec.name then put("comm", comm) end
    if core.peek(rec, "kernel_thread") then row.kernel_thread = true end
    for _, f in ipairs(fields) do put(f, rec[f]) end
    row.raw = raw
    return row
end

--- encode(table) -> one line of JSON (sorted keys, no newline)
function M.encode(t)
    return json.encode(t, true)
end

--- header{every=, fields=, select=, start=} -> the header table
function M.header(opts)
    return {
        memwatch = "recording",
        format = M.FORMAT,
        version = core.version,
        start = opts.start,
        start_iso = M.iso(opts.start, true),
        every = opts.every + 0.0,
        fields = opts.fields,
        select = opts.select or {},
        machine = opts.machine or M.machine(),
    }
end

local function is_header(t)
    return type(t) == "table" and t.memwatch == "recording"
end

local function same_list(a, b)
    if type(a) ~= "table" or type(b) ~= "table" or #a ~= #b then return false end
    for i = 1, #a do
        if a[i] ~= b[i] then return false end
    end
    return true
end

-- The last header of an existing file, its line number, and whether the
-- file ends in the middle of a line.
local function last_header(path, f)
    local last, last_no, n, first = nil, nil, 0, true
    for line in f:lines("L") do
        n = n + 1
        local body = line:gsub("\n$", "")
        -- Headers start with their first sorted key; samples with "mono".
        if first or body:sub(1, 9) == '{"every":' then
            local t = json.decode(body)
            if first and not is_header(t) then
                fail("%s:1: not a memwatch recording (the first line is not a recording header)", path)
            end
            if is_header(t) then last, last_no = t, n end
            first = false
        end
        if line:sub(-1) ~= "\n" then return last, last_no, true end
    end
    return last, last_no, false
end

--- open(path, header) -> writer | nil, message
-- A new or empty file gets the header; an existing recording must come
-- from the same host, in the same format, with the same fields, and gets a
-- new segment (this header, then the samples).
function M.open(path, header)
    local f = io.open(path, "rb")
    local cut = false
    if f then
        local ok, last, last_no, c = pcall(last_header, path, f)
        f:close()
        if not ok then
            if M.is_error(last) then return nil, last.message end
            error(last, 0)
        end
        cut = c
        if last then
            if last.format ~= M.FORMAT then
                return nil, string.format("%s:%d: recording format %s, this memwatch writes format %d: record " ..
                    "into another file", path, last_no, tostring(last.format), M.FORMAT)
            end
            local host = type(last.machine) == "table" and last.machine.hostname
            if host ~= header.machine.hostname then
                return nil, string.format("%s:%d: recorded on host '%s', this is '%s': record into another file",
                    path, last_no, tostring(host), tostring(header.machine.hostname))
            end
            if not same_list(last.fields, header.fields) then
                return nil, string.format("%s:%d: records the fields %s, this run asks for %s: give the same " ..
                    "--fields or record into another file", path, last_no,
                    type(last.fields) == "table" and table.concat(last.fields, ",") or "?",
                    table.concat(header.fields, ","))
            end
        end
    end
    local out, err = io.open(path, "ab")
    if not out then return nil, "cannot open " .. tostring(err) end
    local w = { path = path, file = out, samples = 0 }
    -- A recorder killed while writing leaves half a line: end it, so the
    -- new segment starts on a line of its own (readers skip that line).
    local ok, werr = out:write((cut and "\n" or "") .. M.encode(header) .. "\n")
    if ok then ok, werr = out:flush() end
    if not ok then
        out:close()
        return nil, string.format("cannot write %s: %s", path, tostring(werr))
    end
    w.cut = cut
    function w.sample(_, t, mono, rows)
        local line = M.encode({ t = t, mono = mono + 0.0, processes = rows })
        local wok, e = out:write(line, "\n")
        if wok then wok, e = out:flush() end
        if not wok then return nil, string.format("cannot write %s: %s", path, tostring(e)) end
        w.samples = w.samples + 1
        return true
    end
    function w.close() return out:close() end
    return w
end

-- ---- reading ------------------------------------------------------------------------------

local function check_header(path, n, t)
    if math.type(t.format) ~= "integer" or t.format < M.OLDEST_FORMAT or t.format > M.FORMAT then
        if math.type(t.format) == "integer" and t.format > M.FORMAT then
            fail("%s:%d: recording format %d is newer than this memwatch reads (%d)", path, n, t.format, M.FORMAT)
        end
        fail("%s:%d: recording header without a valid 'format' (expected %d)", path, n, M.FORMAT)
    end
    if type(t.start) ~= "number" then fail("%s:%d: recording header without a 'start' time", path, n) end
    if type(t.fields) ~= "table" then fail("%s:%d: recording header without a 'fields' list", path, n) end
    for i, f in ipairs(t.fields) do
        if type(f) ~= "string" then fail("%s:%d: header 'fields' entry %d is not a string", path, n, i) end
    end
    if t.every ~= nil and type(t.every) ~= "number" then
        fail("%s:%d: header 'every' must be a number of seconds", path, n)
    end
end

local function decode_row(path, n, i, p, format)
    if type(p) ~= "table" then fail("%s:%d: process %d is not an object", path, n, i) end
    if math.type(p.pid) ~= "integer" then fail("%s:%d: process %d has no integer 'pid'", path, n, i) end
    for k, v in pairs(p) do
        if STRINGS[k] and type(v) ~= "string" then
            fail("%s:%d: process %d: '%s' must be a string", path, n, i, k)
        elseif BOOLEANS[k] and type(v) ~= "boolean" then
            fail("%s:%d: process %d: '%s' must be true or false", path, n, i, k)
        elseif k ~= "raw" and not STRINGS[k] and not BOOLEANS[k] and type(v) ~= "number" then
            fail("%s:%d: process %d: '%s' must be a number", path, n, i, tostring(k))
        end
    end
    local raw = p.raw
    if raw ~= nil then
        if type(raw) ~= "table" then fail("%s:%d: process %d: 'raw' must be an object", path, n, i) end
        for k, v in pairs(raw) do
            local bytes = STRINGS[k] and unhex(v)
            if not bytes then fail("%s:%d: process %d: 'raw.%s' is not the hex of a name", path, n, i, tostring(k)) end
            p[k] = bytes
        end
        p.raw = nil
    end
    -- Format 1's name was the kernel's short name; from 2 on, comm is
    -- written only when it differs from the full name.
    if p.comm == nil and (format < 2 or p.name ~= nil) then p.comm = p.name end
    return p
end

local Reader = {}
Reader.__index = Reader

--- reader(path [, warn]) -> reader | nil, message
-- reader:next() -> sample {t, mono, now, processes, segment, line} | nil at
-- the end. `now` runs on across segments (a segment's start plus mono), so
-- rules see one timeline. Raises M.fail errors naming FILE:LINE.
-- warn(message) hears about lines skipped because a recorder was killed
-- while writing them.
function M.reader(path, warn)
    local f, err = io.open(path, "rb")
    if not f then return nil, "cannot open " .. tostring(err) end
    return setmetatable({ path = path, file = f, n = 0, segments = {}, warn = warn or function() end,
        samples = 0, last_now = nil }, Reader)
end

-- The next line: text, number, whether it ended with a newline.
function Reader:line()
    if self.peeked then
        local p = self.peeked
        self.peeked = nil
        return p[1], p[2], p[3]
    end
    local line = self.file:read("L")
    if not line then return nil end
    self.n = self.n + 1
    local full = line:sub(-1) == "\n"
    return (full and line:sub(1, -2) or line), self.n, full
end

function Reader:peek()
    if not self.peeked then
        local text, n, full = self:line()
        if not text then return nil end
        self.peeked = { text, n, full }
    end
    return self.peeked[1], self.peeked[2]
end

function Reader:next()
    while true do
        local text, n, full = self:line()
        if not text then
            if not self.header then fail("%s: empty file: not a memwatch recording", self.path) end
            return nil
        end
        local t, jerr = json.decode(text)
        if t == nil and text ~= "" then
            -- Half a line from a recorder killed while writing: the last
            -- line of the file, or of a segment (the next line is a header).
            local nxt = self:peek()
            local nt = nxt and json.decode(nxt)
            if self.header and (not full or nxt == nil or is_header(nt)) then
                self.warn(string.format("%s:%d: skipped a line cut short (the recorder was stopped while " ..
                    "writing it)", self.path, n))
                goto continue
            end
            if not self.header then
                fail("%s:1: not a memwatch recording (the first line is not JSON)", self.path)
            end
            fail("%s:%d: not a JSON line (%s)", self.path, n, (tostring(jerr):gsub("^json: ", "")))
        end
        if text == "" then fail("%s:%d: empty line", self.path, n) end
        if is_header(t) then
            check_header(self.path, n, t)
            self.header = t
            self.segment = { header = t, line = n, base = t.start, samples = 0, first = nil }
            self.segments[#self.segments + 1] = self.segment
            goto continue
        end
        if not self.header then
            fail("%s:1: not a memwatch recording (the first line is not a recording header)", self.path)
        end
        if type(t) ~= "table" or type(t.t) ~= "number" or type(t.mono) ~= "number" or
            (t.processes ~= nil and type(t.processes) ~= "table") then
            fail("%s:%d: not a sample: expected {\"t\": seconds, \"mono\": seconds, \"processes\": [...]}",
                self.path, n)
        end
        do
            local seg = self.segment
            if seg.last_mono and t.mono < seg.last_mono then
                fail("%s:%d: time goes backwards (mono %.17g after %.17g)", self.path, n, t.mono, seg.last_mono)
            end
            if seg.samples == 0 and self.last_now and seg.base + t.mono < self.last_now then
                -- The wall clock went back between two runs: put this
                -- segment right after the previous one.
                self.warn(string.format("%s:%d: this segment starts %.3gs before the previous one ended (the " ..
                    "clock went back?); replayed right after it", self.path, seg.line,
                    self.last_now - (seg.base + t.mono)))
                seg.base = self.last_now - t.mono
            end
            seg.last_mono = t.mono
            local procs = t.processes or {}
            for i, p in ipairs(procs) do decode_row(self.path, n, i, p, self.header.format) end
            local s = { t = t.t, mono = t.mono, now = seg.base + t.mono, processes = procs,
                segment = #self.segments, line = n, first_of_segment = seg.samples == 0 }
            seg.samples = seg.samples + 1
            seg.first = seg.first or s.t
            seg.last = s.t
            self.samples = self.samples + 1
            self.first_t = self.first_t or s.t
            self.last_t = s.t
            self.last_now = s.now
            return s
        end
        ::continue::
    end
end

function Reader:close()
    if self.file then
        self.file:close()
        self.file = nil
    end
end

--- fields(reader) -> set of the fields its segments so far record (plus the base ones)
function M.fields_of(segments)
    local set = {}
    for _, f in ipairs(M.BASE) do set[f] = true end
    for _, seg in ipairs(segments) do
        for _, f in ipairs(seg.header.fields) do set[f] = true end
    end
    return set
end

return M
