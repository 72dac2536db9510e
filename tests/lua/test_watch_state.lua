-- The firing state kept across restarts (issue 12, memwatch.watch.state),
-- on a simulated clock: a restarted engine does not call on_alert again for
-- a group still over, keeps its original `since` (and its repeat schedule
-- starts afresh, not at once); a growth rule's restored alert holds through
-- the warm-up; the Lua ways to give the file (engine{state =},
-- memwatch.run{state =}) and their errors; ids that are not UTF-8 survive.
-- The restarts of the real executable are tests/cli/test_state.sh.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local W = require "memwatch.watch"
local state = require "memwatch.watch.state"
local MB = 1024 * 1024

local dir = T.sh("mktemp -d \"${TMPDIR:-/tmp}/mw-state.XXXXXX\"")
T.cleanup(function() os.execute("rm -rf '" .. dir .. "'") end)

-- An engine on a fake clock starting at wall time `wall`, sampling size()
-- MB for one process; its events go to `got`.
local function engine(path, wall, size, got, def, run_state)
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    function clock.time() return wall + clock.t end
    local e = W.engine { clock = clock, every = 1, memory_limit = 0, state = not run_state and path or nil,
        sampler = function()
            return { { pid = 10, ppid = 1, name = "app", start_time = 1010.0, footprint = size(clock.t) * MB } }
        end,
        -- Notices ("first verdict after ...") are not events.
        report = function(line) check(line:find("first verdict", 1, true), line) end }
    def = def or {}
    def.name = def.name or "big"
    if not def.growth then def.above = def.above or "50M" end
    def.on_alert = function(ev) got[#got + 1] = ev end
    def.on_resolve = function(ev) got[#got + 1] = ev end
    e:watch(def)
    return e
end

T.test("a restart keeps firing without on_alert, with the original since", function()
    local path = dir .. "/a.state"
    local got = {}
    engine(path, 1000, function() return 60 end, got, { repeat_every = "5s" }):run(3)
    eq(#got, 1)
    eq(got[1].kind, "alert")
    eq(got[1].since, 1000.0)
    -- Restarted 100 s later, still over: nothing for 4 s, then the repeat
    -- (counted from the restart) carries the first since.
    got = {}
    engine(path, 1100, function() return 60 end, got, { repeat_every = "5s" }):run(6)
    eq(#got, 1, "only the repeat")
    eq(got[1].kind, "alert")
    eq(got[1].since, 1000.0, "the original since")
    eq(got[1].repeated, 1)
    eq(got[1].while_down, nil)
    -- A drop after the restart's first evaluation is a plain resolve.
    got = {}
    engine(path, 1200, function(t) return t < 2 and 60 or 10 end, got):run(4)
    eq(#got, 1)
    eq(got[1].kind, "resolve")
    eq(got[1].while_down, nil, "it ended while watched")
    eq(tostring(got[1]), "RESOLVED rule 'big' app[10] footprint 10.0M (above 50.0M) 1 process")
end)

T.test("a restored group that vanishes later can still be told OOM-killed", function()
    local path = dir .. "/oom.state"
    engine(path, 1000, function() return 60 end, {}):run(2)
    local got, kills, tick = {}, 0, 0
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    function clock.time() return 1100 + clock.t end
    local e = W.engine { clock = clock, every = 1, memory_limit = 0, state = path, report = function() end,
        oom = { count = function() return kills end, kills_since = function() return {}, false end },
        sampler = function()
            tick = tick + 1
            if tick >= 3 then
                kills = 1
                return {}
            end
            return { { pid = 10, ppid = 1, name = "app", start_time = 1010.0, footprint = 60 * MB } }
        end }
    e:watch { name = "big", above = "50M", on_alert = function(ev) got[#got + 1] = ev end,
        on_resolve = function(ev) got[#got + 1] = ev end }
    e:run(4)
    eq(#got, 1)
    eq(got[1] and got[1].kind, "resolve")
    eq(got[1] and got[1].gone, true)
    eq(got[1] and got[1].oom_killed, true)
    eq(got[1] and got[1].while_down, nil, "it vanished while watched")
end)

T.test("memwatch.run{state = FILE}, and bad values", function()
    local path = dir .. "/b.state"
    local got = {}
    engine(path, 1000, function() return 60 end, got, nil, true):run { seconds = 2, state = path }
    eq(#got, 1)
    local entries = state.read(path)
    eq(#entries, 1)
    eq(entries[1].rule, "big")
    eq(entries[1].key, "app[10]")
    eq(entries[1].since, 1000.0)
    eq(entries[1].value, 60 * MB)
    got = {}
    engine(path, 1010, function() return 10 end, got, nil, true):run { seconds = 2, state = path }
    eq(#got, 1)
    eq(got[1].while_down, true)
    eq(tostring(got[1]), "RESOLVED rule 'big' app[10] footprint 10.0M (above 50.0M) 1 process (ended while " ..
        "memwatch was down)")
    raises_exactly(function() engine(nil, 0, function() return 1 end, {}, nil, true):run { seconds = 1, state = 5 } end,
        "memwatch.run: state: expected a file name, got number")
    raises_exactly(function() engine(dir .. "/none/x", 0, function() return 1 end, {}):run(1) end,
        "memwatch.run: state file " .. dir .. "/none/x: cannot write it (No such file or directory)")
end)

T.test("a growth rule's restored alert holds through the warm-up", function()
    local path = dir .. "/g.state"
    local got = {}
    local def = function() return { growth = { above = "1M/s", window = "4s" } } end
    engine(path, 1000, function(t) return 100 + 10 * t end, got, def()):run(8)
    eq(#got, 1)
    eq(got[1] and got[1].kind, "alert")
    -- Restarted: still growing; no second alert during the warm-up or after.
    got = {}
    engine(path, 2000, function(t) return 200 + 10 * t end, got, def()):run(8)
    eq(#got, 0, "no second alert")
    -- Restarted flat: holds while the warm-up lasts, then resolves (not
    -- "while down": it was seen to stop).
    got = {}
    engine(path, 3000, function() return 300 end, got, def()):run(10)
    eq(#got, 1)
    eq(got[1] and got[1].kind, "resolve")
    check(got[1] and got[1].now >= 4, "not before the warm-up: " .. tostring(got[1] and got[1].now))
    eq(got[1] and got[1].while_down, nil)
end)

T.test("memwatch replay neither reads nor writes a state file", function()
    local here = arg[0]:match("^(.*)/") or "."
    local FILE = (os.getenv("MW_FIXTURES") or (here .. "/../fixtures")) .. "/recordings/leak_spike.jsonl"
    local path, script = dir .. "/replay.state", dir .. "/replay.lua"
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
memwatch.watch { name = "spike", select = { name = "spiky" }, above = "600M", every = "10s" }
memwatch.run { state = %q }
]], path))
    f:close()
    local lines = {}
    require("memwatch.record.replay").replay { path = FILE, script = script, utc = true,
        out = function(l) lines[#lines + 1] = l end, warn = function() end }
    check(lines[1] and lines[1]:find(" ALERT rule 'spike' ", 1, true), tostring(lines[1]))
    eq(io.open(path), nil, "no state file written")
end)

T.test("the file: sorted JSON, ids that are not UTF-8 kept as hex", function()
    local text = state.encode { { rule = "b", id = "x", key = "k", since = 2, value = 3 },
        { rule = "a", id = "tree:\255\1", key = "bad\255", since = 1.5 } }
    eq(text, '{"memwatch_state": 1, "firing": [{"id_hex":"747265653aff01","key":"bad\u{FFFD}","rule":"a",' ..
        '"since":1.5},{"id":"x","key":"k","rule":"b","since":2,"value":3}]}\n')
    local path = dir .. "/h.state"
    assert(state.write(path, text))
    local back = state.read(path)
    eq(back[1].id, "tree:\255\1")
    eq(back[2].id, "x")
    eq(state.encode {}, '{"memwatch_state": 1, "firing": []}\n')
end)

T.test("callbacks that asked (an Alertmanager action) hear of an alert still firing after a restart", function()
    local path = dir .. "/resume.state"
    engine(path, 1000, function() return 60 end, {}):run(2)
    local plain, resumed = {}, {}
    local function resumer(ev) resumed[#resumed + 1] = ev end
    require("memwatch.watch.engine").resumes(resumer)
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    function clock.time() return 1100 + clock.t end
    local e = W.engine { clock = clock, every = 1, memory_limit = 0, state = path, report = function() end,
        sampler = function()
            return { { pid = 10, ppid = 1, name = "app", start_time = 1010.0, footprint = 60 * MB } }
        end }
    e:watch { name = "big", above = "50M", on_alert = { function(ev) plain[#plain + 1] = ev end, resumer } }
    e:run(3)
    eq(#plain, 0, "no second alert for the other callbacks")
    eq(#resumed, 1, "one restored alert, at the first evaluation")
    eq(resumed[1].kind, "alert")
    eq(resumed[1].restored, true)
    eq(resumed[1].since, 1000.0, "the original since")
    eq(resumed[1].key, "app[10]")
end)

T.done()
