-- The memwatch Lua API contract (issue 2, "Lua API"): the names, the return
-- shapes, the types, the filter and the error messages. Run by the memwatch
-- executable with the working directory tests/lua.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises, raises_exactly = T.check, T.eq, T.raises, T.raises_exactly

local mw = require "memwatch"
local peek = require("memwatch.core").peek
local MYPID = math.tointeger(tonumber(T.sh("echo $PPID"))) -- the shell's parent is us

-- A quiet child with a recognisable command line (sleep takes fractions).
local CHILD_ARG = "30.4242"
local child = T.spawn("sleep " .. CHILD_ARG)
T.wait_until(function()
    local r = mw.process(child)
    return r and r.name == "sleep"
end)

local function pids_of(recs)
    local set = {}
    for _, r in ipairs(recs) do set[r.pid] = (set[r.pid] or 0) + 1 end
    return set
end

local function readable(path)
    local f = io.open(path, "r")
    if not f then return false end
    local ok = f:read("l") ~= nil
    f:close()
    return ok
end

local SIZE_FIELDS = { "footprint", "resident", "rss_anon", "rss_file", "rss_shmem", "swap", "page_table",
    "resident_peak", "virtual", "locked" }

T.test("globals and identity", function()
    eq(type(memwatch), "table", "memwatch is a preloaded global")
    check(rawequal(mw, memwatch), "require 'memwatch' returns the global memwatch table")
    check(rawequal(require "memwatch", mw), "require is cached")
    eq(mw.platform, "linux")
    eq(type(mw.version), "string")
    check(mw.version:match("^%d+%.%d+%.%d+$") ~= nil, "version is X.Y.Z, got " .. tostring(mw.version))
    eq(MYPID, require("memwatch.core").getpid(), "test harness found our pid")
    for _, name in ipairs { "processes", "process", "self", "system", "ledger", "bytes", "parse_bytes",
        "parse_duration", "now", "sleep" } do
        eq(type(mw[name]), "function", "memwatch." .. name)
    end
end)

T.test("a plain scan reads status only; start_time and cpu_time come on first access", function()
    local r = mw.processes { pid = MYPID }
    eq(#r, 1)
    r = r[1]
    -- A scan of a few pids reads /proc under either sampler.
    eq(peek(r, "start_time"), nil, "start_time not read by the scan")
    eq(peek(r, "cpu_time"), nil, "cpu_time not read by the scan")
    if mw.sampler() == "bpf" then
        -- The BPF sampler's pass carries stat's numbers with status's, at no cost.
        local mine
        for _, p in ipairs(mw.processes()) do
            if p.pid == MYPID then mine = p end
        end
        T.is_type(peek(mine, "start_time"), "float", "start_time in the BPF sampler's full scan")
        T.is_type(peek(mine, "cpu_time"), "float", "cpu_time in the BPF sampler's full scan")
    end
    T.is_type(peek(r, "footprint"), "integer", "footprint read by the scan")
    T.is_type(r.start_time, "float", "start_time on first access")
    T.is_type(r.cpu_time, "float", "cpu_time on first access")
    local asked = mw.processes({ pid = MYPID }, { "start_time" })[1]
    T.is_type(peek(asked, "start_time"), "float", "start_time read in the scan when asked")
    eq(asked.start_time, r.start_time, "the same start time either way")
end)

T.test("processes() returns records of one scan", function()
    -- start_time and cpu_time are asked for in the scan: read lazily, they
    -- would be nil for any process that exits meanwhile (other tests run
    -- beside this one), which is right but not what this test checks.
    local recs = mw.processes(nil, { "start_time", "cpu_time" })
    eq(type(recs), "table")
    check(#recs >= 3, "at least init, the test and a child, got " .. #recs)
    local seen = pids_of(recs)
    for pid, n in pairs(seen) do check(n == 1, "pid " .. pid .. " appears " .. n .. " times") end
    check(seen[MYPID], "our own process is in the scan")
    check(seen[child], "the child is in the scan")
    -- Some sandboxed kernels keep their init out of BPF task iterators (this
    -- project's test machine does); /proc shows it everywhere.
    check(seen[1] or mw.sampler() == "bpf", "pid 1 is in the scan")
    local user_procs, exiting = 0, {}
    for _, r in ipairs(recs) do
        T.is_type(r.pid, "integer", "pid")
        T.is_type(r.ppid, "integer", "ppid of " .. r.pid)
        T.is_type(r.uid, "integer", "uid of " .. r.pid)
        T.is_type(r.threads, "integer", "threads of " .. r.pid)
        T.is_type(r.name, "string", "name of " .. r.pid)
        T.is_type(r.state, "string", "state of " .. r.pid)
        eq(#r.state, 1, "state is one letter")
        T.is_type(r.start_time, "float", "start_time of " .. r.pid)
        T.is_type(r.cpu_time, "float", "cpu_time of " .. r.pid)
        check((r.cpu_time or 0) >= 0, "cpu_time >= 0")
        if not r.kernel_thread and r.state ~= "Z" and r.resident == nil and r.virtual == nil then
            -- A process caught between releasing its memory and becoming a
            -- zombie has no memory lines in its status: allowed only if it
            -- is indeed on its way out (checked below).
            exiting[#exiting + 1] = r
        elseif not r.kernel_thread and r.state ~= "Z" then
            user_procs = user_procs + 1
            for _, f in ipairs(SIZE_FIELDS) do
                T.is_type(r[f], "integer", f .. " of " .. r.pid .. " (" .. r.name .. ")")
                check((r[f] or 0) >= 0, f .. " >= 0")
            end
            check(r.footprint and r.rss_anon and r.footprint == r.rss_anon + r.rss_shmem + r.swap + r.page_table,
                "footprint = rss_anon + rss_shmem + swap + page_table for " .. r.pid)
            check(r.resident and r.resident == r.rss_anon + r.rss_file + r.rss_shmem,
                "resident = rss_anon + rss_file + rss_shmem for " .. r.pid)
        end
        check(getmetatable(r) ~= nil, "records share the record metatable")
    end
    check(user_procs >= 2, "user processes found")
    for _, gone in ipairs(exiting) do
        local pid = gone.pid
        check(pid ~= MYPID and pid ~= child and pid ~= 1, "pid " .. pid .. " has no memory fields")
        check(T.wait_until(function()
            local now = mw.process(pid)
            return now == nil or now.start_time ~= gone.start_time or now.state == "Z" or now.state == "X"
        end, 5), "pid " .. pid .. " had no memory fields yet did not exit")
    end
    -- start_time is epoch seconds: not before 2000, not in the future.
    local me = mw.process(MYPID)
    check(me.start_time > 946684800 and me.start_time <= os.time() + 1,
        "start_time is in epoch seconds: " .. T.show(me.start_time))
end)

T.test("processes() reads only the basic sources", function()
    -- pss/uss/cmdline are not in the record until asked for (read lazily).
    local r = mw.processes { pid = MYPID }[1]
    eq(peek(r, "pss"), nil, "pss not read by a plain scan")
    eq(peek(r, "cmdline"), nil, "cmdline not read by a plain scan")
    eq(peek(r, "uss"), nil, "uss not read by a plain scan")
    -- asking for them up front
    local r2 = mw.processes({ pid = MYPID }, { "pss", "cmdline" })[1]
    T.is_type(peek(r2, "pss"), "integer", "pss read with fields = {'pss'}")
    T.is_type(peek(r2, "cmdline"), "string", "cmdline read with fields = {'cmdline'}")
    local r3 = mw.process(MYPID, "all")
    T.is_type(peek(r3, "uss"), "integer", "uss read with fields = 'all'")
    raises_exactly(function() mw.processes(nil, { "bogus" }) end, "memwatch.processes: unknown field 'bogus'")
    raises_exactly(function() mw.processes(nil, 7) end,
        "memwatch.processes: fields must be a list of field names or \"all\", got number")
    raises_exactly(function() mw.process(MYPID, { "nope" }) end, "memwatch.process: unknown field 'nope'")
end)

T.test("self()", function()
    local s = mw.self()
    eq(s.pid, MYPID, "self().pid")
    eq(s.name, "memwatch", "self().name")
    eq(s.footprint, s.rss_anon + s.rss_shmem + s.swap + s.page_table,
        "footprint = rss_anon + rss_shmem + swap + page_table")
    check(s.footprint > 0, "footprint > 0")
    check(s.resident >= s.rss_anon, "resident >= rss_anon")
    check(s.resident_peak >= s.resident, "resident_peak >= resident")
    check(s.virtual >= s.resident, "virtual >= resident")
    T.is_type(s.lua_bytes, "integer", "lua_bytes")
    check(s.lua_bytes > 0, "lua_bytes > 0")
    eq(s.uid, tonumber(T.sh("id -u")) // 1, "uid")
    eq(s.user, T.sh("id -un"), "user")
    local ppid = math.tointeger(tonumber((T.sh("ps -o ppid= -p " .. MYPID .. " 2>/dev/null"):match("%d+"))))
    if ppid then eq(s.ppid, ppid, "ppid (as ps sees it)") end
    eq(s.threads, 1, "threads")
    eq(s.state, "R", "we are running while we read ourselves")
    eq(s.kernel_thread, nil, "not a kernel thread")
end)

T.test("lazy fields of a same-uid record", function()
    local s = mw.self()
    local pss, uss = s.pss, s.uss
    T.is_type(pss, "integer", "pss")
    T.is_type(uss, "integer", "uss")
    check(pss and uss and pss > 0 and uss > 0 and uss <= pss, "0 < uss <= pss")
    T.is_type(s.swap_pss, "integer", "swap_pss")
    T.is_type(s.lazy_free, "integer", "lazy_free")
    -- Read once: the values are now plain fields of the record.
    eq(peek(s, "pss"), pss, "pss stored in the record")
    T.is_type(s.cmdline, "string", "cmdline")
    check(s.cmdline and s.cmdline:find("test_api.lua", 1, true) ~= nil,
        "our cmdline names the script: " .. T.show(s.cmdline))
    local exe = os.getenv("MEMWATCH")
    T.is_type(s.path, "string", "path")
    if exe then eq(s.path, exe, "path is the executable") end

    local c = mw.process(child)
    check(c ~= nil, "the child is readable")
    eq(c.name, "sleep", "child name")
    eq(c.cmdline, "sleep " .. CHILD_ARG, "child cmdline (arguments joined by spaces)")
    local sleep_path = T.sh("readlink -f \"$(command -v sleep)\"")
    eq(c.path, sleep_path, "child path")
    T.is_type(c.pss, "integer", "child pss")
    T.is_type(c.disk_read, "integer", "child disk_read (io)")
    eq(c.no_such_field, nil, "unknown keys read as nil")
end)

T.test("kernel threads", function()
    local status = io.open("/proc/2/status")
    local is_kthreadd = status and (status:read("l") or ""):match("^Name:%s*(.-)%s*$") == "kthreadd"
    if status then status:close() end
    if not is_kthreadd then
        T.skip("kernel threads", "pid 2 is not kthreadd in this pid namespace")
        return
    end
    local k = mw.process(2)
    eq(k.name, "kthreadd")
    eq(k.kernel_thread, true, "kthreadd.kernel_thread")
    eq(k.footprint, nil, "kernel thread footprint is nil, never 0")
    eq(k.resident, nil, "kernel thread resident is nil")
    eq(k.rss_anon, nil, "kernel thread rss_anon is nil")
    eq(k.ppid, 0, "kthreadd's ppid")
    T.is_type(k.cpu_time, "float", "kernel thread cpu_time")
    local kids = 0
    for _, r in ipairs(mw.processes()) do
        if r.ppid == 2 then
            kids = kids + 1
            eq(r.kernel_thread, true, "child of kthreadd " .. r.pid .. " is a kernel thread")
            eq(r.footprint, nil, "footprint of kernel thread " .. r.pid)
            eq(r.resident, nil, "resident of kernel thread " .. r.pid)
        elseif r.pid ~= 2 then
            eq(r.kernel_thread, nil, "user process " .. r.pid .. " (" .. r.name .. ") kernel_thread")
        end
    end
    check(kids > 0, "kthreadd has children")
end)

T.test("filter: name (exact)", function()
    local recs = mw.processes { name = "sleep" }
    check(pids_of(recs)[child], "name = 'sleep' finds the child")
    for _, r in ipairs(recs) do eq(r.name, "sleep", "every record is named sleep") end
    eq(#mw.processes { name = "slee" }, 0, "name is not a prefix match")
    eq(#mw.processes { name = "^sleep$" }, 0, "name is not a pattern")
    eq(#mw.processes { name = "no such process name" }, 0, "unknown name gives an empty array")
end)

T.test("filter: match (pattern on name and cmdline)", function()
    local recs = mw.processes { match = "^sl.ep$" }
    check(pids_of(recs)[child], "pattern on the name")
    for _, r in ipairs(recs) do check(r.name:find("^sl.ep$"), "every record's name matches") end
    -- Only the command line holds the argument.
    local byarg = mw.processes { match = CHILD_ARG:gsub("%.", "%%.") .. "$" }
    local set = pids_of(byarg)
    check(set[child], "pattern on the command line")
    check(not set[MYPID], "the pattern does not match us")
    eq(#mw.processes { match = "^zzz no such thing$" }, 0, "no match gives an empty array")
end)

T.test("filter: user (name and uid)", function()
    local myuid = math.tointeger(tonumber(T.sh("id -u")))
    local myname = T.sh("id -un")
    local by_name = mw.processes { user = myname }
    local by_uid = mw.processes { user = myuid }
    local by_str = mw.processes { user = tostring(myuid) }
    for _, recs in ipairs { by_name, by_uid, by_str } do
        check(pids_of(recs)[MYPID], "user filter finds us")
        check(pids_of(recs)[child], "user filter finds the child")
        for _, r in ipairs(recs) do eq(r.uid, myuid, "every record has our uid") end
    end
    local root_name, root_uid = mw.processes { user = "root" }, mw.processes { user = 0 }
    check(mw.sampler() == "bpf" or (pids_of(root_name)[1] and pids_of(root_uid)[1]), "pid 1 runs as root")
    for _, r in ipairs(root_name) do eq(r.uid, 0, "user = 'root' gives uid 0 only") end
    for _, r in ipairs(root_uid) do eq(r.user, "root", "user = 0 gives root only") end
    if myuid ~= 0 then
        check(not pids_of(root_uid)[MYPID], "user = 0 leaves us out")
    else
        -- pick a uid nobody runs as
        eq(#mw.processes { user = 4000000000 }, 0, "a uid nobody runs as gives nothing")
    end
end)

T.test("filter: pid (one and a list)", function()
    local one = mw.processes { pid = child }
    eq(#one, 1, "one pid gives one record")
    eq(one[1] and one[1].pid, child)
    local two = mw.processes { pid = { child, MYPID } }
    eq(#two, 2, "a list of two live pids gives two records")
    local set = pids_of(two)
    check(set[child] and set[MYPID], "both pids are there")
    eq(#mw.processes { pid = 999999999 }, 0, "a pid that does not exist gives nothing")
    eq(#mw.processes { pid = { 999999999, child } }, 1, "vanished pids in a list are skipped")
    eq(#mw.processes { pid = {} }, 0, "an empty pid list selects nothing")
end)

T.test("filter: keys are ANDed", function()
    eq(#mw.processes { name = "sleep", pid = child }, 1, "name and pid both hold")
    eq(#mw.processes { name = "sleep", pid = MYPID }, 0, "name holds for the child, pid is ours")
    eq(#mw.processes { name = "memwatch", pid = child }, 0, "pid holds, name does not")
    eq(#mw.processes { match = "^sleep$", pid = MYPID }, 0, "match and pid")
    local myname = T.sh("id -un")
    eq(#mw.processes { name = "sleep", user = myname, pid = child, match = "^sl" }, 1, "all four keys")
    local other = myname == "root" and "nobody" or "root"
    eq(#mw.processes { pid = child, user = other }, 0, "pid holds, user does not")
end)

T.test("filter: exe, pidfile, unit, container; comm; match never selects memwatch", function()
    local core = require "memwatch.core"
    local select_ = require "memwatch.select"
    local path = T.sh("readlink /proc/" .. child .. "/exe")
    eq(#mw.processes { exe = path, pid = child }, 1, "exe by path")
    eq(#mw.processes { exe = path:match("[^/]*$"), pid = child }, 1, "exe by file name")
    eq(#mw.processes { exe = "/no/such/" .. path:match("[^/]*$"), pid = child }, 0, "another path")
    eq(mw.process(child).comm, "sleep")
    eq(mw.process(child).name, "sleep")
    -- A pidfile is read at every scan.
    local pf = os.tmpname()
    local function put(text)
        local f = assert(io.open(pf, "w"))
        f:write(text)
        f:close()
    end
    put(child .. "\n")
    local got = mw.processes { pidfile = pf }
    eq(#got, 1)
    eq(got[1].pid, child)
    put(tostring(MYPID))
    eq(mw.processes { pidfile = pf }[1].pid, MYPID, "re-read")
    eq(#mw.processes { pidfile = pf, pid = child }, 0, "pidfile and pid both hold")
    put("garbage\n")
    eq(#mw.processes { pidfile = pf }, 0, "a garbled pidfile selects nothing")
    eq(select_.refresh(select_.compile { pidfile = pf }).problem,
        "pidfile '" .. pf .. "' holds no process id (it reads 'garbage')")
    put("")
    eq(select_.refresh(select_.compile { pidfile = pf }).problem,
        "pidfile '" .. pf .. "' holds no process id (it is empty)")
    os.remove(pf)
    eq(#mw.processes { pidfile = pf }, 0, "a missing pidfile selects nothing")
    eq(select_.refresh(select_.compile { pidfile = pf }).problem,
        "pidfile '" .. pf .. "': No such file or directory")
    -- unit, container and pod: read lazily from the cgroup path.
    local ids = assert(core.cgroup_ids(child))
    local p = mw.process(child)
    eq(p.unit, ids.unit)
    eq(p.container, ids.container)
    eq(p.pod, ids.pod)
    if ids.unit then
        eq(#mw.processes { unit = ids.unit, pid = child }, 1, "unit")
        eq(#mw.processes { unit = ids.unit:gsub("%.service$", ""):gsub("%.scope$", ""), pid = child }, 1,
            "unit without its suffix")
    end
    eq(#mw.processes { unit = "no-such-unit-here", pid = child }, 0, "another unit")
    eq(#mw.processes { container = "0123abcd", pid = child }, 0, "another container")
    eq(select(2, core.cgroup_ids(0)), "pid 0: No such process")
    -- match: never memwatch itself, whatever the pattern.
    eq(#mw.processes { match = "", pid = MYPID }, 0, "match never selects memwatch")
    eq(#mw.processes { match = "", pid = child }, 1)
    -- misuse
    raises_exactly(function() mw.processes { exe = "" } end,
        "memwatch.processes: filter 'exe' must be a non-empty string, got ''")
    raises_exactly(function() mw.processes { pidfile = 1 } end,
        "memwatch.processes: filter 'pidfile' must be a non-empty string, got number")
    raises_exactly(function() mw.processes { unit = true } end,
        "memwatch.processes: filter 'unit' must be a non-empty string, got boolean")
    raises_exactly(function() mw.processes { container = 5 } end,
        "memwatch.processes: filter 'container' must be a string, got number")
    for _, bad in ipairs { "xyz", "abc", "0123-4567", "docker-0123" } do
        raises_exactly(function() mw.processes { container = bad } end,
            "memwatch.processes: filter 'container' must be a container id (at least 4 hex digits) or a " ..
            "Kubernetes pod UID, got '" .. bad .. "'")
    end
    eq(type(mw.processes { container = "0A1B2C3D-4E5F-6789-ABCD-EF0123456789" }), "table", "a pod UID")
end)

T.test("select on plain records (rules, replay): the 15-byte rule, bundles, units, containers", function()
    local S = require "memwatch.select"
    eq(S.app_bundle("/Applications/Google Chrome.app/Contents/Frameworks/G.framework/Helpers/" ..
        "Google Chrome Helper.app/Contents/MacOS/Google Chrome Helper"), "Google Chrome", "the outermost bundle")
    eq(S.app_bundle("/usr/bin/zsh"), nil)
    eq(S.app_bundle(nil), nil)
    local long = S.compile { name = "my-leaky-service-long" }
    check(S.matches(long, { pid = 1, name = "my-leaky-service-long", comm = "my-leaky-servic" }), "full name")
    check(S.matches(long, { pid = 1, name = "my-leaky-service-x", comm = "my-leaky-servic",
        path = "/opt/my-leaky-service-long (deleted)" }), "comm at the limit, executable of that name")
    check(S.matches(long, { pid = 1, name = "x", comm = "my-leaky-servic", cmdline = "/opt/my-leaky-service-long -v" }),
        "comm at the limit, argv[0] of that name")
    check(not S.matches(long, { pid = 1, name = "my-leaky-servic", comm = "my-leaky-servic" }), "comm alone")
    check(not S.matches(long, { pid = 1, name = "my-leaky-se", comm = "my-leaky-se",
        cmdline = "my-leaky-service-long" }), "comm under the limit")
    check(S.matches(S.compile { name = "Google Chrome" }, { pid = 1, name = "Google Chrome Helper",
        app_bundle = "Google Chrome" }), "the bundle's name")
    local unit = S.compile { unit = "nginx" }
    check(S.matches(unit, { pid = 1, unit = "nginx.service" }) and S.matches(unit, { pid = 1, unit = "nginx" }) and
        not S.matches(unit, { pid = 1, unit = "nginx2.service" }) and not S.matches(unit, { pid = 1 }), "unit")
    local id = "3f5c2a1b9d8e7f60123456789abcdef0123456789abcdef0123456789abcdef0"
    check(S.matches(S.compile { container = "3F5C2A1B9D8E" }, { pid = 1, container = id }), "a short id, any case")
    check(not S.matches(S.compile { container = "3f5d" }, { pid = 1, container = id }), "another prefix")
    local pod = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    check(S.matches(S.compile { container = pod }, { pid = 1, container = id, pod = pod }), "a pod UID")
    check(S.matches(S.compile { user = 5, pid = { 1, 2 } }, { pid = 2, uid = 5 }) and
        not S.matches(S.compile { user = 5 }, { pid = 2, uid = 6 }), "user and pid")
end)

T.test("filter: misuse raises", function()
    -- Blamed on the caller (error level), with the exact message.
    local msg = raises(function() mw.processes { x = 1 } end,
        "memwatch.processes: unknown filter key 'x' (expected name, exe, match, user, pid, pidfile, unit, " ..
        "container)", true)
    check(msg and msg:find("test_api.lua:%d+: ") ~= nil, "the error points at the caller: " .. T.show(msg))
    raises_exactly(function() mw.processes { x = 1 } end,
        "memwatch.processes: unknown filter key 'x' (expected name, exe, match, user, pid, pidfile, unit, container)")
    raises_exactly(function() mw.processes { [1] = "sleep" } end,
        "memwatch.processes: unknown filter key '1' (expected name, exe, match, user, pid, pidfile, unit, container)")
    raises_exactly(function() mw.processes("sleep") end, "memwatch.processes: filter must be a table, got string")
    raises_exactly(function() mw.processes { name = 5 } end,
        "memwatch.processes: filter 'name' must be a string, got number")
    raises_exactly(function() mw.processes { match = true } end,
        "memwatch.processes: filter 'match' must be a string (a Lua pattern), got boolean")
    raises_exactly(function() mw.processes { match = "[a" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: malformed pattern (missing ']')")
    raises_exactly(function() mw.processes { match = "%" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: malformed pattern (ends with '%')")
    -- Errors past the first item, which matching an empty string never reaches.
    raises_exactly(function() mw.processes { match = "a%" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: malformed pattern (ends with '%')")
    raises_exactly(function() mw.processes { match = "a(b" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: unfinished capture")
    raises_exactly(function() mw.processes { match = "a)b" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: invalid pattern capture")
    raises_exactly(function() mw.processes { match = "x%b" } end,
        "memwatch.processes: filter 'match' is not a valid Lua pattern: malformed pattern (missing arguments to '%b')")
    eq(type(mw.processes { match = "[]]" }), "table", "']' first in a set is a character")
    raises_exactly(function() mw.processes { user = {} } end,
        "memwatch.processes: filter 'user' must be a user name or a uid, got table")
    raises_exactly(function() mw.processes { user = 1.5 } end,
        "memwatch.processes: filter 'user' must be a user name or a uid, got number")
    raises_exactly(function() mw.processes { user = -1 } end,
        "memwatch.processes: filter 'user' must be a user name or a uid >= 0")
    raises_exactly(function() mw.processes { user = "no-such-user-mw" } end,
        "memwatch.processes: no such user 'no-such-user-mw'")
    raises_exactly(function() mw.processes { pid = "1" } end,
        "memwatch.processes: filter 'pid' must be an integer or a list of integers, got string")
    raises_exactly(function() mw.processes { pid = 1.5 } end,
        "memwatch.processes: filter 'pid' must be an integer or a list of integers, got number")
    raises_exactly(function() mw.processes { pid = { 1, "2" } } end,
        "memwatch.processes: filter 'pid' entry 2 must be an integer, got string")
end)

T.test("process(pid): a record or nil, message, errno", function()
    local r = mw.process(child)
    eq(type(r), "userdata", "a live child gives a record")
    check(require("memwatch.core").is_record(r), "a record")
    eq(r.pid, child)
    eq(r.name, "sleep")
    eq(r.state, "S", "a sleeping child")
    T.is_type(r.footprint, "integer", "child footprint")
    eq(r.footprint, r.rss_anon + r.rss_shmem + r.swap + r.page_table, "child footprint formula")
    eq(getmetatable(r), getmetatable(mw.self()), "same metatable as other records")
    -- only named fields: no array part (a record once held itself as [1])
    eq(peek(r, 1), nil, "process(): no [1]")
    eq(peek(mw.self(), 1), nil, "self(): no [1]")
    eq(peek(require("memwatch.core").read(child), 1), nil, "core.read: no [1]")
    for k in pairs(r) do eq(type(k), "string", "every key is a name") end
    eq(tostring(r), string.format("process %d (sleep) footprint %s", child, mw.bytes(r.footprint)), "tostring")

    local a, msg, errno = mw.process(999999999)
    eq(a, nil, "a pid that does not exist gives nil")
    eq(msg, "pid 999999999: No such process", "message")
    eq(errno, 3, "errno is ESRCH")
    T.is_type(errno, "integer", "errno")
    eq(select("#", mw.process(999999999)), 3, "exactly three results")
    local b, msg2, errno2 = mw.process(-5)
    eq(b, nil)
    eq(msg2, "pid -5: No such process")
    eq(errno2, 3)
    local c, _, errno3 = mw.process(0)
    eq(c, nil, "pid 0")
    eq(errno3, 3)

    raises_exactly(function() mw.process("1") end, "bad argument #1 to 'process' (integer expected, got string)")
    raises_exactly(function() mw.process(1.5) end, "bad argument #1 to 'process' (integer expected, got float)")
    raises_exactly(function() mw.process() end, "bad argument #1 to 'process' (integer expected, got nil)")
    raises_exactly(function() mw.process({}) end, "bad argument #1 to 'process' (integer expected, got table)")
    -- a float with an integral value is still not an integer in the contract
    raises_exactly(function() mw.process(1.0) end, "bad argument #1 to 'process' (integer expected, got float)")
end)

T.test("lazy fields never come from another process (PID reuse)", function()
    -- A record whose process has exited: nil, not another process's numbers.
    local victim = T.spawn("sleep 29.5")
    local r = T.wait_until(function()
        local x = mw.process(victim)
        return x and x.name == "sleep" and x
    end)
    check(r, "victim started")
    if not r then return end
    os.execute("kill " .. victim)
    T.wait_until(function()
        local x = mw.process(victim)
        return x == nil or x.state == "Z"
    end)
    eq(r.pss, nil, "pss of an exited process")
    eq(r.uss, nil, "uss of an exited process")
    eq(r.cmdline, nil, "cmdline of an exited process")
    eq(r.pss, nil, "and it stays nil")

    -- The same pid, another process: simulated by a record whose start time
    -- is not the live process's (what a reused pid looks like).
    local s = mw.self()
    s.start_time = s.start_time - 1000
    eq(s.pss, nil, "pss is not read from a process with another start time")
    eq(s.cmdline, nil, "cmdline is not read from a process with another start time")
    eq(s.path, nil, "path is not read from a process with another start time")
    -- while the genuine record reads fine
    T.is_type(mw.self().pss, "integer", "pss of the genuine record")
end)

T.test("permission denied: nil plus the denied flag", function()
    -- Needs root (to drop to nobody) and setpriv; the sub-process reads a
    -- process of ours (root) whose smaps_rollup and exe it may not read.
    local exe = os.getenv("MEMWATCH")
    if T.sh("id -u") ~= "0" or T.sh("command -v setpriv") == "" or not exe then
        T.skip("permission denied", "needs root, setpriv and $MEMWATCH")
        return
    end
    local code = string.format([[
        local r = memwatch.process(%d)
        local pss, uss, path = r.pss, r.uss, r.path -- read lazily; denied is known after
        local d = r.denied or {}
        print(math.type(r.footprint), pss, d.pss, uss, d.uss, path, d.path, tostring(r.cmdline))
        local q = memwatch.processes { pid = %d }[1]
        print(q.pss, q.denied and q.denied.pss)
        local a, msg, errno = memwatch.ledger(%d)
        if a then
            local refused = {}
            for i, r in ipairs(msg) do refused[i] = r.group .. ":" .. r.source end
            msg = table.concat(refused, " ")
        end
        print(type(a), msg, errno)
    ]], child, child, child)
    local script = os.tmpname()
    T.cleanup(function() os.remove(script) end)
    local f = assert(io.open(script, "w"))
    f:write(code)
    f:close()
    os.execute("chmod 644 '" .. script .. "'")
    local out = T.sh(string.format("setpriv --reuid=65534 --regid=65534 --clear-groups '%s' '%s' 2>&1", exe, script))
    local lines = {}
    for l in (out .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
    eq(lines[1], "integer\tnil\ttrue\tnil\ttrue\tnil\ttrue\tsleep " .. CHILD_ARG,
        "status is readable, smaps_rollup and exe are denied and flagged")
    eq(lines[2], "nil\ttrue", "a scanned record flags the lazily denied pss")
    -- The ledger reads smaps_rollup and io: a partial table comes with what
    -- was refused (io only where the kernel keeps it); a whole-table failure
    -- is "nil, message, 13".
    local h = io.open("/proc/" .. child .. "/io")
    local io_kept = h ~= nil
    if h then h:close() end
    check(lines[3] == "table\tphysmem:smaps_rollup " .. (io_kept and "res:io " or "") .. "gpu:fd\tnil" or
        lines[3] == "nil\tpid " .. child .. ": Permission denied\t13",
        "ledger of a forbidden process: " .. T.show(lines[3]))
end)

T.test("system()", function()
    local s = mw.system()
    eq(type(s), "table")
    for _, k in ipairs { "total", "available", "free", "swap_total", "swap_free" } do
        T.is_type(s[k], "integer", "system()." .. k)
    end
    check(s.total > 0, "total > 0")
    check(s.available <= s.total, "available <= total")
    check(s.free <= s.total, "free <= total")
    check(s.swap_free <= s.swap_total, "swap_free <= swap_total")
    -- total agrees with /proc/meminfo
    local f = io.open("/proc/meminfo")
    local kb = f and tonumber(f:read("a"):match("MemTotal:%s*(%d+) kB"))
    if f then f:close() end
    eq(s.total, kb and math.tointeger(kb * 1024), "total is MemTotal in bytes")
    if readable("/proc/pressure/memory") then
        eq(type(s.pressure), "table", "pressure is there when /proc/pressure/memory is readable")
        for _, k in ipairs { "some_avg10", "some_avg60", "full_avg10", "full_avg60" } do
            T.is_type(s.pressure and s.pressure[k], "float", "pressure." .. k)
            check(s.pressure and s.pressure[k] >= 0 and s.pressure[k] <= 100, "pressure." .. k .. " in 0..100")
        end
    else
        eq(s.pressure, nil, "no pressure table without /proc/pressure/memory")
    end
end)

T.test("ledger(pid)", function()
    local rows = mw.ledger(child)
    eq(type(rows), "table")
    check(#rows > 10, "many counters, got " .. #rows)
    local groups, by = {}, {}
    for i, r in ipairs(rows) do
        T.is_type(r.group, "string", "row " .. i .. " group")
        T.is_type(r.name, "string", "row " .. i .. " name")
        T.is_type(r.balance, "integer", "row " .. i .. " balance")
        T.is_type(r.unit, "string", "row " .. i .. " unit")
        eq(r.credit, nil, "credit is nil on Linux (" .. tostring(r.name) .. ")")
        eq(r.debit, nil, "debit is nil on Linux (" .. tostring(r.name) .. ")")
        groups[r.group] = true
        by[r.group .. "/" .. r.name] = r
    end
    check(groups.physmem, "a physmem group")
    check(groups.sched, "a sched group")
    local fp = by["physmem/footprint"]
    check(fp, "a physmem/footprint row")
    eq(fp and fp.unit, "bytes", "footprint unit")
    -- sleep is quiet: its footprint does not move between two reads.
    eq(fp and fp.balance, mw.process(child).footprint, "ledger footprint = record footprint (quiet child)")
    eq(by["sched/user_time"] and by["sched/user_time"].unit, "ns", "user_time in ns")
    check(by["physmem/VmRSS"] and by["physmem/VmRSS"].balance == mw.process(child).resident,
        "physmem/VmRSS equals the record's resident")

    -- Ourselves, read back to back: close, within a small allowance.
    local me = mw.self()
    local mine = mw.ledger(MYPID)
    local myfp
    for _, r in ipairs(mine) do
        if r.group == "physmem" and r.name == "footprint" then myfp = r.balance end
    end
    T.near(myfp, me.footprint, 1024 * 1024, "own ledger footprint vs self().footprint")

    local a, msg, errno = mw.ledger(999999999)
    eq(a, nil, "ledger of a pid that does not exist")
    eq(msg, "pid 999999999: No such process")
    eq(errno, 3)
    raises_exactly(function() mw.ledger("1") end, "bad argument #1 to 'ledger' (integer expected, got string)")
    raises_exactly(function() mw.ledger(2.5) end, "bad argument #1 to 'ledger' (integer expected, got float)")
    raises_exactly(function() mw.ledger() end, "bad argument #1 to 'ledger' (integer expected, got nil)")
end)

T.test("bytes()", function()
    eq(mw.bytes(0), "0B")
    eq(mw.bytes(1), "1B")
    eq(mw.bytes(1023), "1023B")
    eq(mw.bytes(1024), "1K")
    eq(mw.bytes(812 * 1024), "812K")
    eq(mw.bytes(812 * 1024 + 100), "812K")
    eq(mw.bytes(15 * 1024 * 1024), "15.0M")
    eq(mw.bytes(math.floor(3.6 * 1024 * 1024)), "3.6M")
    eq(mw.bytes(math.floor(1.2 * 1024 ^ 3)), "1.2G")
    eq(mw.bytes(1024 ^ 4 // 1), "1.0T")
    eq(mw.bytes(1024 ^ 5 // 1), "1.0P")
    eq(mw.bytes(1024 * 1024 - 1), "1.0M", "just under 1M rounds up to 1.0M, not 1024K")
    eq(mw.bytes(-2048), "-2K")
    eq(mw.bytes(math.mininteger), "-8.0E")
    eq(mw.bytes(2048.0), "2K", "floats are rounded to bytes")
    raises_exactly(function() mw.bytes("1K") end, "bad argument #1 to 'bytes' (number expected, got string)")
    raises_exactly(function() mw.bytes() end, "bad argument #1 to 'bytes' (number expected, got no value)")
    raises_exactly(function() mw.bytes(1 / 0) end, "bad argument #1 to 'bytes' (size out of range)")
    raises_exactly(function() mw.bytes(0 / 0) end, "bad argument #1 to 'bytes' (size out of range)")
end)

T.test("parse_bytes()", function()
    local K, M, G = 1024, 1024 ^ 2 // 1, 1024 ^ 3 // 1
    local cases = {
        { "0", 0 }, { "512", 512 }, { "512B", 512 }, { "1K", K }, { "1k", K }, { "1KB", K }, { "1KiB", K },
        { "2M", 2 * M }, { "1.5G", 3 * G // 2 }, { "1T", 1024 * G }, { "1P", 1024 * 1024 * G },
        { " 3 M ", 3 * M }, { "0.5K", 512 },
    }
    for _, c in ipairs(cases) do
        local v = mw.parse_bytes(c[1])
        eq(v, c[2], "parse_bytes(" .. T.show(c[1]) .. ")")
        T.is_type(v, "integer", "parse_bytes(" .. T.show(c[1]) .. ")")
    end
    eq(mw.parse_bytes(4096), 4096, "a number passes through")
    T.is_type(mw.parse_bytes(4096.0), "integer", "parse_bytes of a float")
    local units = "expected a number with an optional unit B, K, M, G, T or P " ..
        "(binary multiples: 1K = 1024 bytes; KB and KiB mean the same as K)"
    local msg = raises_exactly(function() mw.parse_bytes("1.5Q") end, "invalid size '1.5Q': " .. units)
    for _, u in ipairs { "B", "K", "M", "G", "T", "P" } do
        check(msg and msg:find("%f[%w]" .. u .. "%f[%W]"), "the message names the unit " .. u)
    end
    for _, bad in ipairs { "", "K", "-1K", "1e3", "0x10", "inf", "1..5K", "1 K B", "1BB", "1Kb x", "1Ki" } do
        raises_exactly(function() mw.parse_bytes(bad) end, "invalid size '" .. bad .. "': " .. units)
    end
    raises_exactly(function() mw.parse_bytes("8192P") end, "invalid size '8192P': size too large (the limit is 8191P)")
    raises_exactly(function() mw.parse_bytes({}) end, "bad argument #1 to 'parse_bytes' (string expected, got table)")
    raises_exactly(function() mw.parse_bytes(-1) end, "bad argument #1 to 'parse_bytes' (size must be >= 0)")
end)

T.test("parse_duration()", function()
    local cases = { { "30s", 30 }, { "250ms", 0.25 }, { "2m", 120 }, { "1h", 3600 }, { "1.5", 1.5 }, { "0", 0 },
        { "0.1s", 0.1 } }
    for _, c in ipairs(cases) do
        local v = mw.parse_duration(c[1])
        T.near(v, c[2], 1e-9, "parse_duration(" .. T.show(c[1]) .. ")")
        T.is_type(v, "float", "parse_duration(" .. T.show(c[1]) .. ")")
    end
    eq(mw.parse_duration(2), 2, "a number passes through")
    local units = "expected a number with an optional unit ms, s, m or h (a bare number is seconds)"
    for _, bad in ipairs { "2Q", "1d", "", "s", "-1s", "1 sec", "1S" } do
        raises_exactly(function() mw.parse_duration(bad) end, "invalid duration '" .. bad .. "': " .. units)
    end
    raises_exactly(function() mw.parse_duration(true) end,
        "bad argument #1 to 'parse_duration' (string expected, got boolean)")
    raises_exactly(function() mw.parse_duration(-1) end, "bad argument #1 to 'parse_duration' (duration must be >= 0)")
end)

T.test("now() and sleep()", function()
    local t0 = mw.now()
    T.is_type(t0, "float", "now()")
    local last = t0
    for _ = 1, 1000 do
        local t = mw.now()
        if t < last then check(false, "now() went backwards") end
        last = t
    end
    local a = mw.now()
    eq(mw.sleep(0.05), nil, "sleep returns nothing")
    eq(select("#", mw.sleep(0)), 0, "sleep returns no values")
    local slept = mw.now() - a
    check(slept >= 0.05 and slept < 1.0, "sleep(0.05) slept " .. slept .. " s")
    raises_exactly(function() mw.sleep(-1) end, "bad argument #1 to 'sleep' (duration must be >= 0)")
    raises_exactly(function() mw.sleep("x") end, "bad argument #1 to 'sleep' (number expected, got string)")
    raises_exactly(function() mw.sleep(0 / 0) end, "bad argument #1 to 'sleep' (duration must be >= 0)")
end)

T.test("records: read like tables, stored values kept beside what was read", function()
    local core = require "memwatch.core"
    local json = require "memwatch.json"
    local r = mw.process(child)
    local again = mw.process(child)
    eq(type(r), "userdata", "a record is a userdata")
    check(core.is_record(r) and not core.is_record({}) and not core.is_record(io.stdout), "is_record")
    eq(getmetatable(r).__name, "memwatch.process", "its metatable's name")
    for _, m in ipairs { "__index", "__newindex", "__pairs" } do
        raises(function() getmetatable(r)[m]({}, "pid", 1) end, "memwatch.process expected, got table", true)
        raises(function() getmetatable(r)[m](io.stdout, "pid", 1) end, "memwatch.process expected", true)
    end
    -- what it read, unchanged by later reads of the same process
    local fp = r.footprint
    local _ = mw.processes()
    eq(r.footprint, fp, "a record keeps the values of its read")
    -- what a script stores
    r.note = "mine"
    r[1] = "first"
    eq(r.note, "mine", "a stored key reads back")
    eq(r[1], "first", "an integer key reads back")
    eq(again.note, nil, "stored keys are the record's own")
    r.footprint = 42
    eq(r.footprint, 42, "a stored value wins over the read one")
    eq(peek(r, "footprint"), 42, "peek sees the stored value")
    eq(again.footprint, fp, "the other record keeps its own")
    r.footprint = nil
    eq(r.footprint, fp, "the read value is back once the stored one is removed")
    raises(function() r[nil] = 1 end, "a record's key cannot be nil", true)
    eq(r.no_such_key, nil, "an unknown key is nil")
    -- pairs gives every key it holds, read and stored
    local keys = {}
    for k, v in pairs(r) do keys[k] = v end
    eq(keys.pid, child, "pairs: pid")
    eq(keys.name, "sleep", "pairs: name")
    eq(keys.footprint, fp, "pairs: footprint")
    eq(keys.note, "mine", "pairs: a stored key")
    eq(keys[1], "first", "pairs: a stored integer key")
    eq(keys.pss, nil, "pairs reads nothing lazily")
    -- tostring and JSON
    eq(tostring(again), string.format("process %d (sleep) footprint %s", child, core.bytes(fp)), "tostring")
    local doc = json.decode(json.encode(r))
    eq(doc.pid, child, "JSON: pid")
    eq(doc.name, "sleep", "JSON: name")
    eq(doc.footprint, fp, "JSON: footprint, as read")
    eq(doc.note, "mine", "JSON: what was stored")
    eq(math.type(json.decode(json.encode(mw.process(child, { "start_time" }))).start_time), "float",
        "JSON: start_time in seconds")
    eq(json.encode({ r }):sub(1, 2), "[{", "JSON: a list of records is an array of objects")
    -- peek: no lazy read; tables are read raw
    eq(peek(again, "pss"), nil, "peek does not read pss")
    T.is_type(again.pss, "integer", "indexing reads pss")
    eq(peek({ a = 1 }, "a"), 1, "peek on a table")
    raises(function() peek(1, "a") end, "process record or table expected", true)
    -- what a read tried is kept in the record
    local tried = core.record_attempted(again)
    check(tried & core.sources.smaps ~= 0, "the pss read is remembered")
    core.record_attempt(again, 1 << 29)
    eq(core.record_attempted(again), tried | (1 << 29), "record_attempt adds bits")
end)

T.test("a finalizer that scans while a scan makes its records", function()
    -- Making a scan's records can run finalizers; one that scans must not
    -- touch the records the outer scan is still making.
    local inner = 0
    for _ = 1, 30 do
        for _ = 1, 300 do
            setmetatable({}, { __gc = function() inner = inner + #mw.processes { pid = child } end })
        end
        local recs = mw.processes()
        local seen, bad = {}, 0
        for _, r in ipairs(recs) do
            if math.type(r.pid) ~= "integer" or seen[r.pid] or type(r.name) ~= "string" then bad = bad + 1 end
            seen[r.pid or -1] = true
        end
        eq(bad, 0, "every record whole, each pid once")
        check(seen[MYPID] and seen[child], "our own process and the child are in the scan")
    end
    collectgarbage()
    check(inner > 0, "finalizers scanned meanwhile")
end)

T.test("fields catalogue", function()
    eq(type(mw.fields), "table")
    for _, f in ipairs(SIZE_FIELDS) do eq(mw.fields[f] and mw.fields[f].kind, "bytes", "fields." .. f) end
    eq(mw.fields.pss and mw.fields.pss.kind, "bytes")
    eq(mw.fields.cpu_time and mw.fields.cpu_time.kind, "seconds")
    eq(mw.fields.start_time and mw.fields.start_time.kind, "epoch")
    eq(mw.fields.threads and mw.fields.threads.kind, "count")
end)

T.done()
