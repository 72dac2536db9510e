-- memwatch footprint PID|NAME: where a process's memory is, by category (like
-- macOS `footprint`), every region (--regions, like pmap -x or vmmap), or
-- what grew over a while (--diff).
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local regions = require "memwatch.regions"
local suggest = require "memwatch.suggest"
local text = require "memwatch.text"
local units = require "memwatch.units"

local bytes = units.bytes

local function signed(n)
    return n > 0 and "+" .. bytes(n) or bytes(n)
end

-- The processes PID|NAME names, largest footprint first: {record, ...} or
-- nil, message.
local function targets(arg)
    local pid = arg:match("^%d+$") and math.tointeger(tonumber(arg))
    if pid then
        local rec, err = memwatch.process(pid)
        if not rec then return nil, err end
        return { rec }
    end
    local recs = memwatch.processes { name = arg }
    if #recs == 0 then
        -- As memwatch ps says it: the selection, and what comes close.
        local me = core.getpid()
        local close = suggest.closest_text(arg, memwatch.processes(), nil, function(r) return r.pid == me end)
        return nil, text.printable(string.format("no process matches %s%s", suggest.describe { name = arg },
            close and (" (" .. close .. ")") or ""))
    end
    table.sort(recs, function(a, b)
        local fa, fb = a.footprint or -1, b.footprint or -1
        if fa ~= fb then return fa > fb end
        return a.pid < b.pid
    end)
    return recs
end

-- One reading: the process's regions and its record's footprint right
-- after, or nil, message.
local function reading(pid)
    local rows, err = memwatch.regions(pid)
    if not rows then return nil, err end
    local rec = memwatch.process(pid)
    if not rec then return nil, string.format("pid %d: No such process", pid) end
    return { pid = pid, name = rec.name, user = rec.user or rec.uid, regions = rows, page_table = rec.page_table,
        record_footprint = rec.footprint, kernel_thread = rec.kernel_thread, zombie = rec.state == "Z" }
end

local function who(r, count)
    if count then
        return string.format("footprint of %d process%s named %s", count, count == 1 and "" or "es",
            text.printable(r.name or "?"))
    end
    local s = string.format("footprint of %d", r.pid)
    if r.name then s = s .. string.format(" (%s)", text.printable(r.name)) end
    if r.user then s = s .. ", user " .. text.printable(tostring(r.user)) end
    return s
end

local function total_of(sums)
    local t = { footprint = 0, clean = 0, swap = 0, regions = 0 }
    for _, s in ipairs(sums) do
        t.footprint = t.footprint + s.footprint
        if s.name ~= "page tables" then
            t.clean, t.swap, t.regions = t.clean + s.clean, t.swap + s.swap, t.regions + s.regions
        end
    end
    return t
end

-- The line under the total: it is the record's footprint, or how far from it.
-- The two are read one after the other, and the kernel's per-CPU counters
-- lag: a page per region apart is agreement.
local PAGE = 4096

-- On macOS the record's footprint is the kernel's phys_footprint, which also
-- counts what no region shows (page tables, purgeable and IOKit accounting;
-- `memwatch ledger PID` itemises it), and pages are 16 KiB on Apple Silicon.
local function agreement(total, record, nregions, pid)
    if not record then return "the record has no footprint to compare (its status lacks a counter)" end
    local apart = record - total
    local darwin = memwatch.platform == "darwin"
    if apart == 0 then
        return darwin and "total = the record's footprint (phys_footprint)"
            or "total = the record's footprint (RssAnon + RssShmem + VmSwap + VmPTE)"
    elseif darwin then
        return string.format("the record's footprint (phys_footprint) is %s (%s): the kernel also counts "
            .. "memory no region shows (memwatch ledger %s itemises it)", bytes(record), signed(apart), pid or "PID")
    elseif math.abs(apart) <= PAGE * math.max(nregions, 1) then
        return string.format("total = the record's footprint within %s (the kernel's counters lag by a few pages)",
            bytes(math.abs(apart)))
    end
    return string.format("the record's footprint is %s (%s): the process changed between the two reads",
        bytes(record), signed(apart))
end

local CATEGORY_COLUMNS = {
    { title = "CATEGORY" }, { title = "FOOTPRINT", align = "right" }, { title = "CLEAN", align = "right" },
    { title = "SWAPPED", align = "right" }, { title = "REGIONS", align = "right" },
}

local function category_table(sums)
    local rows = {}
    for _, s in ipairs(sums) do
        local pt = s.name == "page tables"
        rows[#rows + 1] = { s.name, bytes(s.footprint), pt and "-" or bytes(s.clean), pt and "-" or bytes(s.swap),
            pt and "-" or tostring(s.regions) }
    end
    local t = total_of(sums)
    rows[#rows + 1] = { "total", bytes(t.footprint), bytes(t.clean), bytes(t.swap), tostring(t.regions) }
    return text.table(CATEGORY_COLUMNS, rows), t
end

local REGION_COLUMNS = {
    { title = "ADDRESS" }, { title = "SIZE", align = "right" }, { title = "RESIDENT", align = "right" },
    { title = "FOOTPRINT", align = "right" }, { title = "SWAPPED", align = "right" }, { title = "PERMS" },
    { title = "CATEGORY" }, { title = "MAPPING" },
}

local function region_table(rows)
    local out = {}
    for _, r in ipairs(rows) do
        out[#out + 1] = { string.format("%016x", r.start), bytes(r.size), bytes(r.resident), bytes(r.footprint),
            bytes(r.swap), r.perms, r.category, text.printable(r.name) }
    end
    return text.table(REGION_COLUMNS, out)
end

-- The group as one reading: every category summed over the processes.
local function summed(list)
    local all, pt, fp = {}, 0, 0
    for _, r in ipairs(list) do
        for _, row in ipairs(r.regions) do all[#all + 1] = row end
        pt = pt + (r.page_table or 0)
        fp = fp + (r.record_footprint or 0)
    end
    return { name = list[1].name, regions = all, page_table = pt, record_footprint = fp, count = #list }
end

local function csv(rows)
    local out = {}
    for _, r in ipairs(rows) do out[#out + 1] = text.csv_line(r) end
    return table.concat(out)
end

-- ---- one breakdown --------------------------------------------------------------

local function show(list, opts)
    if opts.format == "json" then
        local docs = {}
        for _, r in ipairs(list) do
            local sums = regions.summarize(r.regions, "category", r.page_table)
            docs[#docs + 1] = { pid = r.pid, processes = r.count, name = r.name, categories = sums,
                total = total_of(sums).footprint, record_footprint = r.record_footprint,
                regions = opts.regions and r.regions or nil }
        end
        io.stdout:write(require("memwatch.json").encode(docs, true), "\n")
        return
    end
    if opts.format == "csv" then
        local rows
        if opts.regions then
            rows = { { "pid", "start", "end", "perms", "size", "resident", "footprint", "swap", "category",
                "mapping" } }
            for _, r in ipairs(list) do
                for _, g in ipairs(r.regions) do
                    rows[#rows + 1] = { r.pid, string.format("%x", g.start), string.format("%x", g["end"]),
                        g.perms, g.size, g.resident, g.footprint, g.swap, g.category, g.name }
                end
            end
        else
            rows = { { "pid", "name", "category", "footprint", "clean", "swap", "regions" } }
            for _, r in ipairs(list) do
                for _, s in ipairs(regions.summarize(r.regions, "category", r.page_table)) do
                    rows[#rows + 1] = { r.pid or "", r.name or "", s.name, s.footprint, s.clean, s.swap, s.regions }
                end
            end
        end
        io.stdout:write(csv(rows))
        return
    end
    local out = {}
    for i, r in ipairs(list) do
        if i > 1 then out[#out + 1] = "\n" end
        out[#out + 1] = who(r, r.count) .. "\n"
        local sums = regions.summarize(r.regions, "category", r.page_table)
        if opts.regions then out[#out + 1] = region_table(r.regions) end
        local tbl, t = category_table(sums)
        out[#out + 1] = tbl
        if #r.regions == 0 and (r.kernel_thread or r.zombie) then
            out[#out + 1] = r.kernel_thread and "a kernel thread: no user-space memory\n"
                or "a zombie: its memory is already released\n"
        else
            out[#out + 1] = agreement(t.footprint, r.record_footprint, t.regions, r.pid) .. "\n"
        end
    end
    io.stdout:write(table.concat(out))
end

-- ---- --diff ----------------------------------------------------------------------

local DIFF_CATEGORY_COLUMNS = {
    { title = "CATEGORY" }, { title = "CHANGE", align = "right" }, { title = "BEFORE", align = "right" },
    { title = "AFTER", align = "right" },
}
local DIFF_REGION_COLUMNS = {
    { title = "REGION" }, { title = "CHANGE", align = "right" }, { title = "BEFORE", align = "right" },
    { title = "AFTER", align = "right" }, { title = "STATUS" },
}

local function show_diff(pairs_, seconds, opts)
    local docs, out = {}, {}
    for i, p in ipairs(pairs_) do
        local d = regions.compare(p.before.regions, p.after.regions)
        local fb = total_of(regions.summarize(p.before.regions, "category")).footprint
        local fa = total_of(regions.summarize(p.after.regions, "category")).footprint
        docs[#docs + 1] = { pid = p.after.pid, name = p.after.name, seconds = seconds, before = fb, after = fa,
            change = fa - fb, categories = d.categories, regions = d.regions }
        if opts.format == nil then
            if i > 1 then out[#out + 1] = "\n" end
            out[#out + 1] = string.format("%s over %s: %s -> %s (%s)\n", who(p.after), units.span(seconds),
                bytes(fb), bytes(fa), signed(fa - fb))
            if #d.categories == 0 and #d.regions == 0 then
                out[#out + 1] = "no region changed\n"
            else
                local rows = {}
                for _, c in ipairs(d.categories) do
                    rows[#rows + 1] = { c.name, signed(c.change), bytes(c.before), bytes(c.after) }
                end
                if #rows > 0 then out[#out + 1] = text.table(DIFF_CATEGORY_COLUMNS, rows) end
                rows = {}
                for _, g in ipairs(d.regions) do
                    rows[#rows + 1] = { string.format("%x %s", g.start, text.printable(g.name)), signed(g.change),
                        bytes(g.before), bytes(g.after), g.status }
                end
                out[#out + 1] = text.table(DIFF_REGION_COLUMNS, rows)
            end
        end
    end
    if opts.format == "json" then
        io.stdout:write(require("memwatch.json").encode(docs, true), "\n")
    elseif opts.format == "csv" then
        local rows = { { "pid", "kind", "name", "start", "change", "before", "after", "status" } }
        for _, doc in ipairs(docs) do
            for _, c in ipairs(doc.categories) do
                rows[#rows + 1] = { doc.pid, "category", c.name, "", c.change, c.before, c.after, "" }
            end
            for _, g in ipairs(doc.regions) do
                rows[#rows + 1] = { doc.pid, "region", g.name, string.format("%x", g.start), g.change, g.before,
                    g.after, g.status }
            end
        end
        io.stdout:write(csv(rows))
    else
        io.stdout:write(table.concat(out))
    end
end

return options.command {
    name = "footprint",
    summary = "where a process's memory is: by category, by region, what grew",
    usage = [[
usage: memwatch footprint PID|NAME [--limit N] [--sum] [--regions]
                          [--format=json|csv] [--diff DURATION]

Breaks a process's footprint down by category, as macOS `footprint` does:
one line per category (FOOTPRINT: the memory that counts, i.e. anonymous,
swapped and shared-memory pages; CLEAN: resident file pages the kernel can
drop; SWAPPED; REGIONS: how many mappings), largest first, then the total,
which equals the record's footprint once page tables are counted, and a line
saying whether it does. Categories: heap, stack ([stack], and [stack:TID]
where a thread's stack pointer is), anonymous ([anon], [anon:NAME]), shared
memory (MAP_SHARED anonymous, memfd, SysV, /dev/shm), code, data (written)
(file mappings with copy-on-write pages the process wrote), data, gpu, other,
page tables.

A NAME with several processes gives one breakdown per process, largest
footprint first.

  --limit N          at most N processes (with a NAME)
  --sum              one breakdown for all the processes of NAME together
  --regions          also list every region (like pmap -x): address, size,
                     resident, footprint, swapped, permissions, category and
                     path or pseudo-path ([heap], [anon], /memfd:NAME, ...)
  --format=json|csv  for scripts
  --diff DURATION    read twice DURATION apart (30s, 5m) and print what grew
                     and shrank, by category and by region (new, grown,
                     shrunk, vanished), largest change first

Linux reads /proc/PID/smaps, which holds the process's mmap_lock while it is
read (milliseconds for a large process). macOS walks the address space with
proc_pidinfo (same user, no root) and groups regions by their allocation tag
as footprint and vmmap do: heap (MALLOC_*), stack, gpu (IOSurface,
IOAccelerator), device memory (IOKit), system libraries (the dyld shared
cache); the total is compared with the kernel's phys_footprint.
]],
    options = {
        help = { short = "h" },
        limit = { arg = true },
        sum = {},
        regions = {},
        format = { arg = true, values = { "json", "csv" } },
        diff = { arg = true },
    },
    run = function(opts, args)
        if #args ~= 1 then return false, "expected one PID or NAME" end
        local limit
        if opts.limit then
            limit = math.tointeger(tonumber(opts.limit))
            if not limit or limit < 1 then
                return false, string.format("--limit must be a positive integer, got '%s'", opts.limit)
            end
        end
        if opts.sum and opts.regions then return false, "--sum and --regions cannot be used together" end
        if opts.sum and opts.diff then return false, "--sum and --diff cannot be used together" end
        local seconds
        if opts.diff then
            local ok, v = pcall(memwatch.parse_duration, opts.diff)
            if not ok then return false, "--diff: " .. options.bare(v) end
            if v <= 0 then return false, "--diff must be greater than 0" end
            seconds = v
        end
        local recs, err = targets(args[1])
        if not recs then return nil, err end
        if limit and #recs > limit then
            for i = #recs, limit + 1, -1 do recs[i] = nil end
        end
        local list = {}
        for _, rec in ipairs(recs) do
            local r, rerr = reading(rec.pid)
            -- A process of a group that exits meanwhile is left out.
            if r then
                list[#list + 1] = r
            elseif #recs == 1 then
                return nil, rerr
            end
        end
        if #list == 0 then return nil, text.printable(string.format("no process named '%s' left to read", args[1])) end
        if seconds then
            memwatch.sleep(seconds)
            local pairs_ = {}
            for _, before in ipairs(list) do
                local after, aerr = reading(before.pid)
                if after then
                    pairs_[#pairs_ + 1] = { before = before, after = after }
                elseif #list == 1 then
                    return nil, aerr
                end
            end
            show_diff(pairs_, seconds, opts)
            return 0
        end
        if opts.sum then list = { summed(list) } end
        show(list, opts)
        return 0
    end,
}
