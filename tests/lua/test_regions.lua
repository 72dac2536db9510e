-- memwatch.regions (issue 15): argument errors, a vanished pid, the shape of
-- each `by`, the categories of a region, compare() on two readings, and a
-- rule's event.grew.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq, check = T.eq, T.check
local memwatch = require "memwatch"
local regions = require "memwatch.regions"
local units_bytes = require("memwatch.units").bytes

if memwatch.platform ~= "linux" then
    T.skip("regions", "memwatch.regions reads /proc/PID/smaps: Linux only for now")
    T.done()
end

local self = require("memwatch.core").getpid()

-- The values of a list as one string, to compare lists with eq.
local function all(t)
    local out = {}
    for i = 1, #t do out[i] = tostring(t[i]) end
    return table.concat(out, " ")
end

T.test("misuse raises", function()
    T.raises_exactly(function() memwatch.regions("1") end,
        "bad argument #1 to 'regions' (integer expected, got string)")
    T.raises_exactly(function() memwatch.regions(1.5) end,
        "bad argument #1 to 'regions' (integer expected, got float)")
    T.raises_exactly(function() memwatch.regions(self, "category") end,
        "bad argument #2 to 'regions' (table expected, got string)")
    T.raises_exactly(function() memwatch.regions(self, { by = "size" }) end,
        "bad argument #2 to 'regions' (by must be \"category\", \"path\" or \"none\", got 'size')")
end)

T.test("a vanished pid: nil, message, ESRCH", function()
    local rows, msg, errno = memwatch.regions(999999999)
    eq(rows, nil)
    eq(msg, "pid 999999999: No such process")
    eq(errno, 3)
    rows, msg, errno = memwatch.regions(0)
    eq(all({ tostring(rows), msg, errno }), all({ "nil", "pid 0: No such process", 3 }))
end)

T.test("by = none: every region, annotated", function()
    local rows = assert(memwatch.regions(self))
    check(#rows > 5, "a process has several mappings")
    local heap, stack, prev = 0, 0, 0
    for _, r in ipairs(rows) do
        -- Addresses are unsigned: [vsyscall]'s is a negative Lua integer.
        check(math.ult(prev, r.start) and math.ult(r.start, r["end"]), "address order")
        prev = r.start
        eq(r.footprint, r.anonymous + r.swap + (r.shmem and r.resident - r.anonymous or 0))
        eq(r.category, regions.category(r))
        eq(r.name, r.path or "[anon]")
        check(r.perms:match("^[r-][w-][x-][sp]$"), "perms " .. r.perms)
        check(r.dev:match("^%x%x+:%x%x+$"), "dev " .. r.dev)
        if r.path == "[heap]" then heap = heap + 1 end
        if r.path == "[stack]" then stack = stack + 1 end
    end
    eq(stack, 1)
    check(heap <= 1, "at most one heap")
end)

T.test("by = category and path sum the regions", function()
    local rows = assert(memwatch.regions(self))
    local cats = assert(memwatch.regions(self, { by = "category" }))
    local paths = assert(memwatch.regions(self, { by = "path" }))
    local n = 0
    for i, s in ipairs(cats) do
        if i > 1 then check(s.footprint <= cats[i - 1].footprint, "largest first") end
        n = n + s.regions
    end
    -- Regions come and go as this state allocates; the counts stay close.
    check(math.abs(n - #rows) <= 4, string.format("%d regions summed, %d listed", n, #rows))
    local pt
    for _, s in ipairs(cats) do if s.name == "page tables" then pt = s end end
    check(pt and pt.regions == 0 and pt.footprint > 0, "a page-table line from the record")
    local names = {}
    for _, s in ipairs(paths) do names[s.name] = s end
    check(names["[stack]"] and names["[stack]"].category == "stack", "[stack] by path")
end)

T.test("categories", function()
    local function cat(path, perms, extra)
        local r = { path = path, perms = perms or "rw-p", shmem = false, anonymous = 0, swap = 0 }
        for k, v in pairs(extra or {}) do r[k] = v end
        return regions.category(r)
    end
    eq(cat("[heap]"), "heap")
    eq(cat("[stack]"), "stack")
    eq(cat(nil), "anonymous")
    eq(cat("[anon:pool]"), "anonymous")
    eq(cat("/dev/zero", "rw-p"), "anonymous")
    eq(cat("/memfd:x", "rw-s", { shmem = true }), "shared memory")
    eq(cat("/usr/lib/libc.so.6", "r-xp"), "code")
    eq(cat("/usr/lib/libc.so.6", "rw-p", { anonymous = 4096 }), "data (written)")
    eq(cat("/usr/lib/libc.so.6", "rw-p", { swap = 4096 }), "data (written)")
    eq(cat("/usr/lib/libc.so.6", "r--p"), "data")
    eq(cat("/dev/dri/renderD128", "rw-s"), "gpu")
    eq(cat("[vdso]", "r-xp"), "other")
    eq(cat("/dev/fb0", "rw-s"), "other")
end)

T.test("compare: grown, new, vanished, by size of change", function()
    local function reg(start, path, fp)
        return { start = start, name = path, category = regions.category({ path = path, perms = "rw-p" }),
            footprint = fp, clean = 0, resident = fp, regions = 1 }
    end
    local before = { reg(0x1000, "[heap]", 4096), reg(0x5000, "[anon:a]", 8192), reg(0x9000, "[anon]", 4096) }
    local after = { reg(0x1000, "[heap]", 12288), reg(0x5000, "[anon:a]", 8192), reg(0xa000, "[anon]", 1024) }
    local d = regions.compare(before, after)
    eq(#d.regions, 3)
    eq(all({ d.regions[1].name, d.regions[1].status, d.regions[1].change }), all({ "[heap]", "grown", 8192 }))
    eq(all({ d.regions[2].start, d.regions[2].status, d.regions[2].change }), all({ 0x9000, "vanished", -4096 }))
    eq(all({ d.regions[3].start, d.regions[3].status, d.regions[3].change }), all({ 0xa000, "new", 1024 }))
    eq(all({ d.categories[1].name, d.categories[1].change }), all({ "heap", 8192 }))
    eq(all({ d.categories[2].name, d.categories[2].change }), all({ "anonymous", -3072 }))
end)

-- event.grew through an engine with a fake sampler, clock and regions: pid 10
-- grows its heap 1M a tick and a named pool 0.25M a tick; pid 11 stays put.
local function grew_engine(def, reads)
    local W = require "memwatch.watch"
    local MB = 1024 * 1024
    local clock = { t = 0.0 }
    function clock.now() return clock.t end
    function clock.sleep(s) clock.t = clock.t + s end
    local events = {}
    local e = W.engine {
        clock = clock, every = 1, memory_limit = 0, app_key = function() return nil end,
        report = function() end,
        sampler = function()
            local t = clock.t
            return {
                { pid = 10, ppid = 1, name = "app", uid = 1000, start_time = 1.0, footprint = (100 + t * 1.25) * MB },
                { pid = 11, ppid = 1, name = "app", uid = 1000, start_time = 2.0, footprint = 50 * MB },
            }
        end,
        regions = function(pid)
            reads[#reads + 1] = string.format("%g:%d", clock.t, pid)
            local t = clock.t
            local function r(start, path, fp, shmem)
                local row = { start = start, path = path, perms = "rw-p", shmem = shmem or false,
                    anonymous = fp, swap = 0, resident = fp }
                row.category = regions.category(row)
                row.name, row.footprint = regions.name(row), fp
                return row
            end
            return { r(0x1000, "[heap]", math.floor((10 + t) * MB)), r(0x9000, "[anon:pool]", math.floor(t * MB / 4)),
                r(0xf000, nil, 3 * MB) }
        end,
    }
    def.on_alert = function(ev) events[#events + 1] = ev end
    e:watch(def)
    return e, events
end

T.test("a growth rule's alert says what grew (event.grew)", function()
    local reads = {}
    local e, events = grew_engine({ name = "leak", select = { name = "app" }, group = "name",
        growth = { above = "1M/m", window = "20s" } }, reads)
    e:run(30)
    check(#events >= 1, "the rule fired")
    local ev = events[1]
    eq(ev.grew.pid, 10)
    eq(ev.grew.categories[1].name, "heap")
    eq(ev.grew.regions[1].name, "[heap]")
    eq(ev.grew.regions[2].name, "[anon:pool]")
    local heap = units_bytes(ev.grew.categories[1].change)
    local pool = units_bytes(ev.grew.regions[2].change)
    eq(ev.grew.text, "heap +" .. heap .. ", [anon:pool] +" .. pool)
    check(tostring(ev):find("; grew: heap +" .. heap .. ", [anon:pool] +" .. pool, 1, true), tostring(ev))
    check(require("memwatch.actions").format(ev):find("; grew: heap +", 1, true), "the log line")
    -- A baseline once the group shows growth, of the member growing, none
    -- per tick, one at firing.
    check(reads[1]:find(":10$") and tonumber(reads[1]:match("^[%d.]+")) <= 3, "the baseline: " .. reads[1])
    check(#reads <= 3, "at most one read per window and one at firing: " .. table.concat(reads, " "))
end)

T.test("a growth rule reads nothing for a group that does not grow", function()
    local reads = {}
    local e, events = grew_engine({ name = "flat", select = { name = "app" },
        metric = function(p) return p.pid == 11 and p.footprint or nil end,
        growth = { above = "1M/m", window = "10s" } }, reads)
    e:run(30)
    eq(#events, 0)
    eq(#reads, 0)
end)

T.test("explain = true on a threshold rule; explain = false turns it off", function()
    local reads = {}
    local e, events = grew_engine({ name = "big", select = { name = "app" }, above = "110M", explain = true }, reads)
    e:run(12)
    check(#events == 1 and events[1].grew and events[1].grew.categories[1].name == "heap", "grew on a threshold rule")
    reads = {}
    e, events = grew_engine({ name = "leak", select = { name = "app" }, growth = { above = "1M/m", window = "20s" },
        explain = false }, reads)
    e:run(30)
    check(#events >= 1 and events[1].grew == nil, "no grew")
    eq(#reads, 0)
    T.raises_exactly(function()
        grew_engine({ name = "x", above = "1M", explain = "yes" }, {})
    end, "memwatch.watch: rule 'x': 'explain' must be true or false, got string")
end)

T.done()
