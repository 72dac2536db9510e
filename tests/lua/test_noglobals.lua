-- "require 'memwatch' adds no globals" (issue 2), checked inside the
-- executable: the bundled modules define nothing global when required, and
-- the only global the executable itself adds to a stock state is `memwatch`.
-- (tests/cli/test_stock_lua.sh checks the same from a stock lua5.4.)
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq, check = T.eq, T.check

local function snapshot()
    local keys = {}
    for k in pairs(_G) do keys[k] = true end
    return keys
end

local function added(before)
    local list = {}
    for k in pairs(_G) do
        if not before[k] then list[#list + 1] = tostring(k) end
    end
    table.sort(list)
    return table.concat(list, ", ")
end

T.test("the executable's globals: the standard library plus memwatch", function()
    local std = {
        "_G", "_VERSION", "arg", "assert", "collectgarbage", "coroutine", "debug", "dofile", "error",
        "getmetatable", "io", "ipairs", "load", "loadfile", "math", "next", "os", "package", "pairs", "pcall",
        "print", "rawequal", "rawget", "rawlen", "rawset", "require", "select", "setmetatable", "string",
        "table", "tonumber", "tostring", "type", "utf8", "warn", "xpcall", "memwatch",
    }
    local allowed = {}
    for _, k in ipairs(std) do allowed[k] = true end
    local extra = {}
    for k in pairs(_G) do
        if not allowed[k] then extra[#extra + 1] = tostring(k) end
    end
    table.sort(extra)
    eq(table.concat(extra, ", "), "", "globals beyond the standard library and memwatch")
    eq(type(memwatch), "table", "memwatch is a global")
end)

-- Every bundled module, required fresh: no globals. The subcommand modules
-- (memwatch.cli.*) are included; requiring one must not run it.
local bundled = { "memwatch.core", "memwatch.select", "memwatch.text", "memwatch.options" }
local cli = {}
for name in pairs(package.preload) do
    if name:match("^memwatch%.cli%.") then cli[#cli + 1] = name end
end
table.sort(cli)

T.test("bundled modules are preloaded", function()
    for _, name in ipairs { "memwatch", "memwatch.select", "memwatch.text", "memwatch.options",
        "memwatch.cli.ps", "memwatch.cli.ledger", "memwatch.cli.watch" } do
        eq(type(package.preload[name]), "function", "package.preload['" .. name .. "']")
    end
    check(#cli >= 3, "at least the ps, ledger and watch subcommands")
end)

T.test("requiring a bundled module adds no globals", function()
    for _, name in ipairs(bundled) do
        local before = snapshot()
        local mod = require(name)
        eq(type(mod), "table", name .. " returns a table")
        eq(added(before), "", "globals added by require '" .. name .. "'")
    end
    for _, name in ipairs(cli) do
        local before = snapshot()
        local ok, mod = pcall(require, name)
        check(ok, "require '" .. name .. "': " .. tostring(mod))
        check(type(mod) == "table" or type(mod) == "function", name .. " returns a command")
        eq(added(before), "", "globals added by require '" .. name .. "'")
    end
end)

T.test("loading memwatch afresh adds no globals", function()
    -- Reload the facade from its preload loader into a fresh table.
    local original = package.loaded.memwatch
    local before = snapshot()
    package.loaded.memwatch = nil
    local ok, fresh = pcall(require, "memwatch")
    package.loaded.memwatch = original
    check(ok, "require 'memwatch' again: " .. tostring(fresh))
    eq(added(before), "", "globals added by a fresh require 'memwatch'")
    check(ok and fresh ~= original and type(fresh.processes) == "function", "a fresh module table")
    check(rawequal(memwatch, original), "the global memwatch is untouched")
end)

T.test("scripts in the executable cannot load code from the working directory", function()
    -- The working directory is tests/lua, which holds testlib.lua.
    local f = io.open("testlib.lua")
    if not f then
        T.skip("relative paths", "not run from tests/lua")
        return
    end
    f:close()
    local ok, err = pcall(require, "testlib")
    eq(ok, false, "require 'testlib' from the working directory")
    check(not package.path:find("%./%?") and not package.cpath:find("%./%?"),
        "no ./? entries in package.path/cpath")
    local _ = err
end)

T.done()
