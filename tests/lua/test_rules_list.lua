-- Rules listed and removed (issue 11): memwatch.rules(), memwatch.unwatch(name),
-- a rule typed again at the prompt replacing the old one, and how a rule and
-- the list print. Deterministic: a fake sampler and clock.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local W = require "memwatch.watch"
local core = require "memwatch.core"
local pretty = require "memwatch.pretty"
local MB = 1024 * 1024

-- An engine over one process "app" (pid 10) and "db" (pid 20) whose
-- footprints follow the given lists (MB), one value per tick.
local function engine(app, db)
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local n = 0
    return W.engine {
        clock = clock,
        every = 1,
        sampler = function()
            n = n + 1
            local out = {}
            if app[n] then out[#out + 1] = { pid = 10, ppid = 1, name = "app", uid = 1000, footprint = app[n] * MB } end
            if db[n] then out[#out + 1] = { pid = 20, ppid = 1, name = "db", uid = 1000, footprint = db[n] * MB } end
            return out
        end,
        report = function() end,
        app_key = function() return nil end,
        memory_limit = 0,
    }
end

local function names(list)
    local out = {}
    for i, r in ipairs(list) do out[i] = r.name end
    return table.concat(out, ",")
end

T.test("engine:list(): name, selection, what it watches, state and the firing groups", function()
    local e = engine({ 50, 150, 150 }, { 10, 10, 300 })
    e:watch { name = "app big", select = { name = "app" }, above = "100M" }
    e:watch { name = "db slow", select = { name = "db", user = 1000 }, above = "200M", sustain = 2, every = 5 }
    e:watch { name = "all", group = "name", above = "1G" }
    local l = e:list()
    eq(names(l), "app big,db slow,all")
    eq(l[1].state, "not started")
    eq(l[1].select.name, "app", "a copy of the filter")
    eq(l[3].select and next(l[3].select), nil, "no filter: {}")
    eq(l[1].watches, "alert when footprint of each process (name=app) is above 100.0M")
    eq(l[2].every, 5)
    eq(l[1].every, 1, "the engine's default interval")
    eq(#l[1].firing, 0)
    eq(l[1].groups, 0)
    eq(tostring(l), table.concat({
        "RULE     STATE        WATCHES",
        "app big  not started  alert when footprint of each process (name=app) is above 100.0M",
        "db slow  not started  alert when footprint of each process (name=db user=1000) is above 200.0M for 2 samples",
        "all      not started  alert when footprint of each process name (all processes) is above 1.0G",
        "(3 rules)" }, "\n"))
    l[1].select.name = "changed"
    eq(e.rules[1].def.select.name, "app", "changing the list changes no rule")
    e:tick(0)
    l = e:list()
    eq(l[1].state, "ok")
    eq(l[1].groups, 1)
    e:tick(1)
    l = e:list()
    eq(l[1].state, "firing")
    eq(table.concat(l[1].firing, ","), "app[10]")
    eq(l[3].state, "ok")
    eq(l[3].groups, 2, "one group per name")
    e:tick(5)
    l = e:list()
    eq(l[2].state, "pending", "above, not yet for 2 samples")
    eq(tostring(l):match("\napp big +([^\n]-)  alert"), "firing: app[10]")
    -- the prompt prints the list as its text
    eq(pretty.results_text(l), tostring(l))
    eq(tostring(engine({}, {}):list()), "no rules (memwatch.watch{...} defines one)")
    local one = engine({}, {})
    one:watch { name = "x", above = 1 }
    check(tostring(one:list()):find("\n%(1 rule%)$"), "one rule, singular")
end)

T.test("engine:unwatch(name): true, or nil and a message; the rule stops", function()
    local e = engine({ 150, 150, 150 }, {})
    local alerts = 0
    e:watch { name = "a", above = "100M", repeat_every = 1, on_alert = function() alerts = alerts + 1 end }
    e:watch { name = "b", above = "1G" }
    e:tick(0)
    eq(alerts, 1)
    eq(e:unwatch("a"), true)
    eq(names(e:list()), "b")
    e:tick(1)
    eq(alerts, 1, "a removed rule does not run")
    local ok, msg = e:unwatch("a")
    eq(ok, nil)
    eq(msg, "no rule named 'a' (rules: 'b')")
    eq(e:unwatch("b"), true)
    ok, msg = e:unwatch("b")
    eq(msg, "no rule named 'b' (no rules are defined)")
    check(not ok, "nil")
    raises_exactly(function() e:unwatch(3) end, "bad argument #1 to 'unwatch' (rule name expected, got number)")
    -- the name can be used again
    e:watch { name = "a", above = "1G" }
    eq(names(e:list()), "a")
end)

T.test("a rule typed again at the prompt replaces the old one; in a script it is an error", function()
    local e = engine({ 150, 150 }, {})
    e:watch { name = "a", above = "100M" }
    e:watch { name = "b", above = "100M" }
    e:tick(0)
    raises_exactly(function() e:watch { name = "a", above = "2G" } end,
        "memwatch.watch: rule 'a': a rule with this name already exists")
    local saved = core.prompt
    core.prompt = true
    local ok, err = pcall(e.watch, e, { name = "a", above = "2G" })
    core.prompt = saved
    check(ok, tostring(err))
    eq(names(e:list()), "a,b", "in its place")
    local l = e:list()
    eq(l[1].watches, "alert when footprint of each process (all processes) is above 2.0G", "the new definition")
    eq(l[1].state, "not started", "with fresh state")
    eq(l[2].state, "firing", "the other rule keeps its state")
    e:watch { above = "1G" }
    eq(names(e:list()), "a,b,#3", "an unnamed rule is still numbered by definitions")
end)

T.test("memwatch.rules() and memwatch.unwatch() work on the default engine; a rule prints as what it does", function()
    local e = engine({}, {})
    local prev = W.set_default(e)
    local r = memwatch.watch { name = "big", above = "1G", group = "app" }
    eq(tostring(r), "rule 'big': alert when footprint of each app (all processes) is above 1.0G")
    eq(pretty.results_text(r), tostring(r), "at the prompt")
    eq(names(memwatch.rules()), "big")
    eq(memwatch.unwatch("big"), true)
    eq(names(memwatch.rules()), "")
    eq(select(2, memwatch.unwatch("big")), "no rule named 'big' (no rules are defined)")
    W.set_default(prev)
end)

T.test("the prompt replaces a rule typed again; a script with two rules of one name fails", function()
    local exe = os.getenv("MEMWATCH")
    if not exe then
        T.skip("no executable", "needs $MEMWATCH")
        return
    end
    local dir = T.sh("mktemp -d \"${TMPDIR:-/tmp}/mw-rules.XXXXXX\"")
    T.cleanup(function() os.execute("rm -rf '" .. dir .. "'") end)
    local f = assert(io.open(dir .. "/in.lua", "w"))
    f:write('memwatch.watch { name = "big", above = "1G" }\n',
        'memwatch.watch { name = "big", above = "2G" }\n',
        'memwatch.rules()\n')
    f:close()
    -- the prompt (-i) reading from a pipe: each line is typed
    local out = T.sh("'" .. exe .. "' -i < '" .. dir .. "/in.lua' 2>&1")
    eq(out, table.concat({
        "rule 'big': alert when footprint of each process (all processes) is above 1.0G",
        "rule 'big': alert when footprint of each process (all processes) is above 2.0G",
        "RULE  STATE        WATCHES",
        "big   not started  alert when footprint of each process (all processes) is above 2.0G",
        "(1 rule)" }, "\n"))
    -- the same lines as a script file: the second definition is an error at its line
    out = T.sh("'" .. exe .. "' '" .. dir .. "/in.lua' 2>&1; echo \"exit $?\"")
    check(out:find("^[^\n]*in%.lua:2: memwatch%.watch: rule 'big': a rule with this name already exists\n"),
        "script error: " .. out)
    check(out:find("\nexit 1$"), "exit status 1: " .. out)
end)

T.done()
