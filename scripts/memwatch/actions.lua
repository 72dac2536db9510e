-- memwatch.actions: what a rule can do when it fires or resolves. Each
-- constructor checks its options at once and returns a function of the
-- event, for on_alert / on_resolve:
--
--   on_alert = memwatch.actions.log()                        -- stderr
--   on_alert = memwatch.actions.log{ file = "/var/log/mw.log" }
--   on_alert = memwatch.actions.exec{ "logger", "-t", "memwatch" }  -- no shell
--   on_alert = memwatch.actions.notify()                     -- desktop
--   on_alert = memwatch.actions.syslog{ facility = "daemon" }  -- the system log
--   on_alert = memwatch.actions.signal{ signal = "TERM", grace = "10s", dry_run = false }
--   on_alert = memwatch.actions.alertmanager{ url = "http://127.0.0.1:9093" }  -- and on_resolve
--   on_alert = memwatch.actions.webhook{ url = "https://...", body = "slack" }
--
-- Safe by default: commands run without a shell and receive the event in
-- MEMWATCH_* environment variables, never spliced into their arguments;
-- `signal` only says what it would do until given dry_run = false, and never
-- touches memwatch itself, its ancestors or pid 1.
local core = require "memwatch.core"
local text = require "memwatch.text"
local units = require "memwatch.units"
local log = require "memwatch.log"
local engine = require "memwatch.watch.engine"
local event = require "memwatch.watch.event"
local sys = require "memwatch.sys"

local M = {}

-- Where actions say things that are not events (dry runs, warnings).
-- Replaceable, e.g. by tests.
function M.warn(line)
    log.write(io.stderr, log.WARNING, "memwatch: " .. line)
end

local warned = {}
local function warn_once(key, line)
    if warned[key] then return end
    warned[key] = true
    M.warn(line)
end

local function check_keys(where, opts, allowed)
    if opts == nil then return {} end
    if type(opts) ~= "table" then
        error(string.format("%s: options must be a table, got %s", where, type(opts)), 3)
    end
    for k in pairs(opts) do
        if math.type(k) ~= "integer" and not allowed[k] then
            local names = {}
            for n in pairs(allowed) do names[#names + 1] = n end
            table.sort(names)
            error(string.format("%s: unknown option '%s' (expected %s)", where, tostring(k),
                table.concat(names, ", ")), 3)
        end
    end
    return opts
end

-- ---- formatting ------------------------------------------------------------------

--- iso_time(epoch) -> "2026-11-25T10:04:05+01:00" (local time)
function M.iso_time(t)
    local secs = math.floor(t or os.time())
    local z = os.date("%z", secs)
    if not z:match("^[+-]%d%d%d%d$") then z = "+0000" end
    return os.date("%Y-%m-%dT%H:%M:%S", secs) .. z:sub(1, 3) .. ":" .. z:sub(4, 5)
end

local printable = text.printable

-- " (gone)" or " (gone: OOM-killed)" after a vanished group's line, so no
-- output reads like a recovery.
local function gone_suffix(ev)
    local g = event.gone_text(ev)
    return g and " " .. g or ""
end

local function base_line(ev)
    return string.format("%s %s %s %d %s %s", M.iso_time(ev.time), ev.kind == "alert" and "ALERT" or "RESOLVED",
        printable(ev.key), ev.count, ev.count == 1 and "process" or "processes", ev.value_text or tostring(ev.value))
end

--- line(event) -> "TIME ALERT KEY N processes VALUE" (what `memwatch alert`
-- prints), "(gone)" or "(gone: OOM-killed)" after a vanished group's
function M.line(ev)
    return base_line(ev) .. gone_suffix(ev)
end

--- format(event) -> line(event) plus the rule and its condition
function M.format(ev)
    local cond
    if ev.slope then
        cond = string.format("%s grows %s, r2 %.2f, threshold %s", ev.metric,
            ev.slope_text or (units.bytes(ev.slope * 3600) .. "/h"), ev.r2 or 0, ev.threshold_text)
        if ev.eta then cond = cond .. ", limit in " .. units.span(ev.eta) end
    else
        cond = string.format("%s %s %s", ev.metric, ev.direction, ev.threshold_text)
    end
    return string.format("%s rule '%s' (%s)%s%s", base_line(ev), printable(ev.rule), cond, gone_suffix(ev),
        ev.grew and "; grew: " .. printable(ev.grew.text) or "")
end

-- ---- log ---------------------------------------------------------------------------

--- log{ file = path, format = function(event) -> string }
-- One line per state change, flushed at once; stderr without a file.
function M.log(opts)
    opts = check_keys("memwatch.actions.log", opts, { file = true, format = true })
    local out = io.stderr
    if opts.file ~= nil then
        if type(opts.file) ~= "string" then
            error("memwatch.actions.log: 'file' must be a path, got " .. type(opts.file), 2)
        end
        local f, err = io.open(opts.file, "a")
        if not f then error("memwatch.actions.log: cannot open " .. err, 2) end
        out = f
    end
    local format = opts.format or M.format
    if type(format) ~= "function" then
        error("memwatch.actions.log: 'format' must be a function, got " .. type(format), 2)
    end
    return function(ev)
        log.write(out, log.NOTICE, format(ev))
    end
end

-- ---- exec ---------------------------------------------------------------------------

local children = {} -- pid -> program name, until reaped

local function num(v)
    if v == nil then return false end
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 2 ^ 62 then
        return string.format("%d", v)
    end
    return tostring(v)
end

--- env(event) -> the MEMWATCH_* variables (false: unset an inherited one)
function M.env(ev)
    local pids = {}
    for i, p in ipairs(ev.processes or {}) do pids[i] = tostring(p.pid) end
    return {
        MEMWATCH_EVENT = ev.kind,
        MEMWATCH_RULE = ev.rule,
        MEMWATCH_KEY = ev.key,
        MEMWATCH_METRIC = ev.metric,
        MEMWATCH_VALUE = num(ev.value),
        MEMWATCH_VALUE_HUMAN = ev.value_text or false,
        MEMWATCH_THRESHOLD = num(ev.threshold),
        MEMWATCH_THRESHOLD_HUMAN = ev.threshold_text or false,
        MEMWATCH_COUNT = tostring(ev.count or #pids),
        MEMWATCH_PIDS = table.concat(pids, " "),
        MEMWATCH_TIME = ev.time and M.iso_time(ev.time) or false,
        MEMWATCH_SINCE = ev.since and M.iso_time(ev.since) or false,
        MEMWATCH_REPEAT = tostring(ev.repeated or 0),
        MEMWATCH_GONE = ev.gone and "1" or false,
        MEMWATCH_OOM_KILLED = ev.oom_killed and "1" or false,
        MEMWATCH_SLOPE = num(ev.slope),
        MEMWATCH_R2 = ev.r2 and string.format("%.4f", ev.r2) or false,
        MEMWATCH_ETA = ev.eta and num(math.floor(ev.eta + 0.5)) or false,
        MEMWATCH_LIMIT = num(ev.limit),
    }
end

local function spawn(argv, env, what)
    local pid, err = core.spawn(argv, env)
    if not pid then error(what .. ": " .. err, 0) end
    children[pid] = argv[1]
    return pid
end

--- check_exec(argv, level) -> the argument list, its env table. Raises at
-- level (the user's line) for a malformed command; the program itself is not
-- looked for (memwatch replay checks a script's commands so, on a machine
-- that need not have them).
function M.check_exec(argv, level)
    level = (level or 1) + 1
    if type(argv) ~= "table" then error("memwatch.actions.exec: expected a list {program, args...}, got " ..
        type(argv), level) end
    check_keys("memwatch.actions.exec", argv, { env = true })
    if #argv == 0 then error("memwatch.actions.exec: the command is empty", level) end
    local list = {}
    for i = 1, #argv do
        if type(argv[i]) ~= "string" then
            error(string.format("memwatch.actions.exec: argument %d must be a string, got %s", i, type(argv[i])),
                level)
        end
        list[i] = argv[i]
    end
    local extra = argv.env or {}
    if type(extra) ~= "table" then error("memwatch.actions.exec: 'env' must be a table", level) end
    return list, extra
end

--- exec{ "program", "arg", ..., env = {NAME = value} }
-- Runs the program (searched in PATH, no shell) for each event, without
-- waiting for it; the event is in MEMWATCH_* environment variables. A
-- program not in PATH is an error here, when the action is made, not when
-- the alert fires.
function M.exec(argv)
    local list, extra = M.check_exec(argv, 2)
    local found, why = sys.find_program(list[1])
    if not found then error("memwatch.actions.exec: " .. why, 2) end
    return function(ev)
        local env = M.env(ev)
        for k, v in pairs(extra) do env[k] = v end
        spawn(list, env, "exec")
    end
end

-- ---- notify -------------------------------------------------------------------------

local which = sys.which
M.which = which

--- notify{ title = "memwatch", urgency = "normal"|"critical"|"low", command = path }
-- A desktop notification: notify-send on Linux, osascript on macOS. When
-- the tool is missing it says so once and does nothing else.
function M.notify(opts)
    opts = check_keys("memwatch.actions.notify", opts, { title = true, urgency = true, command = true })
    local darwin = core.platform == "darwin"
    local tool = opts.command or (darwin and "osascript" or "notify-send")
    local urgency = opts.urgency or "normal"
    if urgency ~= "low" and urgency ~= "normal" and urgency ~= "critical" then
        error("memwatch.actions.notify: 'urgency' must be low, normal or critical, got " .. tostring(urgency), 2)
    end
    local hint = darwin and "" or " (Debian: apt install libnotify-bin)"
    return function(ev)
        local path = which(tool)
        if not path then
            warn_once("notify:" .. tool, string.format("notify: %s was not found in PATH, so desktop " ..
                "notifications are off%s", tool, hint))
            return
        end
        local title = opts.title or string.format("memwatch: %s", ev.kind == "alert" and "alert" or "resolved")
        local body = string.format("%s: %s %s (%s %s), %d %s", printable(ev.key), ev.metric, ev.value_text or "-",
            ev.direction or "", ev.threshold_text or "", ev.count or 0, ev.count == 1 and "process" or "processes")
        local argv
        if darwin and not opts.command then
            argv = { path, "-e", "on run argv", "-e",
                "display notification (item 1 of argv) with title (item 2 of argv)", "-e", "end run", body, title }
        else
            argv = { path, "--app-name=memwatch", "--urgency=" .. urgency, title, body }
        end
        spawn(argv, M.env(ev), "notify")
    end
end

-- syslog{ facility = "daemon", ident = "memwatch", socket = "/dev/log" }: memwatch/actions/syslog.lua
M.syslog = require("memwatch.actions.syslog").action(M)

-- ---- signal ---------------------------------------------------------------------------

local pending = {} -- SIGKILLs due after a grace period

-- memwatch itself, its ancestors and pid 1: never signalled.
local function protected()
    local set = { [1] = "pid 1" }
    local me = core.getpid()
    set[me] = "memwatch itself"
    local pid, depth = core.getppid(), 0
    while pid and pid > 1 and depth < 256 do
        set[pid] = set[pid] or "an ancestor of memwatch"
        local rec = core.read(pid)
        pid = rec and rec.ppid
        depth = depth + 1
    end
    return set
end
M.protected = protected

local function same_process(pid, start_time)
    local rec = core.read(pid)
    return rec ~= nil and (start_time == nil or rec.start_time == start_time), rec
end

--- signal{ signal = "TERM", grace = "5s" | false, dry_run = true, log = function(line) }
-- Sends the signal to every process of the event (alerts only), then
-- SIGKILL to those still running after the grace period. Until dry_run is
-- false it only reports what it would do.
function M.signal(opts)
    opts = check_keys("memwatch.actions.signal", opts, { signal = true, grace = true, dry_run = true, log = true })
    local sig = opts.signal or "TERM"
    local signo = type(sig) == "number" and sig or core.signals[tostring(sig):gsub("^SIG", "")]
    if not signo then
        error(string.format("memwatch.actions.signal: unknown signal '%s' (expected HUP, INT, QUIT, KILL, " ..
            "USR1, USR2, TERM, STOP, CONT)", tostring(sig)), 2)
    end
    local signame = "SIG" .. tostring(sig):gsub("^SIG", "")
    local grace
    if opts.grace ~= false then
        local ok, g = pcall(core.parse_duration, opts.grace or "5s")
        if not ok then
            error("memwatch.actions.signal: 'grace': " .. tostring(g):gsub("^[^\n]-:%d+: ", ""), 2)
        end
        grace = g
    end
    if signo == core.signals.KILL then grace = nil end
    local dry = opts.dry_run ~= false
    local say = opts.log or M.warn
    return function(ev)
        if ev.kind ~= "alert" then return end
        local keep = protected()
        local now = ev.now or core.now()
        for _, p in ipairs(ev.processes or {}) do
            local who = string.format("pid %d (%s)", p.pid, printable(p.name or "?"))
            if keep[p.pid] or p.pid <= 1 then
                say(string.format("signal: refusing to signal %s: it is %s", who, keep[p.pid] or "pid 1"))
            elseif dry then
                say(string.format("signal (dry run): would send %s to %s%s", signame, who,
                    grace and string.format(", then SIGKILL after %s if it is still running",
                        units.span(grace)) or ""))
            elseif same_process(p.pid, p.start_time) then
                local ok, err = core.kill(p.pid, signo)
                if ok then
                    say(string.format("signal: sent %s to %s", signame, who))
                    if grace then
                        pending[#pending + 1] = { pid = p.pid, start_time = p.start_time, at = now + grace, who = who }
                    end
                else
                    say(string.format("signal: %s: %s", signame, err))
                end
            end
        end
    end
end

--- poll(now): reap finished commands, send SIGKILLs whose grace is over.
-- The engine calls it on every tick.
function M.poll(now)
    for pid, name in pairs(children) do
        local state, code = core.child_status(pid)
        if state ~= "running" then
            children[pid] = nil
            if state == "exit" and code ~= 0 then
                M.warn(string.format("action '%s' exited with status %d", name, code))
            elseif state == "signal" then
                M.warn(string.format("action '%s' was killed by signal %d", name, code))
            end
        end
    end
    local i = 1
    while i <= #pending do
        local k = pending[i]
        if now >= k.at then
            table.remove(pending, i)
            if same_process(k.pid, k.start_time) then
                local ok, err = core.kill(k.pid, "KILL")
                M.warn(ok and string.format("signal: %s still running after the grace period: sent SIGKILL", k.who)
                    or string.format("signal: SIGKILL: %s", err))
            end
        else
            i = i + 1
        end
    end
end

-- ---- over HTTP (one file each) ----------------------------------------------------------

M.alertmanager = require("memwatch.actions.alertmanager").new
M.webhook = require("memwatch.actions.webhook").new

-- The engine reaps and escalates through this on every tick.
engine.on_tick(function(now) M.poll(now) end)

--- children() -> the pids of commands not reaped yet (for tests)
function M.children()
    local out = {}
    for pid in pairs(children) do out[#out + 1] = pid end
    table.sort(out)
    return out
end

return M
