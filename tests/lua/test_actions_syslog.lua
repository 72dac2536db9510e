-- memwatch.actions.syslog (issue 12): the datagram of each kind of event
-- (priority from the event and the facility, identifier and pid, the event's
-- description), the options and their exact errors, a socket nobody listens
-- on said once (not per event), and memwatch replay saying what it would
-- have sent. The datagrams on the wire are checked by tests/cli/test_syslog.sh
-- with a real receiving socket.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local W = require "memwatch.watch"
local A = require "memwatch.actions"
local S = require "memwatch.actions.syslog"
local core = require "memwatch.core"
local MB = 1024 * 1024

-- A flat table as sorted "k=v" text, to compare whole tables.
local function flat(t)
    local out = {}
    for k, v in pairs(t) do out[#out + 1] = tostring(k) .. "=" .. tostring(v) end
    table.sort(out)
    return table.concat(out, "\n")
end

local said = {}
A.warn = function(line) said[#said + 1] = line end

-- The events of one rule over a scripted series of scans: {recs per tick};
-- oom_after: the kernel's OOM-kill count rises after that tick.
local function events(def, series, oom_after)
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    function clock.time() return 1764064800 + clock.t end
    local tick, kills = 0, 0
    local e = W.engine {
        clock = clock, every = 1, memory_limit = 0,
        sampler = function()
            tick = tick + 1
            if oom_after and tick > oom_after then kills = 1 end
            return series[math.min(tick, #series)]
        end,
        oom = { count = function() return kills end, kills_since = function() return {}, false end },
        report = function() end,
    }
    local got = {}
    local function keep(ev) got[#got + 1] = ev end
    def.name = def.name or "big"
    def.on_alert, def.on_resolve = keep, keep
    e:watch(def)
    e:run(#series)
    return got
end

local function proc(mb) return { pid = 10, ppid = 1, name = "app", start_time = 1010.0, footprint = mb * MB } end

-- The time stamp syslog(3) writes: "Nov 25 10:00:01", local time.
local function stamp(t)
    local months = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
    local d = os.date("*t", t)
    return string.format("%s %2d %02d:%02d:%02d", months[d.month], d.day, d.hour, d.min, d.sec)
end

T.test("the datagram: <PRI>TIME IDENT[PID]: the event, priority by kind", function()
    local evs = events({ above = "50M" }, { { proc(60) }, { proc(60) }, { proc(40) } })
    eq(#evs, 2)
    local o = { facility = "daemon", ident = "memwatch", pid = 4242 }
    -- daemon (3) * 8 + warning (4) = 28; + notice (5) = 29
    eq(S.datagram(evs[1], o), "<28>" .. stamp(evs[1].time) ..
        " memwatch[4242]: ALERT rule 'big' app[10] footprint 60.0M (above 50.0M) 1 process")
    eq(S.datagram(evs[2], o), "<29>" .. stamp(evs[2].time) ..
        " memwatch[4242]: RESOLVED rule 'big' app[10] footprint 40.0M (above 50.0M) 1 process")
    eq(S.severity(evs[1]), "warning")
    eq(S.severity(evs[2]), "notice")
    -- local3 (19) * 8 + 4 = 156; user (1) * 8 + 5 = 13
    check(S.datagram(evs[1], { facility = "local3", ident = "mw-prod", pid = 7 }):find("^<156>%a%a%a [ %d]%d " ..
        "%d%d:%d%d:%d%d mw%-prod%[7%]: ALERT "), "local3, another ident")
    check(S.datagram(evs[2], { facility = "user", ident = "x", pid = 7 }):find("^<13>"), "user.notice")
    -- A group that vanished: notice; one the OOM killer took: err (daemon.err = 27).
    local gone = events({ above = "50M" }, { { proc(60) }, {} })
    eq(S.datagram(gone[2], o), "<29>" .. stamp(gone[2].time) ..
        " memwatch[4242]: RESOLVED rule 'big' app[10] footprint 0B (above 50.0M) 0 processes (gone)")
    local oom = events({ above = "50M" }, { { proc(60) }, {} }, 1)
    eq(oom[2].oom_killed, true)
    eq(S.severity(oom[2]), "err")
    eq(S.datagram(oom[2], o), "<27>" .. stamp(oom[2].time) ..
        " memwatch[4242]: RESOLVED rule 'big' app[10] footprint 0B (above 50.0M) 0 processes (gone: OOM-killed)")
    -- Repeats are alerts too.
    local rep = events({ above = "50M", repeat_every = "1s" }, { { proc(60) }, { proc(60) } })
    eq(rep[2].repeated, 1)
    check(S.datagram(rep[2], o):find("^<28>"), "a repeat is a warning")
    -- Without a pid: this process's.
    check(S.datagram(evs[1], { facility = "daemon", ident = "memwatch" })
        :find(" memwatch%[" .. core.getpid() .. "%]: ", 1), "the pid of memwatch")
end)

T.test("options: defaults, and each bad one's exact error", function()
    eq(flat(S.check(nil)), flat { facility = "daemon", ident = "memwatch", socket = S.default_socket() })
    eq(S.default_socket(), core.platform == "darwin" and "/var/run/syslog" or "/dev/log")
    eq(flat(S.check { facility = "local7", ident = "a.b_c-d/e", socket = "@syslog" }),
        flat { facility = "local7", ident = "a.b_c-d/e", socket = "@syslog" })
    raises_exactly(function() A.syslog { facility = "deamon" } end,
        "memwatch.actions.syslog: unknown facility 'deamon' (expected kern, user, mail, daemon, auth, syslog, lpr, " ..
        "news, uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, local5, local6, local7)")
    raises_exactly(function() A.syslog { facility = 3 } end,
        "memwatch.actions.syslog: unknown facility '3' (expected kern, user, mail, daemon, auth, syslog, lpr, " ..
        "news, uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, local5, local6, local7)")
    raises_exactly(function() A.syslog { ident = "mem watch" } end,
        "memwatch.actions.syslog: 'ident' must be 1 to 48 letters, digits or . _ - /, got \"mem watch\"")
    raises_exactly(function() A.syslog { ident = "" } end,
        "memwatch.actions.syslog: 'ident' must be 1 to 48 letters, digits or . _ - /, got \"\"")
    raises_exactly(function() A.syslog { ident = "a:b" } end,
        "memwatch.actions.syslog: 'ident' must be 1 to 48 letters, digits or . _ - /, got \"a:b\"")
    raises_exactly(function() A.syslog { ident = true } end,
        "memwatch.actions.syslog: 'ident' must be 1 to 48 letters, digits or . _ - /, got boolean")
    raises_exactly(function() A.syslog { socket = "dev/log" } end,
        "memwatch.actions.syslog: 'socket' must be a socket path or an @abstract name, got \"dev/log\"")
    raises_exactly(function() A.syslog { facilty = "user" } end,
        "memwatch.actions.syslog: unknown option 'facilty' (expected facility, ident, socket)")
    raises_exactly(function() A.syslog "daemon" end, "memwatch.actions.syslog: options must be a table, got string")
    -- Raised at the caller's line.
    local line = debug.getinfo(1, "l").currentline + 1
    local ok, err = pcall(function() local _ = A.syslog { facility = "x" } end)
    eq(ok, false)
    check(tostring(err):find(debug.getinfo(1, "S").short_src .. ":" .. line .. ": memwatch.actions.syslog: ", 1,
        true), tostring(err))
end)

T.test("a socket nobody listens on: said once, not per event; watching goes on", function()
    said = {}
    local dir = T.sh("mktemp -d \"${TMPDIR:-/tmp}/mw-syslog.XXXXXX\"")
    T.cleanup(function() os.execute("rm -rf '" .. dir .. "'") end)
    local act = A.syslog { socket = dir .. "/log" }
    local evs = events({ above = "50M" }, { { proc(60) }, { proc(40) }, { proc(60) }, { proc(40) } })
    eq(#evs, 4)
    for _, ev in ipairs(evs) do act(ev) end
    eq(flat(said), flat { "syslog: cannot send to " .. dir .. "/log (No such file or directory): events are not " ..
        "logged there until it answers; watching goes on" })
    -- Through an engine: the callback does not fail (no report), the rule
    -- goes on firing and resolving.
    said = {}
    local reports = {}
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local n = 0
    local e = W.engine { clock = clock, every = 1, memory_limit = 0,
        sampler = function()
            n = n + 1
            return { proc(n % 2 == 1 and 60 or 40) }
        end,
        report = function(l) reports[#reports + 1] = l end }
    local count = 0
    e:watch { name = "flap", above = "50M", on_alert = { A.syslog { socket = dir .. "/log2" },
        function() count = count + 1 end }, on_resolve = A.syslog { socket = dir .. "/log2" } }
    e:run(6)
    eq(count, 3, "every alert still reaches the next callback")
    eq(#reports, 0, table.concat(reports, "\n"))
    eq(#said, 2, "one line for each action made (the alert's and the resolve's): " .. table.concat(said, "\n"))
end)

T.test("memwatch replay: nothing sent, the datagram's facility, priority and text shown", function()
    local RP = require "memwatch.record.replay"
    local here = arg[0]:match("^(.*)/") or "."
    local FILE = (os.getenv("MW_FIXTURES") or (here .. "/../fixtures")) .. "/recordings/leak_spike.jsonl"
    local dir = T.sh("mktemp -d \"${TMPDIR:-/tmp}/mw-syslog.XXXXXX\"")
    T.cleanup(function() os.execute("rm -rf '" .. dir .. "'") end)
    local script = dir .. "/rules.lua"
    local f = assert(io.open(script, "w"))
    f:write([[
memwatch.watch { name = "spike", select = { name = "spiky" }, above = "600M", every = "10s",
    on_alert = memwatch.actions.syslog { facility = "local0", ident = "mw" },
    on_resolve = memwatch.actions.syslog { socket = "/nonexistent/log" } }
memwatch.run()
]])
    f:close()
    local lines = {}
    said = {}
    RP.replay { path = FILE, script = script, utc = true, out = function(l) lines[#lines + 1] = l end,
        warn = function(l) said[#said + 1] = l end }
    eq(lines[2], "    syslog (not sent to /dev/log): local0.warning mw: ALERT rule 'spike' spiky[5151] footprint " ..
        "900.0M (above 600.0M) 1 process")
    eq(lines[4], "    syslog (not sent to /nonexistent/log): daemon.notice memwatch: RESOLVED rule 'spike' " ..
        "spiky[5151] footprint 200.0M (above 600.0M) 1 process")
    check(not table.concat(said, "\n"):find("syslog", 1, true), "no failure to send, nothing was sent: " ..
        table.concat(said, "\n"))
    -- Bad options fail as live, at the script's line.
    f = assert(io.open(script, "w"))
    f:write('memwatch.watch { name = "x", above = "1G",\n' ..
        '    on_alert = memwatch.actions.syslog { facility = "bogus" } }\n')
    f:close()
    local ok, err = pcall(RP.replay, { path = FILE, script = script, out = function() end, warn = function() end })
    eq(ok, false)
    check(tostring(err):find(script .. ":2: memwatch.actions.syslog: unknown facility 'bogus'", 1, true),
        tostring(err))
end)

T.done()
