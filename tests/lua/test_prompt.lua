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
    eq(lines[#lines], "(1 processes)", "count line")
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

T.done()
