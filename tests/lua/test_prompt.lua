-- The prompt's helpers: the pretty-printer, tab completion and help(), which
-- reads the README's "Lua API" section compiled into the executable.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq, check = T.eq, T.check

local pretty = require "memwatch.pretty"
local complete = require "memwatch.complete"

T.test("a record prints as aligned fields with human sizes", function()
    local p = memwatch.self()
    local out = pretty.format(p)
    check(out:find("^process " .. p.pid .. " %(memwatch%)\n"), "title line: " .. out:sub(1, 60))
    local fp = out:match("\n  footprint +([^\n]+)")
    eq(fp, string.format("%s (%d)", memwatch.bytes(p.footprint), p.footprint), "footprint line")
    -- identity fields come first, in a fixed order
    local pid_at, name_at, fp_at = out:find("\n  pid "), out:find("\n  name "), out:find("\n  footprint ")
    check(pid_at < name_at and name_at < fp_at, "pid, then name, then memory")
end)

T.test("a list of records prints as a table", function()
    local out = pretty.format(memwatch.processes { pid = memwatch.self().pid })
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    check(lines[1]:find("^%s*PID%s+COMMAND%s+USER%s+REAL MEMORY%s+MEMORY$"), "header: " .. lines[1])
    check(lines[2]:find("memwatch"), "row names the process")
    eq(lines[#lines], "(1 process)", "count line, singular for one")
    local two = pretty.format(memwatch.processes { pid = { memwatch.self().pid, 1 } })
    check(two:find("\n%(2 processes%)$"), "plural for two: " .. two)
end)

T.test("other tables print nested and bounded", function()
    eq(pretty.format({ 1, 2, x = { y = "s\n" } }), '{\n  1,\n  2,\n  x = {\n    y = "s\\n"\n  }\n}')
    local big = {}
    for i = 1, 100 do big[i] = i end
    local out = pretty.format(big)
    check(out:find("%.%.%. %(60 more%)"), "long tables are cut")
    local cyc = {}
    cyc.self = cyc
    check(pretty.format(cyc):find("<cycle>"), "cycles are shown, not followed")
    local deep = { a = { b = { c = { d = { e = 1 } } } } }
    check(pretty.format(deep):find("{%.%.%.}"), "depth is bounded")
end)

T.test("control characters never reach the terminal raw", function()
    eq(pretty.format("a\27[31mb"), "a\\x1b[31mb")
end)

T.test("the prompt prints a string as its text: lines as lines, controls escaped", function()
    eq(pretty.results_text("two\nlines"), "two\nlines")
    eq(pretty.results_text("tab\there"), "tab\there")
    eq(pretty.results_text("bell\a and \27[2J"), "bell\\x07 and \\x1b[2J")
    eq(pretty.results_text("bad \xff byte"), "bad \\xff byte")
    -- several results: tabs between them, as lua.c prints them
    eq(pretty.results_text(1, "a", nil, true), "1\ta\tnil\ttrue")
    eq(pretty.results_text(), "")
    -- inside a table a string stays a (printable) literal
    eq(pretty.results_text({ "x\ny" }), '{\n  "x\\ny"\n}')
end)

T.test("memwatch.explain at the prompt: the text as lines, the rows in one line", function()
    local pid = memwatch.self().pid
    local text, rows = memwatch.explain(pid)
    eq(type(text), "string", "explain still returns the text")
    eq(type(rows), "table", "and the rows")
    check(#rows >= 6, "one row per counter")
    local out = pretty.results_text(memwatch.explain(pid))
    local lines = {}
    for l in (out .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = l end
    check(lines[1]:find("^pid " .. pid .. " %(memwatch%): footprint [%d.]+[BKMG], resident [%d.]+[BKMG]; " ..
        "footprint = rss_anon %+ rss_shmem %+ swap %+ page_table$"), "first line: " .. lines[1])
    check(lines[2]:find("^  %+ rss_anon +[%d.]+[BKMG]  anonymous memory in RAM"), "a counter line: " .. lines[2])
    check(not out:find("\\n", 1, true), "no escaped newlines")
    eq(lines[#lines], "-- rows: " .. #rows .. " (table)", "the rows summarised in one line")
    eq(#lines, select(2, text:gsub("\n", "")) + 1, "the text's lines, then the summary")
    -- a table after text that is not a list
    eq(pretty.results_text("a\nb", { x = 1 }), "a\nb\n-- table with 1 key")
    -- what the README's prompt example shows for a record in a table row
    eq(pretty.results_text("a\n", 2), "a\n2")
end)

local function list(t) return table.concat(t, " ") end

T.test("completion of globals, memwatch members and record fields", function()
    eq(list(complete.candidates("memwatch.pro")), "memwatch.process memwatch.processes")
    eq(list(complete.candidates("memw")), "memwatch")
    _G.p_for_completion = memwatch.self()
    local f = complete.candidates("x = p_for_completion.foot")
    check(#f >= 1 and f[1] == "p_for_completion.footprint", "record fields complete: " .. tostring(f[1]))
    eq(list(complete.candidates("p_for_completion.ps")), "p_for_completion.pss",
        "lazily read fields are offered too")
    eq(list(complete.candidates("nosuch.thing.")), "", "unknown tables give nothing")
    eq(list(complete.candidates("whi")), "while", "keywords")
    _G.p_for_completion = nil
end)

T.test("completion reaches nested fields: lazily loaded tables, [n], records", function()
    eq(list(complete.candidates("memwatch.actions.ex")), "memwatch.actions.exec",
        "memwatch.actions loads on first use; its keys complete")
    eq(list(complete.candidates("memwatch.format.ren")), "memwatch.format.render")
    eq(list(complete.candidates("memwatch.metrics.ga")), "memwatch.metrics.gauge")
    eq(list(complete.candidates("memwatch.watch.tr")), "memwatch.watch.trend")
    eq(list(complete.candidates("memwatch.unw")), "memwatch.unwatch")
    _G.procs_for_completion = memwatch.processes { pid = memwatch.self().pid }
    local c, n = complete.candidates("x = procs_for_completion[1].footprint_p")
    eq(list(c), "procs_for_completion[1].footprint_peak", "indexing with [n], then a record's fields")
    eq(n, #"procs_for_completion[1].footprint_p", "the length of the word completed")
    c = complete.candidates("procs_for_completion[1].foot")
    check(c[1] == "procs_for_completion[1].footprint" and #c >= 2, "footprint and its peaks: " .. list(c))
    eq(list(complete.candidates("procs_for_completion[ 1 ].ps")), "procs_for_completion[ 1 ].pss",
        "lazily read field names")
    eq(list(complete.candidates("procs_for_completion[2].foot")), "", "no such element: nothing")
    _G.procs_for_completion = nil
    _G.t_for_completion = { inner = { deep = 1, deeper = 2 } }
    eq(list(complete.candidates('t_for_completion["inner"].dee')),
        't_for_completion["inner"].deep t_for_completion["inner"].deeper', "a quoted key")
    _G.t_for_completion = nil
    c, n = complete.candidates("t[memwatch.pro")
    eq(list(c), "memwatch.process memwatch.processes", "inside brackets, the expression there")
    eq(n, #"memwatch.pro")
    -- nothing the user wrote runs while completing
    local called = false
    _G.trap_for_completion = setmetatable({}, { __index = function() called = true end,
        __pairs = function() called = true return next, {}, nil end })
    eq(list(complete.candidates("trap_for_completion.x.")), "")
    eq(list(complete.candidates("trap_for_completion.")), "")
    check(not called, "no metamethod of a user's table was called")
    package.preload["not_memwatch_for_completion"] = function() called = true return { x = 1 } end
    _G.trap_for_completion = setmetatable({}, { __module = "not_memwatch_for_completion" })
    eq(list(complete.candidates("trap_for_completion.")), "")
    check(not called, "only memwatch's own modules are loaded")
    package.preload["not_memwatch_for_completion"] = nil
    _G.trap_for_completion = nil
    -- pairs() walks a lazily loaded table's entries
    local keys = {}
    for k in pairs(memwatch.actions) do keys[#keys + 1] = k end
    check(#keys >= 4, "pairs(memwatch.actions) lists the actions")
end)

T.test("help() reads the README's API section", function()
    local out = {}
    local saved = print
    print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
    local help = require("memwatch.help").help
    local ok, err = pcall(help, "processes")
    local ok2 = pcall(help, memwatch.parse_bytes)
    local ok3 = pcall(help)
    local ok4 = pcall(help, "nosuch")
    print = saved
    check(ok and ok2 and ok3 and ok4, tostring(err))
    local text = table.concat(out, "\n")
    check(text:find("memwatch%.processes%(%[filter %[, fields%]%]%)\n" ..
        "Returns an array of process records from one scan%."),
        "processes entry")
    check(text:find("memwatch%.parse_bytes%(s%): \"1%.5G\""), "bullet entries (parse_bytes)")
    check(text:find("memwatch Lua API"), "the list")
    check(text:find("no documentation for 'nosuch'"), "unknown names say so")
end)

local function help_text(what)
    local out = {}
    local saved = print
    print = function(...) out[#out + 1] = table.concat({ ... }, "\t") end
    local ok, err = pcall(require("memwatch.help").help, what)
    print = saved
    check(ok, tostring(err))
    return table.concat(out, "\n")
end

T.test("help finds every documented name", function()
    eq(help_text("sleep"):match("^[^\n]*"), "memwatch.now(): monotonic seconds. memwatch.sleep(s): sleeps; " ..
        "Ctrl-C interrupts it.", "a name that shares a bullet")
    eq(help_text(memwatch.sleep), help_text("sleep"), "by value too")
    check(help_text("version"):find("memwatch%.version"), "version shares the platform bullet")
    -- every memwatch.NAME the API reference writes in code
    local doc = require "memwatch.apidoc"
    local names, n = {}, 0
    for name in doc:gmatch("`memwatch%.([%a_][%w_]*)") do
        if not names[name] then names[name], n = true, n + 1 end
    end
    check(n >= 20, "the reference names the API: " .. n)
    for name in pairs(names) do
        local t = help_text(name)
        check(not t:find("no documentation", 1, true), "help '" .. name .. "': " .. t:sub(1, 60))
        check(t:find("memwatch." .. name, 1, true), "help '" .. name .. "' shows its entry")
    end
    -- every public entry of the memwatch table is documented
    for k, v in pairs(memwatch) do
        if not k:match("^_") then
            check(names[k], "memwatch." .. k .. " is in the API reference")
            if type(v) ~= "string" then
                check(not help_text(v):find("no documentation", 1, true), "help(memwatch." .. k .. ")")
            end
        end
    end
    -- the actions, each under its own name
    for _, a in ipairs { "log", "exec", "notify", "signal", "syslog", "webhook", "alertmanager" } do
        check(help_text("actions." .. a):find("^" .. a .. "{"), "help 'actions." .. a .. "'")
        eq(help_text(memwatch.actions[a]), help_text("actions." .. a), "help(memwatch.actions." .. a .. ")")
    end
    eq(help_text("memwatch.actions.exec"), help_text("actions.exec"), "with the memwatch. prefix")
    local actions = help_text("actions")
    for _, a in ipairs { "log", "exec", "notify", "signal", "syslog", "webhook", "alertmanager" } do
        check(actions:find("\n- " .. help_text("actions." .. a), 1, true), "help 'actions' still shows " .. a)
    end
    local all = help_text()
    check(all:find("\n  memwatch%.now%(%), memwatch%.sleep%(s%)\n"), "the list names both functions of a bullet")
    check(all:find("\n  memwatch%.actions%.exec{"), "and the actions")
    check(all:find("\n  memwatch%.rules%(%)"), "and memwatch.rules()")
end)

T.done()
