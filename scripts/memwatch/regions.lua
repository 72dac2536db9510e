-- memwatch.regions: where a process's memory is. core.regions(pid) reads its
-- mappings (Linux: /proc/PID/smaps); this module gives each one a category
-- and its share of the footprint, sums them by category or by path, and
-- compares two readings. The facade gives read() as memwatch.regions.
--
-- Categories, named by meaning (macOS `footprint` groups the same way):
--   heap            [heap], the brk area
--   stack           [stack], the main thread's, and the unnamed mappings other
--                   threads' stack pointers are in ([stack:TID]; Linux has not
--                   labelled thread stacks since 4.5, so the C side places
--                   them from /proc/PID/task/TID/syscall where it may read
--                   it; a running thread's stack stays "anonymous")
--   anonymous       other private anonymous memory: unnamed ([anon]) or named
--                   by the program with PR_SET_VMA_ANON_NAME ([anon:NAME])
--   shared memory   shmem: MAP_SHARED anonymous, memfd, SysV, /dev/shm
--   code            file mappings that can execute
--   data (written)  other file mappings holding copy-on-write pages the
--                   process wrote (Anonymous of a file mapping)
--   data            other file mappings (read-only data, unwritten .data)
--   gpu             DRM mappings (/dev/dri/...)
--   other           the rest: [vdso], [vvar], device mappings
--   page tables     not a mapping: the record's page_table (by = "category")
--
-- On macOS each region carries the tag of who allocated it (tag, a
-- VM_MEMORY_* number; tests/darwin/test_darwin_layout.c checks the numbers
-- below against Apple's headers), and the tag decides first:
--   heap            malloc's zones (MALLOC_TINY, _SMALL, _MEDIUM, _LARGE,
--                   _HUGE, _NANO, ...)
--   stack           thread stacks (Stack)
--   gpu             IOSurface and IOAccelerator (Metal, OpenGL) mappings
--   device memory   IOKit: memory a driver mapped into the process
--   system libraries  the dyld shared cache (shared pmap): every system
--                   library's code and data, mapped once for all processes
--   other           guard pages
-- then as above: a file mapping by its path (code, data (written), data),
-- shared anonymous memory, and other tagged or untagged anonymous memory,
-- named by its tag as vmmap names it (VM_ALLOCATE, dyld private memory, ...).
--
-- A region's footprint is what of it counts in the process's footprint:
-- anonymous + swap + the shmem pages it maps (resident - anonymous of a
-- shmem mapping). Summed with page tables, that is the record's footprint
-- (RssAnon + RssShmem + VmSwap + VmPTE), up to the kernel's per-CPU counter
-- slack and shmem swap, which smaps counts and VmSwap does not.
local core = require "memwatch.core"

local M = {}

-- The order categories are listed in when their footprints tie.
M.CATEGORIES = { "heap", "stack", "anonymous", "shared memory", "code", "data (written)", "data",
    "gpu", "device memory", "system libraries", "other", "page tables" }

local SIZES = { "size", "resident", "pss", "shared_clean", "shared_dirty", "private_clean",
    "private_dirty", "anonymous", "lazy_free", "anon_huge", "swap", "locked" }

-- macOS user tags (VM_MEMORY_*): the category a tag decides, and the name
-- vmmap gives an unnamed region of that tag.
local TAG_CATEGORY = {
    [1] = "heap", [2] = "heap", [3] = "heap", [4] = "heap", [6] = "heap", [7] = "heap", [8] = "heap",
    [9] = "heap", [11] = "heap", [12] = "heap", [30] = "stack", [31] = "other", [21] = "device memory",
    [88] = "gpu", [100] = "gpu", [32] = "system libraries", [35] = "system libraries",
}
M.TAG_NAMES = {
    [0] = "VM_ALLOCATE", [1] = "MALLOC", [2] = "MALLOC_SMALL", [3] = "MALLOC_LARGE", [4] = "MALLOC_HUGE",
    [6] = "MALLOC_REALLOC", [7] = "MALLOC_TINY", [8] = "MALLOC_LARGE_REUSABLE", [9] = "MALLOC_LARGE_REUSED",
    [11] = "MALLOC_NANO", [12] = "MALLOC_MEDIUM", [20] = "Mach message", [21] = "IOKit", [30] = "Stack",
    [31] = "STACK GUARD", [32] = "shared pmap", [33] = "dylib", [35] = "unshared pmap",
    [60] = "dyld private memory", [61] = "dyld malloc", [62] = "SQLite page cache", [63] = "JavaScriptCore",
    [73] = "OS Alloc Once", [74] = "Dispatch continuations", [82] = "Swift runtime", [83] = "Swift metadata",
    [88] = "IOSurface", [100] = "IOAccelerator",
}

--- category(region) -> the region's category (see above)
function M.category(r)
    local path = r.path
    if r.tag and TAG_CATEGORY[r.tag] then return TAG_CATEGORY[r.tag] end
    if r.shmem then return "shared memory" end
    if path == "[heap]" then return "heap" end
    if path == "[stack]" or r.stack_tid then return "stack" end
    if path == nil or path == "[anon]" or path:find("^%[anon:")
        or (path == "/dev/zero" and r.perms:sub(4, 4) == "p") then
        return "anonymous"
    end
    if path:find("^/dev/dri/") then return "gpu" end
    if path:sub(1, 1) == "/" and not path:find("^/dev/") then
        if r.perms:sub(3, 3) == "x" then return "code" end
        if (r.anonymous or 0) + (r.swap or 0) > 0 then return "data (written)" end
        return "data"
    end
    return "other"
end

--- name(region) -> how a region is named in sums by path: its path,
-- "[stack:TID]" for a thread's stack, or "[anon]" for an unnamed anonymous
-- mapping; on macOS an unnamed region by its tag ("MALLOC_SMALL", "Stack",
-- "Memory Tag 240" for a tag without a name)
function M.name(r)
    if not r.path and r.stack_tid then return string.format("[stack:%d]", r.stack_tid) end
    if not r.path and r.tag then return M.TAG_NAMES[r.tag] or string.format("Memory Tag %d", r.tag) end
    return r.path or "[anon]"
end

-- Adds category, name, footprint, clean and shmem_resident to a region.
local function annotate(r)
    local anon, swap, rss = r.anonymous or 0, r.swap or 0, r.resident or 0
    r.shmem_resident = r.shmem and math.max(rss - anon, 0) or 0
    r.footprint = anon + swap + r.shmem_resident
    r.clean = math.max(rss - anon - r.shmem_resident, 0)
    r.category = M.category(r)
    r.name = M.name(r)
    return r
end

local function new_sum(name, category)
    local s = { name = name, category = category, regions = 0, footprint = 0, clean = 0 }
    for _, k in ipairs(SIZES) do s[k] = 0 end
    return s
end

local function add(sum, r)
    sum.regions = sum.regions + 1
    sum.footprint = sum.footprint + (r.footprint or 0)
    sum.clean = sum.clean + (r.clean or 0)
    for _, k in ipairs(SIZES) do sum[k] = sum[k] + (r[k] or 0) end
end

local rank = {}
for i, c in ipairs(M.CATEGORIES) do rank[c] = i end

-- Largest footprint first, then largest resident, then by name.
local function by_size(a, b)
    if a.footprint ~= b.footprint then return a.footprint > b.footprint end
    if a.resident ~= b.resident then return a.resident > b.resident end
    local ra, rb = rank[a.name] or 0, rank[b.name] or 0
    if ra ~= rb then return ra < rb end
    return a.name < b.name
end

--- summarize(regions, by [, page_table]) -> sums, largest footprint first
-- by = "category": one sum per category (with "page tables" when page_table
-- is given); by = "path": one per name (path, [anon:NAME], [anon]), each
-- with the category of its first region.
function M.summarize(regions, by, page_table)
    local sums, list = {}, {}
    for _, r in ipairs(regions) do
        local key = by == "category" and r.category or r.name
        local s = sums[key]
        if not s then
            s = new_sum(key, r.category)
            sums[key] = s
            list[#list + 1] = s
        end
        add(s, r)
    end
    if by == "category" and page_table then
        local s = new_sum("page tables", "page tables")
        s.footprint, s.resident = page_table, page_table
        list[#list + 1] = s
    end
    table.sort(list, by_size)
    return list
end

local BY = { category = true, path = true, none = true }

--- read(pid [, {by = "none"|"category"|"path"}]) -> rows | nil, message, errno
-- by = "none" (the default): every region, in address order, with start,
-- end, perms, offset, dev, inode, path, shmem, the smaps sizes (size,
-- resident, pss, anonymous, swap, ...), and category, name, footprint and
-- clean. Otherwise their sums (summarize). Reads smaps once, on demand: it
-- holds the process's mmap_lock while it is read.
function M.read(pid, opts)
    if math.type(pid) ~= "integer" then
        error(string.format("bad argument #1 to 'regions' (integer expected, got %s)",
            math.type(pid) or type(pid)), 2)
    end
    if opts ~= nil and type(opts) ~= "table" then
        error(string.format("bad argument #2 to 'regions' (table expected, got %s)", type(opts)), 2)
    end
    local by = opts and opts.by or "none"
    if not BY[by] then
        error(string.format("bad argument #2 to 'regions' (by must be \"category\", \"path\" or \"none\", got '%s')",
            tostring(by)), 2)
    end
    local rows, err, errno = core.regions(pid)
    if not rows then return nil, err, errno end
    for _, r in ipairs(rows) do annotate(r) end
    if by == "none" then return rows end
    local page_table
    if by == "category" then
        local rec = core.read(pid, core.sources.status)
        page_table = rec and rec.page_table
    end
    return M.summarize(rows, by, page_table)
end

-- A region's identity across two readings: where it starts and what it maps
-- (a heap or an arena grows at its end; a new mapping at a reused address
-- with another path is another region).
local function identity(r)
    return string.format("%x %s", r.start, r.name)
end

--- compare(before, after) -> {categories = {...}, regions = {...}}
-- before and after: two read(pid) results. categories: {name=, before=,
-- after=, change=} per category whose footprint changed; regions: {name=,
-- start=, category=, before=, after=, change=, status = "new"|"grown"|
-- "shrunk"|"vanished"}. Both sorted by the size of the change, largest first.
function M.compare(before, after)
    local function diff_list(a, b, key)
        local out, seen = {}, {}
        local function entry(x, y)
            local fa, fb = x and x.footprint or 0, y and y.footprint or 0
            local r = x or y
            local e = { name = r.name, start = r.start, category = r.category, before = fa, after = fb,
                change = fb - fa }
            if key == identity then
                e.status = not x and "new" or not y and "vanished" or fb > fa and "grown" or "shrunk"
            end
            return e
        end
        local index = {}
        for _, x in ipairs(a) do index[key(x)] = x end
        for _, y in ipairs(b) do
            local k = key(y)
            seen[k] = true
            local e = entry(index[k], y)
            -- A region new or vanished counts even when it holds nothing yet.
            if e.change ~= 0 or (key == identity and not index[k]) then out[#out + 1] = e end
        end
        for _, x in ipairs(a) do
            if not seen[key(x)] then out[#out + 1] = entry(x, nil) end
        end
        table.sort(out, function(p, q)
            local cp, cq = math.abs(p.change), math.abs(q.change)
            if cp ~= cq then return cp > cq end
            if p.change ~= q.change then return p.change > q.change end
            if p.name ~= q.name then return p.name < q.name end
            return (p.start or 0) < (q.start or 0)
        end)
        return out
    end
    return {
        categories = diff_list(M.summarize(before, "category"), M.summarize(after, "category"),
            function(s) return s.name end),
        regions = diff_list(before, after, identity),
    }
end

return M
