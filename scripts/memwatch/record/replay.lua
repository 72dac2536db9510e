-- memwatch.record.replay: runs a rules script (the file one runs live with
-- `memwatch RULES.lua`) against a recording, on the recording's timeline.
--
-- The script's memwatch.watch{} and memwatch.run() go to an engine whose
-- sampler hands out the recorded samples in order and whose clock jumps to
-- each sample's time: rules tick on their own `every` grid over the
-- recorded timeline (a rule sees a sample when one of its ticks falls due,
-- so a 10s rule over a 1s recording sees every tenth sample, and a 1s rule
-- over a 10s recording sees each sample once). Actions with side effects
-- (exec, notify, signal, log, syslog, alertmanager, webhook) are replaced
-- for the run: they say what they would have done (sent) instead.
local core = require "memwatch.core"
local R = require "memwatch.record"
local W = require "memwatch.watch"
local text = require "memwatch.text"
local select_ = require "memwatch.select"

local M = {}

-- A tick due at T takes the first sample at or after T minus this much,
-- so a sample taken a hair before its grid time still counts.
M.TOLERANCE = 0.02

-- Raised by memwatch.run() when called again after the recording ended:
-- it ends the script.
local END = setmetatable({}, { __tostring = function() return "memwatch replay: end of the recording" end })

local function printable(s) return text.printable(s) end

local function plural(n, one, many) return string.format("%d %s", n, n == 1 and one or many) end

-- One argument list as a reader would type it.
local function show_argv(list)
    local out = {}
    for i, a in ipairs(list) do
        a = printable(a)
        if a == "" or a:find("[%s'\"\\$`;&|<>()*?#~]") then a = "'" .. a:gsub("'", "'\\''") .. "'" end
        out[i] = a
    end
    return table.concat(out, " ")
end

-- ---- actions that only say what they would do ---------------------------------------

local function fake_actions(A, say)
    local real = { exec = A.exec, notify = A.notify, signal = A.signal, log = A.log, syslog = A.syslog,
        alertmanager = A.alertmanager, webhook = A.webhook }
    -- The real constructor checks the options (and raises the same errors,
    -- blamed on the script's line); its result is not used.
    local function check(name, opts)
        local ok, e = pcall(real[name], opts)
        if not ok then error(tostring(e), 3) end
    end
    local fake = {}
    function fake.exec(argv)
        -- The arguments are checked, not the program: the recording may come
        -- from a machine that has it.
        local ok, e = pcall(A.check_exec, argv)
        if not ok then error(tostring(e), 2) end
        local list = table.move(argv, 1, #argv, 1, {})
        return function(ev)
            say(string.format("exec (not run): %s  [MEMWATCH_EVENT=%s MEMWATCH_KEY=%s MEMWATCH_VALUE=%s]",
                show_argv(list), ev.kind, printable(ev.key), tostring(A.env(ev).MEMWATCH_VALUE)))
        end
    end
    function fake.notify(opts)
        check("notify", opts)
        opts = opts or {}
        return function(ev)
            local title = opts.title or string.format("memwatch: %s", ev.kind == "alert" and "alert" or "resolved")
            local body = string.format("%s: %s %s (%s %s), %s", ev.key, ev.metric, ev.value_text or "-",
                ev.direction or "", ev.threshold_text or "", plural(ev.count or 0, "process", "processes"))
            say(string.format("notify (not sent): %s: %s", printable(title), printable(body)))
        end
    end
    function fake.signal(opts)
        check("signal", opts)
        opts = opts or {}
        local signame = "SIG" .. tostring(opts.signal or "TERM"):gsub("^SIG", "")
        if type(opts.signal) == "number" then signame = "signal " .. opts.signal end
        local grace
        if opts.grace ~= false and signame ~= "SIGKILL" then grace = core.parse_duration(opts.grace or "5s") end
        local dry = opts.dry_run ~= false
        return function(ev)
            if ev.kind ~= "alert" then return end
            for _, p in ipairs(ev.processes or {}) do
                local who = string.format("pid %d (%s)", p.pid, printable(p.name or "?"))
                if p.pid <= 1 then
                    say(string.format("signal: would refuse to signal %s: it is pid 1", who))
                else
                    say(string.format("signal (%s): %s to %s%s", dry and "dry run in the rules: not even live" or
                        "not sent", signame, who, grace and string.format(", then SIGKILL after %s if it is " ..
                        "still running", W.span(grace)) or ""))
                end
            end
        end
    end
    function fake.log(opts)
        if opts ~= nil and type(opts) == "table" and opts.file ~= nil and type(opts.file) ~= "string" then
            error("memwatch.actions.log: 'file' must be a path, got " .. type(opts.file), 2)
        end
        -- Checked without the file: the real one would open (create) it.
        local copy = {}
        if type(opts) == "table" then
            for k, v in pairs(opts) do
                if k ~= "file" then copy[k] = v end
            end
        else
            copy = opts
        end
        check("log", copy)
        local file = type(opts) == "table" and opts.file or nil
        local format = type(opts) == "table" and opts.format or A.format
        return function(ev)
            say(string.format("log (not written to %s): %s", file and printable(file) or "stderr",
                printable(format(ev))))
        end
    end
    local syslog = require "memwatch.actions.syslog"
    function fake.syslog(opts)
        local o = syslog.check(opts, 2)
        return function(ev)
            say(string.format("syslog (not sent to %s): %s.%s %s: %s", printable(o.socket), o.facility,
                syslog.severity(ev), o.ident, tostring(ev)))
        end
    end
    -- Over HTTP: the options checked as live, the request shown, not sent.
    function fake.alertmanager(opts)
        local AM = require "memwatch.actions.alertmanager"
        local ok, c = pcall(AM.check, opts, 1) -- level 1: the error names no line of ours
        if not ok then error(tostring(c), 2) end
        local starts = {}
        return function(ev)
            local key = ev.rule .. "\31" .. ev.key
            local alert = AM.alert(ev, c, starts[key])
            starts[key] = ev.kind == "alert" and alert.starts or nil
            say(string.format("alertmanager (not sent to %s): %s", core.redact_url(c.url), AM.body(alert)))
        end
    end
    function fake.webhook(opts)
        local WH = require "memwatch.actions.webhook"
        local ok, c = pcall(WH.check, opts, 1)
        if not ok then error(tostring(c), 2) end
        return function(ev)
            local body, headers = WH.render(ev, c)
            say(string.format("webhook (not sent to %s): %s %s%s", core.redact_url(c.url), c.method,
                headers and ("[" .. table.concat(headers, ", ") .. "] ") or "", printable(body)))
        end
    end
    return real, fake
end

-- ---- the script's view of the world: the recording -----------------------------------

-- memwatch.processes(filter) over one recorded sample: the filter is checked
-- as live (the same errors), and a user name is compared with the recorded
-- one, so a recording made on another host selects its own users.
local function recorded_processes(sample)
    return function(filter, _)
        local by_user
        if type(filter) == "table" and type(filter.user) == "string" and not tonumber(filter.user) then
            by_user = filter.user
            local copy = {}
            for k, v in pairs(filter) do copy[k] = v end
            copy.user = nil
            filter = copy
        end
        local c = select_.compile(filter, "memwatch.processes", 2)
        -- A recording keeps names, users and pids, not executables or cgroups.
        for _, k in ipairs { "exe", "pidfile", "unit", "container" } do
            if c[k] then
                error(string.format("memwatch.processes: filter '%s' cannot be answered from a recording " ..
                    "(replays select by name, match, user and pid)", k), 2)
            end
        end
        local pids
        if c.pids then
            pids = {}
            for _, p in ipairs(c.pids) do pids[p] = true end
        end
        local out = {}
        for _, r in ipairs(sample().processes) do
            if (not c.name or r.name == c.name) and (not c.uid or r.uid == c.uid) and
                (not by_user or r.user == by_user) and (not pids or pids[r.pid]) and select_.matches(c, r) then
                local rec = {}
                for k, v in pairs(r) do rec[k] = v end
                out[#out + 1] = rec
            end
        end
        return out
    end
end

-- memwatch.process(pid) over one recorded sample: the recorded process, or
-- nil and why, as live for a pid that is not there.
local function recorded_process(processes)
    return function(pid, _)
        if math.type(pid) ~= "integer" then
            error(string.format("bad argument #1 to 'process' (integer expected, got %s)", type(pid)), 2)
        end
        local found = processes { pid = pid }
        if found[1] then return found[1] end
        return nil, string.format("pid %d: not in the recording at this sample", pid), 3 -- ESRCH
    end
end

-- Puts the recording behind memwatch.now(), os.time(), os.date() without a
-- time, memwatch.processes() and memwatch.process() while the script runs;
-- returns what undoes it.
local function recorded_world(sample)
    local mw = require "memwatch"
    local live_now, live_processes, live_process = mw.now, mw.processes, mw.process
    local live_time, live_date = os.time, os.date
    mw.now = function() return sample().now end
    mw.processes = recorded_processes(sample)
    mw.process = recorded_process(mw.processes)
    os.time = function(t) -- luacheck: ignore 122
        if t ~= nil then return live_time(t) end
        return math.floor(sample().t)
    end
    os.date = function(fmt, t) -- luacheck: ignore 122
        return live_date(fmt, t == nil and math.floor(sample().t) or t)
    end
    return function()
        mw.now, mw.processes, mw.process = live_now, live_processes, live_process
        os.time, os.date = live_time, live_date -- luacheck: ignore 122
    end
end

-- ---- the replay ----------------------------------------------------------------------

--- replay{path=, script=, args=, rules={names}, utc=, out=fn(line), warn=fn(line)}
-- -> result table {samples=, first=, last=, segments=, rules={...}, stopped_early=}
-- Raises R.fail errors (the file), plain errors (the script), and
-- {usage = message} for a --rule naming no rule.
function M.replay(opts)
    local out = opts.out or function(line)
        io.stdout:write(line, "\n")
        io.stdout:flush()
    end
    local warn = opts.warn or function(line)
        io.stderr:write("memwatch replay: ", line, "\n")
        io.stderr:flush()
    end
    local utc = opts.utc
    local reader, rerr = R.reader(opts.path, warn)
    if not reader then R.fail("%s", rerr) end
    local chunk, lerr = loadfile(opts.script, "t")
    if not chunk then
        reader:close()
        error(lerr, 0)
    end

    local restore
    local ok, result = pcall(function()
        local cur = reader:next()
        if not cur then R.fail("%s: no samples (only a header): nothing to replay", opts.path) end
        restore = recorded_world(function() return cur end)
        local ended = false
        local engine
        local clock = {}
        function clock.now() return cur.now end
        function clock.time() return cur.t end
        function clock.sleep(s)
            local target = cur.now + s
            while true do
                local nxt = reader:next()
                if not nxt then
                    ended = true
                    engine:stop("stopped")
                    return
                end
                if nxt.segment ~= cur.segment then
                    local every = reader.segments[cur.segment].header.every or 0
                    local gap = nxt.t - cur.t
                    if gap > 2 * every + M.TOLERANCE then
                        out(string.format("%s -- no samples for %s (the recorder was not running); resumed at line %d",
                            R.iso(cur.t, utc), W.span(gap), nxt.line))
                    end
                end
                cur = nxt
                if cur.now >= target - M.TOLERANCE then return end
            end
        end
        engine = W.engine {
            sampler = function() return cur.processes end,
            clock = clock,
            app_key = function(rec) return rec.app end,
            report = function(line) io.stderr:write(line, "\n") io.stderr:flush() end,
            signals = false,
            -- "20%" is a share of the recorded machine's memory, not this one's.
            memory_total = function()
                local m = reader.segments[cur.segment].header.machine
                return type(m) == "table" and tonumber(m.memory_total) or nil
            end,
        }
        -- A replay never reads or writes a state file (memwatch.run{state = ...}).
        engine.open_state = function() end
        local counts = {}
        local prepared = false
        local function printer(ev)
            local c = counts[ev.rule]
            c[ev.kind] = c[ev.kind] + 1
            out(R.iso(ev.time, utc) .. " " .. tostring(ev)) -- describe() makes names printable
        end
        local function prepare()
            prepared = true
            if opts.rules and #opts.rules > 0 then
                local want, names = {}, {}
                for _, n in ipairs(opts.rules) do want[n] = true end
                for _, r in ipairs(engine.rules) do names[#names + 1] = "'" .. r.name .. "'" end
                for _, n in ipairs(opts.rules) do
                    if not engine.by_name[n] then
                        error({ usage = string.format("--rule '%s': %s has no rule of that name (its rules: %s)", n,
                            opts.script, table.concat(names, ", ")) }, 0)
                    end
                end
                local kept = {}
                for _, r in ipairs(engine.rules) do
                    if want[r.name] then kept[#kept + 1] = r else engine.by_name[r.name] = nil end
                end
                engine.rules = kept
            end
            local have = R.fields_of(reader.segments)
            for _, r in ipairs(engine.rules) do
                counts[r.name] = { alert = 0, resolve = 0 }
                table.insert(r.on_alert, 1, printer)
                table.insert(r.on_resolve, 1, printer)
                for _, f in ipairs(r.need) do
                    if f == "cmdline" and not have.cmdline then
                        warn(string.format("%s matches '%s' on command lines too, which %s does not record " ..
                            "(record with --fields cmdline): matched on names only", r.label,
                            printable(r.select.match), opts.path))
                    elseif f ~= "start_time" and f ~= "cmdline" and not have[f] then
                        warn(string.format("%s uses '%s', which %s does not record (record with --fields %s): " ..
                            "it cannot fire", r.label, f, opts.path, f))
                    end
                end
                if r.group == "app" and not have.app then
                    warn(string.format("%s groups by app, but %s has no app keys (record with --fields app): " ..
                        "grouped by same-name process trees instead", r.label, opts.path))
                end
            end
        end
        engine.run = function(self, arg)
            if ended then error(END, 0) end
            if not prepared then prepare() end
            return W.Engine.run(self, arg)
        end

        local A = require "memwatch.actions"
        local real, fake = fake_actions(A, function(line) out("    " .. line) end)
        for k, f in pairs(fake) do A[k] = f end
        -- log lines (actions.format) show times as the replay does.
        local iso_time = A.iso_time
        if utc then A.iso_time = function(t) return R.iso(t or os.time(), true) end end
        local prev = W.set_default(engine)
        local saved_arg = _G.arg
        local args = { [0] = opts.script }
        for i, a in ipairs(opts.args or {}) do args[i] = a end
        _G.arg = args
        local sok, serr = pcall(chunk, table.unpack(args, 1, #args))
        _G.arg = saved_arg
        W.set_default(prev)
        for k, f in pairs(real) do A[k] = f end
        A.iso_time = iso_time
        if not sok and serr ~= END then error(serr, 0) end
        if sok and not prepared then
            -- A script that registers rules without calling memwatch.run()
            -- (as for `memwatch serve --rules`): run them over the recording.
            if #engine.rules == 0 then
                error(string.format("%s registers no rules (memwatch.watch{...})", opts.script), 0)
            end
            engine:run()
        end
        local res = { samples = reader.samples, first = reader.first_t, last = reader.last_t,
            segments = #reader.segments, stopped_early = not ended, rules = {} }
        for _, r in ipairs(engine.rules) do
            local firing = {}
            for _, st in pairs(r.states) do
                if st.firing then firing[#firing + 1] = printable(st.key) end
            end
            table.sort(firing)
            res.rules[#res.rules + 1] = { name = r.name, label = r.label, alerts = counts[r.name].alert,
                resolves = counts[r.name].resolve, firing = firing }
        end
        return res
    end)
    if restore then restore() end
    reader:close()
    if not ok then error(result, 0) end

    local res = result
    out(string.format("summary: %s from %s to %s (%s) in %s%s", plural(res.samples, "sample", "samples"),
        R.iso(res.first, utc), R.iso(res.last, utc), W.span(res.last - res.first),
        plural(res.segments, "segment", "segments"),
        res.stopped_early and "; the script stopped before the end of the recording" or ""))
    for _, r in ipairs(res.rules) do
        out(string.format("summary: %s: %s, %s%s", printable(r.label), plural(r.alerts, "alert", "alerts"),
            plural(r.resolves, "resolve", "resolves"),
            #r.firing > 0 and ("; still firing at the end: " .. table.concat(r.firing, ", ")) or ""))
    end
    return res
end

M.END = END

return M
