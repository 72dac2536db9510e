-- memwatch.format and memwatch.metrics (issue 6 "Formats", issue 7 hostile
-- input): every format on a fixture set of records with hostile names, the
-- writer interface and its errors, and the metrics API.
--
--   memwatch test_format.lua                 run the checks
--   memwatch test_format.lua --dump DIR      write the fixture set in every
--                                            format to DIR/fixture.FORMAT (used by
--                                            tests/cli/test_format.sh: python3 csv,
--                                            json, promtool, line-protocol checks)
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local format = require "memwatch.format"
local metrics = require "memwatch.metrics"
local json = require "memwatch.json"
local group = require "memwatch.group"

local ESC = "\27"
-- Hostile names: an escape sequence, a newline, invalid UTF-8, CSV and
-- Prometheus specials, Influx specials, a trailing backslash, C1 control.
local NAMES = {
    plain = "sshd",
    esc = ESC .. "[31mred" .. ESC .. "[0m",
    newline = "two\nlines\r",
    badutf8 = "bad\xff\xfeutf",
    csv = 'a,b"c',
    prom = 'q"uo\\te',
    influx = "sp ace,co=eq",
    backslash = "ends\\",
    c1 = "c1\u{85}x",
    utf8 = "caf\u{e9}\u{1F600}",
}

local function fixtures()
    local recs, pid = {}, 100
    local order = { "plain", "esc", "newline", "badutf8", "csv", "prom", "influx", "backslash", "c1", "utf8" }
    for i, k in ipairs(order) do
        pid = pid + 1
        recs[i] = { pid = pid, ppid = 1, uid = 1000, user = "alice", name = NAMES[k], state = "S",
            footprint = 5242880 + i, resident = 15728640 + i, swap = 0, virtual = 1 << 40, resident_peak = 16777216,
            threads = 1, cpu_time = 1.25, start_time = 1700000000.5 }
    end
    -- A kernel-thread-like record without memory fields, and a denied one.
    recs[#recs + 1] = { pid = 2, ppid = 0, uid = 0, user = "root", name = "kthreadd", state = "S",
        kernel_thread = true }
    recs[#recs + 1] = { pid = 3, ppid = 1, uid = 0, user = "root", name = "secret", state = "S", resident = 4096,
        footprint = 4096, denied = { pss = true } }
    -- A size beyond 2^53 stays exact.
    recs[#recs + 1] = { pid = 4, ppid = 1, uid = 0, user = "root", name = "big", state = "R",
        footprint = 9007199254740993, resident = 1, virtual = 9223372036854775807 }
    return recs
end

-- ---- --dump DIR: the fixture set in every format, for the CLI checks -------------------
if arg[1] == "--dump" then
    local dir = assert(arg[2], "--dump needs a directory")
    local recs = fixtures()
    for _, name in ipairs(format.NAMES) do
        local f = assert(io.open(dir .. "/fixture." .. name, "wb"))
        format.write(f, name, recs, { time = 1700000000.25 })
        f:close()
    end
    local groups = group.group(recs, "user")
    for _, name in ipairs(format.NAMES) do
        local f = assert(io.open(dir .. "/groups." .. name, "wb"))
        format.write(f, name, groups, { grouping = "user", time = 1700000000.25 })
        f:close()
    end
    -- prometheus with a script's metrics whose labels are hostile too
    metrics.reset()
    local g = metrics.gauge("fixture_rule_value", "A rule's value\nwith a newline and a \\ backslash.", { "rule" })
    for k, v in pairs(NAMES) do g:set({ rule = v }, #k) end
    metrics.counter("fixture_alerts_total", "Alerts fired."):inc()
    local f = assert(io.open(dir .. "/metrics.prometheus", "wb"))
    format.write(f, "prometheus", recs, { families = metrics.families() })
    f:close()
    os.exit(0)
end

local function lines(s)
    local out = {}
    for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
    return out
end

local function find_line(s, pattern)
    for _, l in ipairs(lines(s)) do
        if l:find(pattern, 1, true) then return l end
    end
end

-- ---- the interface -----------------------------------------------------------------

T.test("names and get", function()
    eq(table.concat(format.names(), ","), "table,csv,json,prometheus,influx")
    for _, n in ipairs(format.NAMES) do
        local mod = format.get(n)
        check(type(mod) == "table" and type(mod.new) == "function", n .. " is a format module")
        check(type(mod.description) == "string", n .. " has a description")
    end
    local m, err = format.get("xml")
    eq(m, nil)
    eq(err, "unknown format 'xml' (expected table, csv, json, prometheus, influx)")
end)

T.test("writer errors", function()
    raises_exactly(function() format.new("xml") end,
        "format: unknown format 'xml' (expected table, csv, json, prometheus, influx)")
    raises_exactly(function() format.render("csv", {}, { colour = true }) end,
        "format: unknown option 'colour' (expected families, fields, grouping, printable, time)")
    raises_exactly(function() format.render("csv", {}, "x") end, "format: options must be a table, got string")
    raises_exactly(function() format.render("csv", {}, { fields = {} }) end,
        "format: option 'fields' must be a non-empty list of field names")
    raises_exactly(function() format.render("csv", {}, { fields = { "pid", 3 } }) end,
        "format: fields[2] must be a field name, got number")
    raises_exactly(function() format.render("csv", {}, { fields = { "pid", "colour" } }) end,
        "format csv: unknown field 'colour'")
    raises_exactly(function() format.render("table", {}, { fields = { "pid" }, grouping = "app" }) end,
        "format table: unknown group field 'pid'")
    raises_exactly(function() format.render("influx", {}, { time = "now" }) end,
        "format: option 'time' must be epoch seconds, got string")
    raises_exactly(function() format.render("csv", "rows") end, "format: rows must be a list, got string")
    raises_exactly(function() format.render("csv", { 1 }) end,
        "format csv: a row must be a record or a group, got number")
    local w = format.new("csv")
    raises_exactly(function() w:record({}) end, "format csv: record before begin or after finish")
    raises_exactly(function() w:finish() end, "format csv: finish before begin or twice")
    raises_exactly(function() w:begin(42) end, "format: output must be a file or a function, got number")
    w = format.new("csv")
    w:begin(function() end)
    raises_exactly(function() w:begin(function() end) end, "format csv: begin called twice")
    w:finish()
    raises_exactly(function() w:finish() end, "format csv: finish before begin or twice")
end)

T.test("streaming writer to a function and to a file", function()
    local parts = {}
    local w = format.new("json", { fields = { "pid", "name" } })
    w:begin(function(s) parts[#parts + 1] = s end)
    w:record({ pid = 1, name = "a" })
    eq(#parts, 1, "json writes each line as it comes")
    w:record({ pid = 2, name = "b" })
    w:finish()
    eq(table.concat(parts), '{"name":"a","pid":1}\n{"name":"b","pid":2}\n')
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    format.write(f, "csv", { { pid = 1, name = "x" } }, { fields = { "pid", "name" } })
    f:close()
    f = assert(io.open(path, "rb"))
    eq(f:read("a"), "pid,name\r\n1,x\r\n")
    f:close()
    os.remove(path)
end)

T.test("register a format", function()
    format.register("names", {
        new = function(_, emit)
            return { record = function(_, r) emit(r.name .. ";") end, finish = function() emit("\n") end }
        end,
    })
    eq(format.render("names", { { name = "a" }, { name = "b" } }), "a;b;\n")
    eq(table.concat(format.names(), ","), "table,csv,json,prometheus,influx,names")
    raises_exactly(function() format.register("bad name", {}) end, "format.register: name must be a word, got bad name")
    raises_exactly(function() format.register("x", {}) end,
        "format.register: the format must be a table with a new(opts, emit) function")
end)

-- ---- table ---------------------------------------------------------------------------

T.test("table: ps layout, units, no control characters", function()
    local out = format.render("table", fixtures())
    local ls = lines(out)
    eq(ls[1], "  PID  COMMAND             REAL MEMORY  MEMORY")
    eq(ls[2], "  101  sshd                      15.0M    5.0M")
    check(not out:find("[%z\1-\9\11-\31\127]"), "no control byte but newline in the table")
    check(not out:find("\xc2[\x80-\x9f]"), "no C1 control in the table")
    eq(#ls, #fixtures() + 1, "one line per record: a newline in a name does not add lines")
    check(find_line(out, "\\x1b[31mred\\x1b[0m") ~= nil, "ESC shown as \\x1b")
    check(find_line(out, "two\\nlines\\r") ~= nil, "newline shown as \\n")
    check(find_line(out, "bad\\xff\\xfeutf") ~= nil, "invalid UTF-8 shown as \\xff")
    check(find_line(out, "c1\\u{85}x") ~= nil, "C1 control shown as \\u{85}")
    check(find_line(out, "caf\u{e9}\u{1F600}") ~= nil, "valid UTF-8 kept")
    eq(find_line(out, "kthreadd"), "    2  kthreadd                      -       -")
    eq(find_line(out, " big "), "    4  big                          1B    8.0P")
    -- every line has the same width up to the last column (right-aligned)
    local w
    for i, l in ipairs(ls) do
        local n = utf8.len(l)
        if i == 1 then w = n else eq(n, w, "line " .. i .. " width") end
    end
end)

T.test("table: fields, denied, groups", function()
    local out = format.render("table", fixtures(), { fields = { "pid", "pss", "cpu_time", "start_time" } })
    eq(lines(out)[1], "  PID     PSS  CPU TIME            START TIME")
    eq(find_line(out, "    3"), "    3  denied         -                     -")
    eq(find_line(out, "  101"), "  101       -      1.25  2023-11-14T22:13:20Z")
    local groups = group.group(fixtures(), "user")
    out = format.render("table", groups, { grouping = "user" })
    eq(out, "GROUP  PROCS  REAL MEMORY  MEMORY\n" ..
        "alice     10       150.0M   50.0M\n" ..
        "root       3           4K    8.0P\n")
end)

-- ---- csv ------------------------------------------------------------------------------

T.test("csv: RFC 4180", function()
    local out = format.render("csv", fixtures())
    eq(out:sub(1, 50), "pid,ppid,user,name,resident,footprint,swap,state\r\n")
    check(find_line(out, "101,1,alice,sshd,15728641,5242881,0,S\r") ~= nil, "plain row")
    check(out:find('105,1,alice,"a,b""c",15728645,5242885,0,S\r\n', 1, true) ~= nil, "comma and quote quoted")
    check(out:find('103,1,alice,"two\nlines\r",', 1, true) ~= nil, "newline and CR quoted, bytes kept")
    check(out:find("104,1,alice,bad\xff\xfeutf,", 1, true) ~= nil, "bytes kept when not printable")
    check(out:find("2,0,root,kthreadd,,,,S\r\n", 1, true) ~= nil, "missing values are empty fields")
    check(out:find("4,1,root,big,1,9007199254740993,,R\r\n", 1, true) ~= nil, "exact integers")
    -- printable (a terminal): names escaped, still valid CSV
    out = format.render("csv", fixtures(), { printable = true })
    check(out:find("102,1,alice,\\x1b[31mred\\x1b[0m,", 1, true) ~= nil, "ESC escaped when printable")
    check(not out:find(ESC, 1, true), "no raw ESC when printable")
    local g = format.render("csv", group.group(fixtures(), "user"), { grouping = "user" })
    eq(g, "grouping,group,count,footprint,resident,swap,pss\r\n" ..
        "user,alice,10,52428855,157286455,0,\r\n" ..
        "user,root,3,9007199254745089,4097,,\r\n")
end)

-- ---- json ------------------------------------------------------------------------------

T.test("json lines", function()
    local out = format.render("json", fixtures())
    local ls = lines(out)
    eq(#ls, #fixtures(), "one line per record")
    for i, l in ipairs(ls) do
        local v, err = json.decode(l)
        check(type(v) == "table", "line " .. i .. " decodes: " .. tostring(err))
    end
    eq(json.decode(ls[2]).name, ESC .. "[31mred" .. ESC .. "[0m", "control characters round-trip")
    check(ls[2]:lower():find("\\u001b", 1, true) ~= nil, "ESC escaped as \\u001b")
    check(not out:find(ESC, 1, true), "no raw ESC")
    eq(json.decode(ls[4]).name, "bad\u{FFFD}\u{FFFD}utf", "invalid bytes become U+FFFD")
    eq(json.decode(ls[3]).name, "two\nlines\r")
    eq(json.decode(ls[13]).footprint, 9007199254740993, "exact beyond 2^53")
    eq(json.decode(ls[13]).virtual, 9223372036854775807, "exact at 2^63-1")
    eq(json.decode(ls[12]).denied.pss, true, "denied kept")
    eq(format.render("json", { { pid = 1, name = "x", footprint = 2 } }, { fields = { "pid", "footprint" } }),
        '{"footprint":2,"pid":1}\n')
    eq(format.render("json", group.group({ { pid = 1, name = "x", user = "u", footprint = 2 } }, "user"),
        { grouping = "user" }), '{"count":1,"footprint":2,"group":"u","grouping":"user","key":"user:u"}\n')
end)

-- ---- prometheus ----------------------------------------------------------------------

T.test("prometheus: families, names, escaping", function()
    local out = format.render("prometheus", fixtures())
    local ls = lines(out)
    eq(ls[1], "# HELP process_memory_footprint_bytes Memory footprint: the process's own memory in RAM, " ..
        "compressed or swapped (macOS phys_footprint, Activity Monitor's Memory; Linux RssAnon + RssShmem + " ..
        "VmSwap + VmPTE).")
    eq(ls[2], "# TYPE process_memory_footprint_bytes gauge")
    eq(ls[3], 'process_memory_footprint_bytes{name="sshd",pid="101",user="alice"} 5242881')
    check(find_line(out, 'process_memory_footprint_bytes{name="two\\nlines\r",pid="103",user="alice"} 5242883'),
        "newline escaped as \\n")
    check(find_line(out, 'process_memory_footprint_bytes{name="q\\"uo\\\\te",pid="106",user="alice"} 5242886'),
        "quote and backslash escaped")
    check(find_line(out, 'process_memory_footprint_bytes{name="ends\\\\",pid="108",user="alice"} 5242888'),
        "trailing backslash escaped")
    check(find_line(out, 'process_memory_footprint_bytes{name="bad\u{FFFD}\u{FFFD}utf",pid="104",user="alice"}'),
        "invalid UTF-8 replaced")
    check(find_line(out, 'process_memory_footprint_bytes{name="big",pid="4",user="root"} 9007199254740993'),
        "exact integer")
    check(utf8.len(out) ~= nil, "the whole exposition is valid UTF-8")
    for _, fam in ipairs { "process_memory_usage_bytes", "process_memory_virtual_bytes", "process_memory_swap_bytes",
        "process_memory_resident_peak_bytes" } do
        check(find_line(out, "# TYPE " .. fam .. " gauge"), fam .. " present")
    end
    check(not find_line(out, "process_memory_pss_bytes"), "no pss family without pss values")
    check(not find_line(out, "footprint_peak"), "no footprint_peak family without values (Linux)")
    check(not find_line(out, 'pid="2"'), "a record without memory values gives no sample")
    -- HELP and TYPE once per family, all samples of a family together
    local seen, current = {}, nil
    for _, l in ipairs(ls) do
        local name = l:match("^# TYPE (%S+)")
        if name then
            check(not seen[name], name .. " TYPE once")
            seen[name], current = true, name
        elseif not l:match("^#") then
            eq(l:match("^([%w_]+)"), current, "sample under its family")
        end
    end
    -- printable: ESC escaped for a terminal
    out = format.render("prometheus", fixtures(), { printable = true })
    check(not out:find(ESC, 1, true), "no raw ESC when printable")
end)

T.test("prometheus: pss and peaks when present; groups; extra families", function()
    local out = format.render("prometheus", { { pid = 9, name = "x", user = "u", pss = 100, footprint_peak = 200 } })
    eq(out, "# HELP process_memory_pss_bytes Proportional set size (Linux smaps_rollup Pss), only for processes " ..
        "whose smaps_rollup is readable.\n# TYPE process_memory_pss_bytes gauge\n" ..
        'process_memory_pss_bytes{name="x",pid="9",user="u"} 100\n' ..
        "# HELP process_memory_footprint_peak_bytes Lifetime peak of the memory footprint (macOS " ..
        "ri_lifetime_max_phys_footprint).\n# TYPE process_memory_footprint_peak_bytes gauge\n" ..
        'process_memory_footprint_peak_bytes{name="x",pid="9",user="u"} 200\n')
    local g = format.render("prometheus", group.group(fixtures(), "user"), { grouping = "user" })
    check(find_line(g, 'memwatch_group_memory_footprint_bytes{group="alice",grouping="user"} 52428855'), "group sum")
    check(find_line(g, 'memwatch_group_processes{group="root",grouping="user"} 3'), "process count")
    check(find_line(g, "# TYPE memwatch_group_memory_usage_bytes gauge"), "group resident")
    check(not find_line(g, "process_memory_"), "no per-process series with a grouping")
    local fams = { { name = "x_seconds", help = "a\\b\nc", type = "gauge",
        samples = { { labels = {}, value = 0.5 }, { labels = { a = "1" }, value = 0 / 0 },
            { labels = { a = "2" }, value = math.huge }, { labels = { a = "2" }, value = 7 } } } }
    eq(format.render("prometheus", {}, { families = fams }),
        "# HELP x_seconds a\\\\b\\nc\n# TYPE x_seconds gauge\nx_seconds 0.5\nx_seconds{a=\"1\"} NaN\n" ..
        "x_seconds{a=\"2\"} +Inf\n", "escaped HELP, NaN, +Inf, a duplicate label set dropped")
end)

-- ---- influx ----------------------------------------------------------------------------

T.test("influx line protocol", function()
    local out = format.render("influx", fixtures(), { time = 1700000000.25 })
    local ls = lines(out)
    eq(ls[1], "process_memory,name=sshd,pid=101,user=alice footprint=5242881i,resident=15728641i," ..
        "virtual=1099511627776i," ..
        "swap=0i,resident_peak=16777216i 1700000000250000000")
    eq(#ls, #fixtures() - 1, "one line per record with a value (kthreadd has none)")
    check(find_line(out, "process_memory,name=sp\\ ace\\,co\\=eq,pid=107,user=alice "), "space, comma, equals escaped")
    check(find_line(out, "process_memory,name=two\\nlines\\r,pid=103,"), "newline made printable: no line break")
    check(find_line(out, "process_memory,name=ends\\\\,pid=108,"), "a trailing backslash is doubled, never escapes")
    check(find_line(out, "process_memory,name=\\x1b[31mred\\x1b[0m,pid=102,"), "ESC made printable")
    check(find_line(out, "process_memory,name=bad\\xff\\xfeutf,pid=104,"), "invalid UTF-8 made printable")
    check(find_line(out, "footprint=9007199254740993i,resident=1i,virtual=9223372036854775807i 1700000000250000000"),
        "exact integers with i")
    check(not out:find(ESC, 1, true), "no raw ESC")
    eq(format.render("influx", { { pid = 5, name = "", resident = 1 } }, { time = 1 }),
        "process_memory,pid=5 resident=1i 1000000000\n", "an empty tag is left out")
    eq(format.render("influx", group.group(fixtures(), "user"), { grouping = "user", time = 2.5 }),
        "memwatch_group_memory,group=alice,grouping=user count=10i,footprint=52428855i,resident=157286455i,swap=0i " ..
        "2500000000\n" ..
        "memwatch_group_memory,group=root,grouping=user count=3i,footprint=9007199254745089i,resident=4097i " ..
        "2500000000\n")
    local ns = require("memwatch.format.influx").ns
    eq(ns(1700000000.999999999), 1700000001000000000, "rounding carries into seconds")
    eq(ns(0), 0)
end)

-- ---- metrics ---------------------------------------------------------------------------

T.test("metrics: gauge and counter", function()
    metrics.reset()
    local g = metrics.gauge("rules_leaking", "Processes flagged.", { "rule" })
    g:set({ rule = "chrome" }, 3)
    g:set({ rule = "chrome" }, 4)
    g:set({ rule = "slack" }, 1.5)
    eq(g:get({ rule = "chrome" }), 4)
    eq(metrics.gauge("rules_leaking", "Processes flagged.", { "rule" }), g, "same name and type: the same metric")
    local c = metrics.counter("rules_alerts_total", "Alerts.")
    c:inc()
    c:inc(nil, 2)
    eq(c:get(), 3)
    local out = format.render("prometheus", {}, { families = metrics.families() })
    eq(out, "# HELP rules_leaking Processes flagged.\n# TYPE rules_leaking gauge\n" ..
        'rules_leaking{rule="chrome"} 4\nrules_leaking{rule="slack"} 1.5\n' ..
        "# HELP rules_alerts_total Alerts.\n# TYPE rules_alerts_total counter\nrules_alerts_total 3\n")
    g:remove({ rule = "chrome" })
    eq(g:get({ rule = "chrome" }), nil)
    eq(#metrics.families()[1].samples, 1)
    g:clear()
    eq(#metrics.families()[1].samples, 0)
    local seen
    metrics.on_collect(function(recs) seen = #recs; g:set({ rule = "n" }, #recs) end)
    metrics.on_collect(function() error("boom") end)
    local errs = {}
    local fams = metrics.collect({ 1, 2, 3 }, function(m) errs[#errs + 1] = m end)
    eq(seen, 3, "collector got the records")
    eq(fams[1].samples[1].value, 3)
    eq(#errs, 1, "a failing collector is reported, the others run")
    check(errs[1] and errs[1]:find("boom", 1, true) ~= nil, "its message")
    metrics.unregister("rules_leaking")
    eq(metrics.get("rules_leaking"), nil)
    metrics.reset()
end)

T.test("metrics: errors", function()
    metrics.reset()
    raises_exactly(function() metrics.gauge("1bad", "x") end,
        "memwatch.metrics.gauge: invalid metric name '1bad' (expected [a-zA-Z_:][a-zA-Z0-9_:]*)")
    raises_exactly(function() metrics.gauge("process_memory_x_bytes", "x") end,
        "memwatch.metrics.gauge: metric names starting with process_memory_ are memwatch's own")
    raises_exactly(function() metrics.gauge("memwatch_x", "x") end,
        "memwatch.metrics.gauge: metric names starting with memwatch_ are memwatch's own")
    raises_exactly(function() metrics.counter("alerts", "x") end,
        "memwatch.metrics.counter: a counter's name must end in _total, got 'alerts'")
    raises_exactly(function() metrics.gauge("x", "") end,
        "memwatch.metrics.gauge: x needs a help text (a non-empty string)")
    raises_exactly(function() metrics.gauge("x", "h", { "__a" }) end,
        "memwatch.metrics.gauge: invalid label name '__a' (expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
    raises_exactly(function() metrics.gauge("x", "h", { "a", "a" }) end,
        "memwatch.metrics.gauge: label 'a' given twice")
    local g = metrics.gauge("x", "h", { "a" })
    metrics.counter("x_total", "h")
    raises_exactly(function() metrics.gauge("x_total", "h") end,
        "memwatch.metrics.gauge: x_total is already defined as a counter")
    raises_exactly(function() g:set({ a = "1" }, "3") end, "x:set: value must be a number, got string")
    raises_exactly(function() g:set({ b = "1" }, 3) end, "x:set: label 'b' is not one of x's labels (a)")
    raises_exactly(function() g:set({}, 3) end, "x:set: label 'a' is missing")
    raises_exactly(function() g:set({ a = {} }, 3) end, "x:set: label 'a' must be a string or a number, got table")
    raises_exactly(function() g:set("a", 3) end, "x:set: labels must be a table, got string")
    local c = metrics.counter("c_total", "h")
    raises_exactly(function() c:set(nil, 1) end, "c_total:set: c_total is a counter; use inc")
    raises_exactly(function() c:inc(nil, -1) end, "c_total:inc: a counter cannot go down (got -1)")
    raises_exactly(function() metrics.on_collect(1) end, "memwatch.metrics.on_collect: expected a function, got number")
    -- the error points at the caller's line
    local ok, err = pcall(function() g:set({ a = "1" }, "3") end)
    check(not ok and err:find("test_format.lua:%d+: x:set") ~= nil, "error blames the caller: " .. tostring(err))
    -- the series cap
    local old = metrics.MAX_SERIES
    metrics.MAX_SERIES = 3
    local h = metrics.gauge("capped", "h", { "i" })
    for i = 1, 3 do h:set({ i = i }, i) end
    raises_exactly(function() h:set({ i = 4 }, 4) end,
        "capped:set: capped already has 3 series (the limit); remove some or use fewer label values")
    metrics.MAX_SERIES = old
    metrics.reset()
end)

T.done()
