-- The memory-kinds child (memkinds_child.c) through memwatch.regions: each
-- kind of memory lands in the category it belongs to (issue 15), and the
-- categories sum to the record's footprint minus page tables, within a page
-- per region.
--
-- The child reads steps from a pipe (io.popen) and answers in a file; the
-- shell records its pid before exec-ing it.
-- Environment: MW_MEMKINDS_CHILD (the child), MW_SOURCE_DIR, MW_BUILD_DIR.
local source = os.getenv("MW_SOURCE_DIR")
local T = dofile(source .. "/tests/lua/testlib.lua")
local eq, check = T.eq, T.check
local memwatch = require "memwatch"
local core = require "memwatch.core"

local MIB = 1024 * 1024
local N = 64 * MIB -- every kind but the stack (KIND_SIZE in the child)
local TOL = 2 * MIB -- as test_memkinds.c's TOL_N
local PAGE = 4096

local child = os.getenv("MW_MEMKINDS_CHILD")
if memwatch.platform ~= "linux" or not child then
    T.skip("memkinds regions", "needs Linux and MW_MEMKINDS_CHILD (run it through ctest)")
    T.done()
end

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute("mkdir -p '" .. tmp .. "'"))
T.cleanup(function() os.execute("rm -rf '" .. tmp .. "'") end)
local out, pidfile = tmp .. "/out", tmp .. "/pid"
-- A disk directory for the file rows (a tmpfs file would be shmem).
local dirs = "/var/tmp:" .. (os.getenv("MW_BUILD_DIR") or "/tmp") .. ":/tmp"
local pipe = assert(io.popen(string.format("echo $$ > '%s'; exec '%s' '%s' > '%s'", pidfile, child, dirs, out),
    "w"))
local answered = 0

local function command(step)
    pipe:write(step, "\n")
    pipe:flush()
    local deadline = core.now() + 30
    while core.now() < deadline do
        local lines = {}
        local f = io.open(out)
        if f then
            for l in f:lines() do lines[#lines + 1] = l end
            f:close()
        end
        if #lines > answered then
            answered = answered + 1
            return lines[answered]
        end
        core.sleep(0.01)
    end
    error(step .. ": the child did not answer within 30 s")
end

eq(command("ping"), "ok")
local pid = math.tointeger(tonumber(io.open(pidfile):read("l")))
T.cleanup(function()
    pipe:write("quit\n")
    pipe:close()
end)

local function by_category()
    local sums = assert(memwatch.regions(pid, { by = "category" }))
    local t = {}
    for _, s in ipairs(sums) do t[s.name] = s end
    return t
end

local function get(t, cat, key)
    return t[cat] and t[cat][key] or 0
end

-- Runs step and returns the change of key in each category.
local function step(name, key)
    local before = by_category()
    local reply = command(name)
    if reply:find("^skip") then return nil, reply end
    eq(reply, "ok", name)
    local after = by_category()
    local d = {}
    for _, c in ipairs(require("memwatch.regions").CATEGORIES) do
        d[c] = get(after, c, key or "footprint") - get(before, c, key or "footprint")
    end
    return d
end

local function near(got, want, what, tol)
    check(math.abs(got - want) <= (tol or TOL),
        string.format("%s: %+d kB, expected %+d kB", what, got // 1024, want // 1024))
end

-- Every category but `cat` stays put (within the tolerance).
local function only(d, cat, want, what, tol)
    for c, v in pairs(d) do
        if c ~= "page tables" then near(v, c == cat and want or 0, what .. " " .. c, tol) end
    end
end

T.test("heap ([heap], the brk area)", function()
    only(step("brk_grow"), "heap", N, "brk_grow")
    only(step("brk_shrink"), "heap", -N, "brk_shrink")
end)

T.test("large malloc: anonymous (its own mmap)", function()
    only(step("heap_alloc"), "anonymous", N, "heap_alloc")
    only(step("heap_free"), "anonymous", -N, "heap_free")
end)

T.test("stack: the main thread's [stack]; a thread's stack, placed by its stack pointer", function()
    only(step("main_stack_touch"), "stack", MIB, "main_stack_touch", 256 * 1024)
    -- The thread is parked in a system call: its saved stack pointer is in
    -- task/TID/syscall, readable for our own child.
    only(step("stack_grow"), "stack", 4 * MIB, "stack_grow (a thread)", 256 * 1024)
    local named
    for _, r in ipairs(assert(memwatch.regions(pid))) do
        if r.stack_tid then named = r end
    end
    check(named and named.name == "[stack:" .. named.stack_tid .. "]" and named.stack_tid ~= pid,
        "the thread's stack is [stack:TID]")
    step("stack_return")
    step("stack_exit")
end)

T.test("shared anonymous memory and memfd: shared memory", function()
    only(step("shared_anon_touch"), "shared memory", N, "shared_anon_touch")
    only(step("shared_anon_unmap"), "shared memory", -N, "shared_anon_unmap")
    only(step("memfd_touch"), "shared memory", N, "memfd_touch")
    local regions = assert(memwatch.regions(pid))
    local memfd
    for _, r in ipairs(regions) do
        if r.name:find("^/memfd:memkinds") then memfd = r end
    end
    check(memfd and memfd.shmem and memfd.category == "shared memory", "the memfd region, by name")
    near(memfd and memfd.footprint or 0, N, "the memfd region's footprint")
    only(step("memfd_unmap"), "shared memory", -N, "memfd_unmap")
    step("memfd_close")
end)

T.test("a private file mapping: read is clean data, written is data (written)", function()
    check(command("file_create"):find("^ok"), "file_create")
    local d = step("private_file_read", "clean")
    only(d, "data", N, "private_file_read: clean data")
    d = step("private_file_write")
    near(d["data (written)"], N, "private_file_write: copy-on-write pages")
    step("private_file_unmap")
    check(command("file_close"):find("^ok"), "file_close")
end)

T.test("MADV_FREE is lazy_free, mlock is locked, both anonymous", function()
    step("anon_touch")
    local d = step("anon_madv_free", "lazy_free")
    only(d, "anonymous", N, "anon_madv_free lazy_free")
    step("anon_madv_dontneed")
    step("anon_unmap")
    local reply
    d, reply = step("mlock_touch", "locked")
    if not d then
        T.skip("mlock", "the child could not mlock: " .. reply)
        return
    end
    only(d, "anonymous", N, "mlock_touch locked")
    step("mlock_unmap")
end)

T.test("categories sum to footprint minus page tables, within a page per region", function()
    command("anon_touch")
    for _ = 1, 3 do
        local rows = assert(memwatch.regions(pid))
        local rec = assert(memwatch.process(pid))
        local sum = 0
        for _, r in ipairs(rows) do sum = sum + r.footprint end
        near(sum, rec.footprint - rec.page_table, "sum of the regions", PAGE * #rows)
    end
    command("anon_unmap")
end)

T.done()
