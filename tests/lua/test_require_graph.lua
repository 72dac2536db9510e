-- The bundled modules form one-way layers (issue 10): no module requires,
-- lazily or through package.loaded, one that requires it back, however long
-- the loop. This builds the require graph of scripts/memwatch from the source
-- text and fails naming any cycle.
--
-- An edge A -> B is any of these in A's code (comments are left out, so a
-- usage example in a comment is not an edge):
--   require "B", require("B"), pcall(require, "B")
--   require("P" .. x), pcall(require, "P" .. x): an edge to every module whose
--     name starts with P (memwatch.cli. .. name reaches every subcommand)
--   package.loaded["B"], package.loaded.B
--   any other string literal that is exactly a module's name: a table of
--     names handed to require(t[k]) is a dependency all the same
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq, check = T.eq, T.check

local source = os.getenv("MW_SOURCE_DIR") or ((arg[0]:match("^(.*)/") or ".") .. "/../..")
local root = source .. "/scripts"

-- module name -> file, as src/app/embed.cmake names them: memwatch/cli/ps.lua
-- is memwatch.cli.ps, memwatch/record/init.lua is memwatch.record.
local function modules()
    local list = {}
    local p = assert(io.popen("cd '" .. root .. "' && find memwatch -name '*.lua' | sort"))
    for rel in p:lines() do
        local name = rel:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
        list[name] = root .. "/" .. rel
    end
    p:close()
    return list
end

-- The code of a chunk with its comments blanked out; strings are kept.
local function code_only(src)
    local out, i, n = {}, 1, #src
    while i <= n do
        local c = src:sub(i, i)
        if src:sub(i, i + 1) == "--" then
            local eqs = src:match("^%[(=*)%[", i + 2)
            local stop
            if eqs then
                stop = select(2, src:find("]" .. eqs .. "]", i, true)) or n
            else
                stop = (src:find("\n", i, true) or n + 1) - 1
            end
            out[#out + 1] = " "
            i = stop + 1
        elseif c == '"' or c == "'" then
            local j = i + 1
            while j <= n do
                local d = src:sub(j, j)
                if d == "\\" then
                    j = j + 2
                elseif d == c or d == "\n" then
                    break
                else
                    j = j + 1
                end
            end
            out[#out + 1] = src:sub(i, j)
            i = j + 1
        elseif c == "[" and src:match("^%[=*%[", i) then
            local eqs = src:match("^%[(=*)%[", i)
            local stop = select(2, src:find("]" .. eqs .. "]", i, true)) or n
            out[#out + 1] = src:sub(i, stop)
            i = stop + 1
        else
            out[#out + 1] = c
            i = i + 1
        end
    end
    return table.concat(out)
end

local function edges_of(name, code, all)
    local to = {}
    local function add(target)
        if all[target] and target ~= name then to[target] = true end
    end
    local function add_prefix(prefix)
        for m in pairs(all) do
            if m:sub(1, #prefix) == prefix and m ~= name then to[m] = true end
        end
    end
    for _, target in code:gmatch("require%s*%(?%s*([\"'])(.-)%1") do add(target) end
    for _, target in code:gmatch("pcall%s*%(%s*require%s*,%s*([\"'])(.-)%1") do add(target) end
    for _, prefix in code:gmatch("require%s*%(%s*([\"'])(.-)%1%s*%.%.") do add_prefix(prefix) end
    for _, prefix in code:gmatch("pcall%s*%(%s*require%s*,%s*([\"'])(.-)%1%s*%.%.") do add_prefix(prefix) end
    for _, target in code:gmatch("package%.loaded%s*%[%s*([\"'])(.-)%1") do add(target) end
    for field in code:gmatch("package%.loaded%.([%w_]+)") do add(field) end
    for _, target in code:gmatch("([\"'])(memwatch[%w_.]*)%1") do add(target) end
    return to
end

local function graph()
    local all = modules()
    local g, nmods, nedges = {}, 0, 0
    for name, path in pairs(all) do
        local f = assert(io.open(path, "rb"))
        local code = code_only(f:read("a"))
        f:close()
        g[name] = edges_of(name, code, all)
        nmods = nmods + 1
        for _ in pairs(g[name]) do nedges = nedges + 1 end
    end
    return g, nmods, nedges
end

-- The first cycle found by a depth-first walk, as "a -> b -> ... -> a".
local function find_cycle(g)
    local state, stack = {}, {}
    local names = {}
    for n in pairs(g) do names[#names + 1] = n end
    table.sort(names)
    local function visit(n)
        state[n] = "open"
        stack[#stack + 1] = n
        local next_ = {}
        for m in pairs(g[n]) do next_[#next_ + 1] = m end
        table.sort(next_)
        for _, m in ipairs(next_) do
            if state[m] == "open" then
                local path = {}
                for i = #stack, 1, -1 do
                    table.insert(path, 1, stack[i])
                    if stack[i] == m then break end
                end
                path[#path + 1] = m
                return table.concat(path, " -> ")
            elseif not state[m] then
                local c = visit(m)
                if c then return c end
            end
        end
        stack[#stack] = nil
        state[n] = "done"
        return nil
    end
    for _, n in ipairs(names) do
        if not state[n] then
            local c = visit(n)
            if c then return c end
        end
    end
    return nil
end

T.test("the reader of the source text finds every kind of edge", function()
    local all = { a = true, b = true, c = true, ["p.x"] = true, ["p.y"] = true, d = true, e = true, f = true }
    local code = code_only([[
local b = require "b"
-- require "f" in a comment is no edge
--[==[ nor require("f") in a long one ]==]
local function lazy() return require("c").x, package.loaded["d"], package.loaded.e end
local ok = pcall(require, "p." .. name)
]])
    local to = edges_of("a", code, all)
    for _, m in ipairs { "b", "c", "d", "e", "p.x", "p.y" } do check(to[m], "an edge a -> " .. m) end
    check(not to.f, "no edge from a comment")
    check(find_cycle { a = { b = true }, b = { c = true }, c = { a = true } } == "a -> b -> c -> a",
        "a three-module cycle is named")
    eq(find_cycle { a = { b = true }, b = { c = true }, c = {} }, nil, "no cycle in a chain")
end)

T.test("scripts/memwatch has no require cycle", function()
    local g, nmods, nedges = graph()
    -- A reader that found nothing would pass trivially: there are over 30
    -- modules and well over 60 edges among them.
    check(nmods >= 30, string.format("at least 30 modules found under %s, got %d", root, nmods))
    check(nedges >= 60, string.format("at least 60 require edges found, got %d", nedges))
    check(g["memwatch"] and g["memwatch.cli.top"] and g["memwatch.cli.top"]["memwatch"],
        "memwatch.cli.top -> memwatch is an edge")
    local cycle = find_cycle(g)
    eq(cycle, nil, "a require cycle")
end)

T.done()
