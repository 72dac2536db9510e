-- memwatch.explain(pid): why a process's footprint ("Memory") and its
-- resident size ("Real Memory") differ, one line per counter that makes the
-- difference, from the counters the backend already reads.
local core = require "memwatch.core"
local scan = require "memwatch.scan"
local text = require "memwatch.text"
local rule_ = require "memwatch.watch.rule"

local M = {}

local function b(v) return v and core.bytes(v) or "-" end

-- Linux: footprint = rss_anon + rss_shmem + swap + page_table
--        resident  = rss_anon + rss_shmem + rss_file
local LINUX = {
    { "rss_anon", true, true, "anonymous memory in RAM (heap, stacks, private writes)" },
    { "rss_shmem", true, true, "shared memory and tmpfs pages in RAM" },
    { "swap", true, false, "anonymous memory swapped out" },
    { "page_table", true, false, "page tables the kernel keeps for this process" },
    { "rss_file", false, true, "file pages in RAM (program code, libraries, mapped files)" },
}

-- macOS: phys_footprint as the kernel computes it from the task ledgers.
local DARWIN = {
    { "internal", 1, "dirty anonymous memory in RAM" },
    { "alternate_accounting", -1, "memory charged to another ledger (IOKit)" },
    { "internal_compressed", 1, "anonymous memory held by the compressor: not resident" },
    { "alternate_accounting_compressed", -1, "compressed memory charged to another ledger" },
    { "iokit_mapped", 1, "IOKit (graphics, drivers) memory mapped into the process" },
    { "purgeable_nonvolatile", 1, "purgeable memory marked in use" },
    { "purgeable_nonvolatile_compress", 1, "purgeable memory in use, compressed" },
    { "page_table", 1, "page tables" },
}

local function where(rec)
    -- The name is bytes chosen by whoever started the process: made printable.
    return string.format("pid %d (%s): footprint %s, resident %s", rec.pid,
        text.printable(rec.name or "?"), b(rec.footprint), b(rec.resident))
end

local function linux(rec)
    local rows, lines = {}, { where(rec) .. "; footprint = rss_anon + rss_shmem + swap + page_table" }
    for _, t in ipairs(LINUX) do
        local name, in_fp, in_res, note = t[1], t[2], t[3], t[4]
        local v = rec[name]
        local where_ = in_fp and in_res and "in both" or in_fp and "in footprint only" or "in resident only"
        rows[#rows + 1] = { name = name, value = v, footprint = in_fp, resident = in_res, note = note }
        lines[#lines + 1] = string.format("  %s %-11s %8s  %s: %s", in_fp and "+" or " ", name, b(v), note,
            v == nil and "not readable" or where_)
    end
    local lazy = rec.lazy_free
    local denied = rec.denied and rec.denied.lazy_free
    rows[#rows + 1] = { name = "lazy_free", value = lazy, footprint = true, resident = true,
        note = "MADV_FREE pages" }
    lines[#lines + 1] = string.format("    %-11s %8s  %s", "lazy_free", denied and "denied" or b(lazy),
        "pages freed with MADV_FREE: counted in both until the kernel reclaims them, which it may do at once")
    if rec.swap and rec.page_table and rec.rss_file then
        local d = rec.swap + rec.page_table - rec.rss_file
        lines[#lines + 1] = string.format("  footprint - resident = swap + page_table - rss_file = %s%s",
            d < 0 and "-" or "", b(math.abs(d)))
    end
    return table.concat(lines, "\n") .. "\n", rows
end

local function darwin(rec, ledger)
    local by = {}
    for _, row in ipairs(ledger or {}) do
        if by[row.name] == nil then by[row.name] = row.balance end
    end
    local lines = { where(rec) ..
        "; footprint = internal - alternate_accounting + internal_compressed - alternate_accounting_compressed" ..
        " + iokit_mapped + purgeable_nonvolatile + purgeable_nonvolatile_compress + page_table" }
    local rows = {}
    local sum, complete = 0, true
    for _, t in ipairs(DARWIN) do
        local v = by[t[1]]
        if v then sum = sum + t[2] * v else complete = false end
        rows[#rows + 1] = { name = t[1], value = v, sign = t[2], note = t[3] }
        lines[#lines + 1] = string.format("  %s %-31s %8s  %s", t[2] > 0 and "+" or "-", t[1],
            v and b(v) or "n/a", t[3])
    end
    if by.external then
        lines[#lines + 1] = string.format("    %-31s %8s  %s", "external", b(by.external),
            "file-backed pages in RAM: resident only")
    end
    if complete and by.phys_footprint then
        lines[#lines + 1] = string.format("  the formula gives %s; the kernel's phys_footprint is %s", b(sum),
            b(by.phys_footprint))
    elseif not complete then
        lines[#lines + 1] = "  (some ledger entries are not readable without root; the terms shown are partial)"
    end
    return table.concat(lines, "\n") .. "\n", rows
end

--- explain(pid [, {platform=, record=, ledger=}]) -> text, rows | nil, message, errno
-- The options inject what would otherwise be read (for tests).
function M.explain(pid, opts)
    if math.type(pid) ~= "integer" then
        error(rule_.user_where() ..
            string.format("bad argument #1 to 'explain' (integer expected, got %s)", math.type(pid) or type(pid)), 0)
    end
    opts = opts or {}
    local platform = opts.platform or core.platform
    local rec = opts.record
    if not rec then
        local msg, errno
        rec, msg, errno = scan.process(pid, platform == "linux" and { "lazy_free" } or nil)
        if not rec then return nil, msg, errno end
    end
    if platform == "darwin" then
        local ledger = opts.ledger
        if not ledger then
            local msg, errno
            ledger, msg, errno = scan.ledger(pid)
            if not ledger then return nil, msg, errno end
        end
        return darwin(rec, ledger)
    end
    return linux(rec)
end

return M
