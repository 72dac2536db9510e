-- memwatch.format.prometheus: the Prometheus text exposition format (0.0.4).
-- Every family has its HELP and TYPE lines and all its samples together;
-- label values are valid UTF-8 (bad bytes become U+FFFD) with \, " and
-- newline escaped; no timestamps (the scraper stamps samples, and node_
-- exporter's textfile collector refuses them).
--
-- Process rows give the process_memory_* gauges (labels pid, name, user);
-- group rows (opts.grouping, or a row's own `grouping`) give memwatch_group_*
-- (labels grouping, group).
-- Extra families (memwatch's own metrics, a script's memwatch.metrics) come
-- through writer:families(list) or opts.families and are printed last:
--   {name=, help=, type="gauge"|"counter", samples={{labels={k=v}, value=n}, ...}}
local core = require "memwatch.core"
local text = require "memwatch.text"
local fieldkind = require "memwatch.format.fields"

local M = {}

-- Process gauges: record field -> metric name, help. Names follow Prometheus
-- conventions (base unit bytes, suffix _bytes) and OpenTelemetry's
-- process.memory.* (process.memory.usage is the resident set).
M.PROCESS = {
    { "footprint", "process_memory_footprint_bytes",
        "Memory footprint: the process's own memory in RAM, compressed or swapped (macOS phys_footprint, " ..
        "Activity Monitor's Memory; Linux RssAnon + RssShmem + VmSwap + VmPTE)." },
    { "resident", "process_memory_usage_bytes",
        "Resident set size, shared and file pages included (OpenTelemetry process.memory.usage; " ..
        "Activity Monitor's Real Memory)." },
    { "virtual", "process_memory_virtual_bytes", "Virtual address space size (OpenTelemetry process.memory.virtual)." },
    { "swap", "process_memory_swap_bytes", "Private anonymous memory swapped out (Linux VmSwap)." },
    { "pss", "process_memory_pss_bytes",
        "Proportional set size (Linux smaps_rollup Pss), only for processes whose smaps_rollup is readable." },
    { "resident_peak", "process_memory_resident_peak_bytes", "Peak resident set size (Linux VmHWM)." },
    { "footprint_peak", "process_memory_footprint_peak_bytes",
        "Lifetime peak of the memory footprint (macOS ri_lifetime_max_phys_footprint)." },
}

M.GROUP = {
    { "footprint", "memwatch_group_memory_footprint_bytes", "Sum of the memory footprint of the group's processes." },
    { "resident", "memwatch_group_memory_usage_bytes",
        "Sum of the resident set size of the group's processes (over-counts pages they share)." },
    { "swap", "memwatch_group_memory_swap_bytes", "Sum of the swapped-out memory of the group's processes." },
    { "pss", "memwatch_group_memory_pss_bytes",
        "Sum of the proportional set size of the group's processes (only when every member's is readable)." },
    { "count", "memwatch_group_processes", "Number of processes in the group." },
    { "coalition_footprint", "memwatch_group_coalition_footprint_bytes",
        "macOS, grouped by app: the kernel's footprint total of the app's coalition, members memwatch " ..
        "may not read included." },
}

function M.escape_label(v, printable)
    v = text.utf8_clean(tostring(v))
    if printable then v = text.printable(v) end
    return (v:gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

function M.escape_help(s)
    return (tostring(s):gsub("[\\\n]", { ["\\"] = "\\\\", ["\n"] = "\\n" }))
end

function M.number(v)
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v then return "NaN" end
    if v == math.huge then return "+Inf" end
    if v == -math.huge then return "-Inf" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", math.floor(v)) end
    return string.format("%.15g", v)
end

-- {k=v} -> '{a="1",b="2"}' in key order ("" when empty).
function M.labels(map, printable)
    local keys = {}
    for k in pairs(map or {}) do keys[#keys + 1] = k end
    if #keys == 0 then return "" end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = string.format('%s="%s"', k, M.escape_label(map[k], printable)) end
    return "{" .. table.concat(parts, ",") .. "}"
end

-- Renders families in order; a family without samples prints nothing.
function M.render_families(families, printable, seen_names)
    local out = {}
    for _, fam in ipairs(families) do
        if seen_names then
            if seen_names[fam.name] then goto next end
            seen_names[fam.name] = true
        end
        if fam.samples and #fam.samples > 0 then
            out[#out + 1] = string.format("# HELP %s %s\n# TYPE %s %s\n", fam.name, M.escape_help(fam.help or ""),
                fam.name, fam.type or "gauge")
            local seen = {}
            for _, s in ipairs(fam.samples) do
                local l = M.labels(s.labels, printable)
                -- Two samples with the same labels would make the scrape fail.
                if not seen[l] then
                    seen[l] = true
                    out[#out + 1] = fam.name .. l .. " " .. M.number(s.value) .. "\n"
                end
            end
        end
        ::next::
    end
    return table.concat(out)
end

-- The labels of a row: not values, whatever opts.fields asks.
local LABELS = { pid = true, name = true, user = true }
local GROUP_LABELS = { group = true, grouping = true, key = true }

-- The family of a field that has none above, by its kind: Prometheus's
-- standard names for CPU time and start time, else process_FIELD with the
-- unit's suffix. A string or a flag is no sample value.
local function family_of(field, kind, grouped)
    if not grouped and field == "cpu_time" then
        return { field, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter" }
    end
    if not grouped and field == "start_time" then
        return { field, "process_start_time_seconds", "Start time of the process since unix epoch in seconds." }
    end
    local base = (grouped and "memwatch_group_" or "process_") .. field
    if kind == "bytes" then return { field, (grouped and base or "process_memory_" .. field) .. "_bytes", field } end
    if kind == "seconds" or kind == "epoch" then return { field, base .. "_seconds", field } end
    if kind == "count" then return { field, base, field } end
    error(string.format("format prometheus: field '%s' is not a number; samples are numbers " ..
        "(%s are labels)", field, grouped and "group and grouping" or "pid, name and user"), 0)
end

-- The families for opts.fields, in their order (labels left out).
local function chosen(fields, grouped)
    fieldkind.check_fields(fields, grouped, "prometheus")
    local known = {}
    for _, d in ipairs(grouped and M.GROUP or M.PROCESS) do known[d[1]] = d end
    local out = {}
    for _, f in ipairs(fields) do
        if not (grouped and GROUP_LABELS or LABELS)[f] then
            out[#out + 1] = known[f] or family_of(f, fieldkind.kind(f, grouped), grouped)
        end
    end
    return out
end

M.name = "prometheus"
M.description = "Prometheus text exposition (HELP, TYPE, escaped labels)"

function M.new(opts, emit)
    -- A group row may name its own grouping (row.grouping), so one writer
    -- renders several groupings (serve --group app --group user) and the
    -- process series together, each family once. --fields chooses the
    -- families of the kind the writer was made for.
    local function families(defs)
        local fams = {}
        for i, d in ipairs(defs) do fams[i] = { name = d[2], help = d[3], type = d[4] or "gauge", samples = {} } end
        return fams
    end
    local pdefs = (opts.fields and not opts.grouping) and chosen(opts.fields, false) or M.PROCESS
    local gdefs = (opts.fields and opts.grouping) and chosen(opts.fields, true) or M.GROUP
    local pfams, gfams = families(pdefs), families(gdefs)
    local extra = {}
    local used_group = {}
    -- Fields asked for by name may be read on access (a record's lazy
    -- fields); the default ones are what the scan read.
    local get = (opts.fields and not opts.grouping) and function(r, k) return r[k] end or core.peek
    return {
        record = function(_, row)
            local labels, defs, fams
            local grouping = core.peek(row, "grouping") or opts.grouping
            if grouping then
                used_group[grouping] = used_group[grouping] or {}
                local used = used_group[grouping]
                local g = row.label or row.key
                if g == nil or used[g] then g = row.key end
                used[g] = true
                labels = { grouping = grouping, group = g }
                defs, fams = gdefs, gfams
            else
                labels = { pid = core.peek(row, "pid"), name = core.peek(row, "name") or "",
                    user = core.peek(row, "user") or core.peek(row, "uid") or "" }
                defs, fams = pdefs, pfams
            end
            for i, d in ipairs(defs) do
                local v = get(row, d[1])
                if type(v) == "number" then
                    local s = fams[i].samples
                    s[#s + 1] = { labels = labels, value = v }
                end
            end
        end,
        families = function(_, list)
            for _, f in ipairs(list) do extra[#extra + 1] = f end
        end,
        finish = function()
            local seen = {}
            emit(M.render_families(pfams, opts.printable, seen) .. M.render_families(gfams, opts.printable, seen) ..
                M.render_families(extra, opts.printable, seen))
        end,
    }
end

return M
