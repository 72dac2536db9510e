-- memwatch.watch.rule: checks a rule definition (the table given to
-- memwatch.watch) and turns it into the form the engine runs. Every mistake
-- is reported here, at registration, naming the rule and the key.
local core = require "memwatch.core"
local units = require "memwatch.units"
local select_ = require "memwatch.select"

local M = {}

local KEYS = { "name", "select", "group", "metric", "fields", "above", "below", "sustain", "clear",
    "repeat_every", "every", "growth", "on_alert", "on_resolve", "explain" }
local KEY_SET = {}
for _, k in ipairs(KEYS) do KEY_SET[k] = true end

local GROWTH_KEYS = { "window", "above", "limit", "warmup", "min_r2" }
local GROWTH_SET = {}
for _, k in ipairs(GROWTH_KEYS) do GROWTH_SET[k] = true end

local GROUPS = { none = true, name = true, tree = true, app = true, user = true }

-- Fields whose sum over processes is not a size of anything: shared pages
-- (file cache, shared memory) would be counted once per process.
local NOT_ADDITIVE = { resident = true, rss_file = true, virtual = true, resident_peak = true }

M.KEYS = KEYS

-- memwatch's own modules are the files under the directory this one was
-- loaded from ("@memwatch/" when bundled in the executable), whose module
-- is loaded: a user's script in a folder that happens to be called
-- memwatch is not one of them.
local OWN = debug.getinfo(1, "S").source:match("^(@.-)watch/rule%.lua$")

local function own_module(source)
    if not OWN or source:sub(1, #OWN) ~= OWN then return false end
    local rest = source:sub(#OWN + 1)
    if not rest:match("^[%w_/]+%.lua$") then return false end
    local mod = ("memwatch/" .. rest:gsub("%.lua$", "")):gsub("/init$", ""):gsub("/", ".")
    return package.loaded[mod] ~= nil
end
M.own_module = own_module

-- The first stack level outside memwatch's own modules: the user's call.
local function user_where()
    for level = 3, 40 do
        local info = debug.getinfo(level, "Sl")
        if not info then break end
        if info.what ~= "C" and not own_module(info.source) then
            if info.currentline and info.currentline > 0 then
                return info.short_src .. ":" .. info.currentline .. ": "
            end
            return ""
        end
    end
    return ""
end
M.user_where = user_where

local function bare(err)
    return (tostring(err):gsub("^[^\n]-:%d+: ", "", 1))
end

-- A compile context: raises "memwatch.watch: rule 'x': ..." at the user's line.
local function failer(label)
    return function(fmt, ...)
        error(user_where() .. "memwatch.watch: " .. label .. ": " .. string.format(fmt, ...), 0)
    end
end

local KIND_NOUN = { count = "a count", seconds = "a time in seconds" }

-- A size: bytes, a size string, or a share of physical memory ("20%",
-- resolved against env.memory_total()). Returns bytes and the percentage.
local function size(fail, key, v, env, metric)
    if math.type(v) == "integer" or math.type(v) == "float" then
        if v ~= v then fail("'%s' must be a number, got nan", key) end
        if v < 0 then fail("'%s' must not be negative, got %s", key, tostring(v)) end
        return v
    end
    if type(v) ~= "string" then
        fail("'%s' must be a number or a size string such as \"1.5G\" or \"20%%\", got %s", key, type(v))
    end
    if v:match("^%s*%-") then fail("'%s' must not be negative, got '%s'", key, v) end
    if units.percent(v) and metric then
        fail("'%s': '%s' is a share of physical memory, which only a size metric can be compared with " ..
            "('%s' is %s)", key, v, metric, KIND_NOUN[core.fields[metric].kind] or core.fields[metric].kind)
    end
    local total = units.percent(v) and env.memory_total and env.memory_total() or nil
    local ok, n, pct = pcall(units.parse_size, v, total)
    if not ok then fail("'%s': %s", key, bare(n)) end
    return n, pct
end

local function duration(fail, key, v)
    if type(v) == "number" then
        if v ~= v or v == math.huge then fail("'%s' must be a finite duration", key) end
        if v < 0 then fail("'%s' must not be negative, got %s", key, tostring(v)) end
        return v + 0.0
    end
    if type(v) ~= "string" then
        fail("'%s' must be a duration such as \"30s\" or a number of seconds, got %s", key, type(v))
    end
    if v:match("^%s*%-") then fail("'%s' must not be negative, got '%s'", key, v) end
    local ok, s = pcall(core.parse_duration, v)
    if not ok then fail("'%s': %s", key, bare(s)) end
    return s
end

local RATE_UNITS = { s = 1, sec = 1, m = 60, min = 60, h = 3600, d = 86400 }
local RATE_SHORT = { s = "s", sec = "s", m = "m", min = "m", h = "h", d = "d" }

-- "50M/h" -> bytes per second, and the time unit it was written in
-- ({seconds = 3600, unit = "h"}), so it prints back as it was given. A
-- number is already bytes per second.
local function rate(fail, key, v)
    if type(v) == "number" then
        if v ~= v or v < 0 then fail("'%s' must not be negative, got %s", key, tostring(v)) end
        return v + 0.0, { seconds = 1, unit = "s" }
    end
    if type(v) ~= "string" then
        fail("'%s' must be a rate such as \"50M/h\" or a number of bytes per second, got %s", key, type(v))
    end
    local amount, per = v:match("^%s*([^/]-)%s*/%s*(.-)%s*$")
    if not amount then
        fail("'%s': invalid rate '%s': expected SIZE/UNIT such as \"50M/h\" (units s, m, h, d)", key, v)
    end
    if amount:match("^%-") then fail("'%s' must not be negative, got '%s'", key, v) end
    local ok, bytes = pcall(core.parse_bytes, amount)
    if not ok then fail("'%s': invalid rate '%s': %s", key, v, bare(bytes)) end
    local count, unit = per:match("^(%d*%.?%d*)%s*(%a+)$")
    local seconds = unit and RATE_UNITS[unit]
    if not seconds then
        fail("'%s': invalid rate '%s': expected SIZE/UNIT such as \"50M/h\" (units s, m, h, d)", key, v)
    end
    local n = count ~= "" and tonumber(count) or 1
    if not n or n <= 0 then
        fail("'%s': invalid rate '%s': the time unit must be positive", key, v)
    end
    return bytes / (n * seconds), { seconds = n * seconds, unit = (count ~= "" and count or "") .. RATE_SHORT[unit] }
end

local function callbacks(fail, key, v)
    if v == nil then return {} end
    local function callable(f)
        if type(f) == "function" then return true end
        local mt = getmetatable(f)
        return type(mt) == "table" and mt.__call ~= nil
    end
    if callable(v) then return { v } end
    if type(v) == "table" then
        local list = {}
        for i, f in ipairs(v) do
            if not callable(f) then fail("'%s' entry %d must be a function, got %s", key, i, type(f)) end
            list[i] = f
        end
        if #list == 0 then fail("'%s' must be a function or a list of functions, got an empty table", key) end
        return list
    end
    fail("'%s' must be a function or a list of functions, got %s", key, type(v))
end

local function field_list(fail, key, v)
    if v == nil then return {} end
    if type(v) ~= "table" then fail("'%s' must be a list of field names, got %s", key, type(v)) end
    for i, f in ipairs(v) do
        if type(f) ~= "string" or not (core.fields[f] or f == "cmdline" or f == "path") then
            fail("'%s' entry %d: unknown field '%s'", key, i, tostring(f))
        end
    end
    return v
end

-- A stable text for a definition, so a reloaded script can tell which rules
-- did not change. Functions compare by their bytecode.
local function signature(v, seen)
    local t = type(v)
    if t == "table" then
        seen = seen or {}
        if seen[v] then return "<cycle>" end
        seen[v] = true
        local keys = {}
        for k in pairs(v) do keys[#keys + 1] = k end
        table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
        local parts = {}
        for _, k in ipairs(keys) do
            parts[#parts + 1] = tostring(k) .. "=" .. signature(v[k], seen)
        end
        local mt = getmetatable(v)
        if type(mt) == "table" and mt.__call then parts[#parts + 1] = "__call=" .. signature(mt.__call, seen) end
        seen[v] = nil
        return "{" .. table.concat(parts, ",") .. "}"
    elseif t == "function" then
        local ok, code = pcall(string.dump, v, true)
        local ups = {}
        for i = 1, 255 do
            local name, val = debug.getupvalue(v, i)
            if not name then break end
            if type(val) ~= "table" and type(val) ~= "function" and type(val) ~= "userdata" then
                ups[#ups + 1] = name .. ":" .. tostring(val)
            end
        end
        return "fn(" .. (ok and code or tostring(v)) .. "|" .. table.concat(ups, ",") .. ")"
    elseif t == "string" then
        return string.format("%q", v)
    end
    return tostring(v)
end
M.signature = signature

-- A duration as people write it: "500ms", "20s", "10m", "2h", "1h30m00s".
local function dur(s)
    if s < 60 then return string.format("%gs", s) end
    if s % 3600 == 0 then return string.format("%dh", s // 3600) end
    if s % 60 == 0 and s < 3600 then return string.format("%dm", s // 60) end
    return units.span(s)
end
M.dur = dur

--- check_samples(rule, every, fail): a growth rule whose window holds
-- fewer than three samples at the sampling interval can never fit a line:
-- refused, naming the keys. `every` nil: not known yet (checked at run).
function M.check_samples(r, every, fail)
    if not every then return end
    local window = r.growth.window
    if window + 1e-9 < 2 * every then
        fail("'growth.window' (%s) holds fewer than three samples taken every %s ('every'%s), so it can " ..
            "never give a verdict: make 'growth.window' at least %s or 'every' at most %s", dur(window),
            dur(every), r.every and "" or ", the default", dur(2 * every), dur(window / 2))
    end
end

--- compile(def, default_name, env) -> rule. Raises on any mistake.
-- env: {memory_total = fn() -> bytes | nil, every = the engine's default
-- sampling interval}.
function M.compile(def, default_name, env)
    env = env or {}
    if type(def) ~= "table" then
        error(user_where() .. string.format("memwatch.watch: a rule must be a table, got %s", type(def)), 0)
    end
    local name = def.name
    local label
    if name == nil then
        name = default_name
        label = "rule " .. default_name
    elseif type(name) ~= "string" or name == "" then
        error(user_where() .. string.format("memwatch.watch: rule %s: 'name' must be a non-empty string, got %s",
            default_name, type(name)), 0)
    else
        label = string.format("rule '%s'", name)
    end
    local fail = failer(label)

    local unknown = {}
    for k in pairs(def) do
        if not KEY_SET[k] then unknown[#unknown + 1] = tostring(k) end
    end
    if #unknown > 0 then
        table.sort(unknown)
        fail("unknown key '%s' (expected %s)", unknown[1], table.concat(KEYS, ", "))
    end

    local r = { name = name, label = label, def = def }

    local ok, c = pcall(select_.compile, def.select, "select", 1)
    if not ok then fail("%s", bare(c)) end
    r.select = c

    local g = def.group
    if g == nil then
        r.group = "none"
    elseif type(g) == "function" then
        r.group, r.group_fn = "function", g
    elseif type(g) == "string" and GROUPS[g] then
        r.group = g
    else
        fail("'group' must be none, name, tree, app, user or a function, got %s",
            type(g) == "string" and ("'" .. g .. "'") or type(g))
    end

    local m = def.metric
    if m == nil then
        r.metric = "footprint"
    elseif type(m) == "function" then
        r.metric, r.metric_fn = "function", m
    elseif type(m) == "string" then
        local info = core.fields[m]
        if not info or info.kind == "epoch" or m == "pid" or m == "ppid" or m == "uid" or m == "unique_id" then
            fail("unknown metric '%s' (a size or count field such as footprint, pss, uss, swap, threads, " ..
                "cpu_time, or a function)", m)
        end
        if NOT_ADDITIVE[m] and r.group ~= "none" then
            fail("metric '%s' cannot be summed over a group: shared pages would be counted once per " ..
                "process (group sums use footprint, or pss to share them out)", m)
        end
        r.metric = m
    else
        fail("'metric' must be a field name or a function, got %s", type(m))
    end
    r.fields = field_list(fail, "fields", def.fields)
    -- A metric a share of memory cannot be compared with (a count, seconds).
    local not_size = not r.metric_fn and core.fields[r.metric].kind ~= "bytes" and r.metric or nil

    local has_above, has_below, has_growth = def.above ~= nil, def.below ~= nil, def.growth ~= nil
    if not (has_above or has_below or has_growth) then
        fail("needs 'above', 'below' or 'growth'")
    end
    if has_above and has_below then
        fail("'above' and 'below' cannot be combined in one rule: write two rules")
    end
    if has_growth and (has_above or has_below) then
        fail("'growth' cannot be combined with 'above' or 'below': write two rules")
    end

    if has_growth then
        local gdef = def.growth
        if type(gdef) ~= "table" then fail("'growth' must be a table, got %s", type(gdef)) end
        local unknown_g = {}
        for k in pairs(gdef) do
            if not GROWTH_SET[k] then unknown_g[#unknown_g + 1] = tostring(k) end
        end
        if #unknown_g > 0 then
            table.sort(unknown_g)
            fail("unknown key 'growth.%s' (expected %s)", unknown_g[1], table.concat(GROWTH_KEYS, ", "))
        end
        if gdef.above == nil then fail("'growth.above' is required (a rate such as \"50M/h\")") end
        local gr = {}
        gr.rate, gr.per = rate(fail, "growth.above", gdef.above)
        gr.window = duration(fail, "growth.window", gdef.window or "10m")
        if gr.window <= 0 then fail("'growth.window' must be greater than 0") end
        gr.warmup = gdef.warmup ~= nil and duration(fail, "growth.warmup", gdef.warmup) or gr.window
        if gdef.limit ~= nil then gr.limit, gr.limit_pct = size(fail, "growth.limit", gdef.limit, env, not_size) end
        if gdef.min_r2 ~= nil then
            if type(gdef.min_r2) ~= "number" or gdef.min_r2 < 0 or gdef.min_r2 > 1 then
                fail("'growth.min_r2' must be a number from 0 to 1, got %s", tostring(gdef.min_r2))
            end
            gr.min_r2 = gdef.min_r2
        else
            gr.min_r2 = 0.5
        end
        r.growth = gr
        r.direction = "growth"
        r.threshold = gr.rate
        r.clear = def.clear ~= nil and rate(fail, "clear", def.clear) or gr.rate
        if r.clear > gr.rate then
            fail("'clear' must not be above 'growth.above' (it is the rate at which the alert resolves)")
        end
    elseif has_above then
        r.direction = "above"
        r.threshold, r.threshold_pct = size(fail, "above", def.above, env, not_size)
        r.clear, r.clear_pct = r.threshold, r.threshold_pct
        if def.clear ~= nil then r.clear, r.clear_pct = size(fail, "clear", def.clear, env, not_size) end
        if r.clear > r.threshold then
            fail("'clear' (%s) must not be above 'above' (%s): it is the level at which the alert resolves",
                tostring(def.clear), tostring(def.above))
        end
    else
        r.direction = "below"
        r.threshold, r.threshold_pct = size(fail, "below", def.below, env, not_size)
        r.clear, r.clear_pct = r.threshold, r.threshold_pct
        if def.clear ~= nil then r.clear, r.clear_pct = size(fail, "clear", def.clear, env, not_size) end
        if r.clear < r.threshold then
            fail("'clear' (%s) must not be below 'below' (%s): it is the level at which the alert resolves",
                tostring(def.clear), tostring(def.below))
        end
    end

    local s = def.sustain
    if s == nil then
        r.sustain_s = 0
    elseif math.type(s) == "integer" then
        if s < 0 then fail("'sustain' must not be negative, got %d", s) end
        r.sustain_n = s
    elseif math.type(s) == "float" then
        fail("'sustain' must be a duration string such as \"30s\" or a whole number of samples, got %s",
            tostring(s))
    else
        r.sustain_s = duration(fail, "sustain", s)
    end

    if def.repeat_every ~= nil then
        r.repeat_every = duration(fail, "repeat_every", def.repeat_every)
        if r.repeat_every <= 0 then fail("'repeat_every' must be greater than 0") end
    end
    if def.every ~= nil then
        r.every = duration(fail, "every", def.every)
        if r.every <= 0 then fail("'every' must be greater than 0") end
    end
    -- event.grew (watch/grew.lua): growth rules explain by default, over
    -- their window; others when asked, over ten minutes.
    if def.explain ~= nil and type(def.explain) ~= "boolean" then
        fail("'explain' must be true or false, got %s", type(def.explain))
    end
    if def.explain or (def.explain == nil and r.growth) then
        r.grew_window = r.growth and r.growth.window or 600
    end

    if r.growth then M.check_samples(r, r.every or env.every, fail) end

    r.on_alert = callbacks(fail, "on_alert", def.on_alert)
    r.on_resolve = callbacks(fail, "on_resolve", def.on_resolve)

    -- The fields this rule needs in every scan.
    -- start_time keys per-process state, so a reused pid starts afresh.
    local need = { "start_time" }
    if r.metric_fn == nil then need[#need + 1] = r.metric end
    for _, f in ipairs(r.fields) do need[#need + 1] = f end
    for _, f in ipairs(c.fields) do need[#need + 1] = f end
    r.need = need
    r.signature = signature(def)
    return r
end

--- threshold_text(rule, fmt) -> "4.0G", "20% (4.7G)", "50.0M/h": the
-- threshold as the user wrote it. fmt formats a value of the metric.
function M.threshold_text(r, fmt)
    if r.direction == "growth" then return units.rate(r.threshold, r.growth.per) end
    if r.threshold_pct then return units.size_text(r.threshold, r.threshold_pct) end
    return fmt(r.threshold)
end

--- first_verdict(rule, every) -> "first verdict after 10m of samples
-- (warm-up)", or nil when the first sample can give one.
function M.first_verdict(r, every)
    local over = r.direction == "below" and "under the threshold" or "over the threshold"
    local hold
    if r.sustain_n and r.sustain_n > 1 then
        hold = string.format("%d samples %s", r.sustain_n, r.direction == "growth" and "above the rate" or over)
    elseif r.sustain_s and r.sustain_s > 0 then
        hold = string.format("%s %s", dur(r.sustain_s), r.direction == "growth" and "above the rate" or over)
    end
    if r.direction == "growth" then
        -- A fit needs three samples and the warm-up, whichever is longer.
        local warm = math.max(r.growth.warmup, 2 * (every or 0))
        return string.format("first verdict after %s of samples (warm-up)%s", dur(warm),
            hold and (", then " .. hold) or "")
    end
    return hold and ("first verdict after " .. hold) or nil
end

--- describe(rule, bytes): one line saying what the rule does.
function M.describe(r, fmt)
    local what = r.metric_fn and "the metric" or r.metric
    local sel = {}
    for _, k in ipairs(select_.KEYS) do
        local v = r.def.select and r.def.select[k]
        if v ~= nil then
            sel[#sel + 1] = k .. "=" .. (type(v) == "table" and table.concat(v, ",") or tostring(v))
        end
    end
    local scope = #sel > 0 and (" (" .. table.concat(sel, " ") .. ")") or " (all processes)"
    local per = ({ none = "each process", name = "each process name", tree = "each process tree",
        app = "each app", user = "each user", ["function"] = "each group" })[r.group]
    local cond
    if r.direction == "growth" then
        cond = string.format("grows faster than %s over %s (r2 >= %g)", units.rate(r.growth.rate, r.growth.per),
            dur(r.growth.window), r.growth.min_r2)
    else
        cond = string.format("is %s %s", r.direction, M.threshold_text(r, fmt))
    end
    local hold = r.sustain_n and string.format(" for %d sample%s", r.sustain_n, r.sustain_n == 1 and "" or "s") or
        (r.sustain_s > 0 and string.format(" for %gs", r.sustain_s) or "")
    local clear = ""
    if r.clear ~= r.threshold then
        clear = string.format("; resolves at %s", r.direction == "growth" and units.rate(r.clear, r.growth.per) or
            (r.clear_pct and units.size_text(r.clear, r.clear_pct) or fmt(r.clear)))
    end
    return string.format("%s: alert when %s of %s%s %s%s%s", r.label, what, per, scope, cond, hold, clear)
end

return M
