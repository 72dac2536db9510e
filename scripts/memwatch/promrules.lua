-- memwatch.promrules: a watch script's rules as Prometheus alerting rules
-- over `memwatch serve`'s metrics (memwatch rules FILE.lua --prometheus).
--
-- A rule is translated only when Prometheus would fire the same alert for
-- the same group at the same time; anything else is refused with the reason,
-- never approximated. The alert's labels are the ones memwatch's own
-- Alertmanager action sends (alertname = the rule's name, key, grouping,
-- instance, plus the user's labels), so Alertmanager deduplicates the two.
--
-- Input: compiled rules (memwatch.watch.rule.compile). A threshold is a
-- number of bytes, or a fraction of the host's memory (rule.threshold_pct and
-- rule.clear_pct from rule.lua, or rule.threshold_fraction and
-- rule.clear_fraction), compared with serve's memwatch_system_memory_total_bytes.
local core = require "memwatch.core"
local prom = require "memwatch.format.prometheus"
local units = require "memwatch.units"
local rule_ = require "memwatch.watch.rule"

local M = {}

-- Metric name of a rule field in serve's per-process series and in its group
-- series (format/prometheus.lua names them).
local PROCESS_METRIC, GROUP_METRIC = {}, {}
for _, d in ipairs(prom.PROCESS) do PROCESS_METRIC[d[1]] = d[2] end
for _, d in ipairs(prom.GROUP) do GROUP_METRIC[d[1]] = d[2] end
M.TOTAL_METRIC = "memwatch_system_memory_total_bytes"

-- Labels the translation sets itself; a user label may not take these names.
M.RESERVED = { alertname = true, key = true, grouping = true, instance = true }

--- alert_labels{rule =, key =, grouping =, instance =, labels =} -> the
-- label set of a memwatch alert: alertname (the rule's name), key,
-- grouping, instance, and the user's labels (which never replace those).
-- The one definition both the rules file (which leaves rule, key and
-- instance to `alert:` and the series) and the Alertmanager action use, so
-- Alertmanager deduplicates their alerts.
function M.alert_labels(a)
    local out = {}
    for k, v in pairs(a.labels or {}) do
        if not M.RESERVED[k] then out[k] = v end
    end
    out.alertname, out.key, out.grouping, out.instance = a.rule, a.key, a.grouping, a.instance
    return out
end

--- label_problem(name) -> nil for a name a user label may take, else why not
function M.label_problem(name)
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") or name:match("^__") then
        return "is not a Prometheus label name"
    end
    if M.RESERVED[name] then return "is set by memwatch (alertname, key, grouping, instance)" end
    return nil
end

-- ---- Lua patterns as RE2 -------------------------------------------------------------

local CLASSES = { a = "alpha", d = "digit", s = "space", w = "alnum", l = "lower", u = "upper", x = "xdigit",
    p = "punct", c = "cntrl", g = "graph" }
local RE_SPECIAL = "[\\.%+%*%?%(%)|%[%]{}%^%$]"

-- A class letter as the inside of an RE2 bracket ("[:alpha:]", "[:^alpha:]").
local function posix(letter)
    local name = CLASSES[letter:lower()]
    if not name then return nil end
    return letter:match("%u") and ("[:^" .. name .. ":]") or ("[:" .. name .. ":]")
end

local function escape_in_set(ch)
    if ch:match("[\\%]%[%^%-]") then return "\\" .. ch end
    return ch
end

--- re2(pattern) -> regex | nil, reason
-- A Lua pattern, as string.find tries it anywhere in a name, as an RE2 regex
-- for Prometheus's fully anchored =~ matcher. Translated: literals, ".",
-- the classes %a %c %d %g %l %p %s %u %w %x (and their complements), sets
-- with ranges, "^" and "$" anchors, and the quantifiers * + - ?. Refused:
-- captures, back-references, %b, %f, and non-ASCII bytes where Lua and RE2
-- would count them differently.
function M.re2(p)
    if not utf8.len(p) then return nil, "it is not valid UTF-8" end
    local out, i, n = {}, 1, #p
    local head, tail = "(?s).*", ".*"
    if p:sub(1, 1) == "^" then head, i = "(?s)", 2 end
    while i <= n do
        local c = p:sub(i, i)
        local item
        local ascii = true
        if c == "$" and i == n then
            tail = ""
            break
        elseif c == "(" or c == ")" then
            return nil, "captures ( ) are not translated"
        elseif c == "%" then
            local d = p:sub(i + 1, i + 1)
            if d == "b" or d == "f" then return nil, string.format("%%%s has no RE2 form", d) end
            if d:match("%d") then return nil, "back-references (%" .. d .. ") have no RE2 form" end
            local cls = posix(d)
            if cls then
                item = "[" .. cls .. "]"
            elseif d:match("[%w]") then
                item = d -- %q is a plain q in Lua 5.4
            else
                item = d:match(RE_SPECIAL) and ("\\" .. d) or d
                ascii = d:byte() < 128
            end
            i = i + 2
        elseif c == "." then
            item = "."
            i = i + 1
        elseif c == "[" then
            local j = i + 1
            local parts = { "[" }
            if p:sub(j, j) == "^" then
                parts[2] = "^"
                j = j + 1
            end
            -- The closing ']' as lstrlib's classEnd finds it: the first item
            -- is taken as is (so "[]]" holds "]"), "%x" is one item.
            local close, k = nil, j
            repeat
                if k > n then return nil, "malformed set (missing ']')" end
                if p:sub(k, k) == "%" then k = k + 1 end
                k = k + 1
                if p:sub(k, k) == "]" then close = k end
            until close
            while j < close do
                local ch = p:sub(j, j)
                if ch == "%" then
                    local d = p:sub(j + 1, j + 1)
                    local cls = posix(d)
                    if cls then
                        parts[#parts + 1] = cls
                    elseif d:byte() < 128 then
                        parts[#parts + 1] = escape_in_set(d)
                    else
                        return nil, "a set holds a non-ASCII byte"
                    end
                    j = j + 2
                elseif p:sub(j + 1, j + 1) == "-" and j + 2 < close then
                    local hi = p:sub(j + 2, j + 2)
                    if ch:byte() >= 128 or hi:byte() >= 128 then return nil, "a set holds a non-ASCII byte" end
                    parts[#parts + 1] = escape_in_set(ch) .. "-" .. escape_in_set(hi)
                    j = j + 3
                else
                    if ch:byte() >= 128 then return nil, "a set holds a non-ASCII byte" end
                    parts[#parts + 1] = escape_in_set(ch)
                    j = j + 1
                end
            end
            parts[#parts + 1] = "]"
            item = table.concat(parts)
            i = close + 1
        else
            item = c:match(RE_SPECIAL) and ("\\" .. c) or c
            ascii = c:byte() < 128
            i = i + 1
        end
        local q = p:sub(i, i)
        if q == "*" or q == "+" or q == "-" or q == "?" then
            -- Lua repeats one byte; RE2 one character: the same only for ASCII.
            if not ascii then return nil, "a quantifier follows a non-ASCII byte" end
            -- Lazy or greedy, a full match exists or not alike.
            item = item .. (q == "-" and "*" or q)
            i = i + 1
        end
        out[#out + 1] = item
    end
    return head .. table.concat(out) .. tail
end

-- ---- PromQL and YAML text ------------------------------------------------------------

--- quote(s) -> a PromQL (and Go) double-quoted string
function M.quote(s)
    return '"' .. tostring(s):gsub('[\\"\n\r\t]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n",
        ["\r"] = "\\r", ["\t"] = "\\t" }) .. '"'
end

-- A YAML double-quoted scalar (valid UTF-8; control characters escaped).
local function yq(s)
    s = core.utf8_clean(tostring(s))
    return '"' .. s:gsub('[%c\\"]', function(ch)
        if ch == "\\" then return "\\\\" end
        if ch == '"' then return '\\"' end
        if ch == "\n" then return "\\n" end
        if ch == "\t" then return "\\t" end
        return string.format("\\x%02x", ch:byte())
    end) .. '"'
end
M.yaml_quote = yq

-- Text that Prometheus expands as a Go template shows "{{" literally so.
local function literal(s)
    return (tostring(s):gsub("{{", '{{ "{{" }}'))
end

-- A number as PromQL reads it back exactly.
local function num(v)
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", math.floor(v)) end
    return string.format("%.17g", v)
end

-- A Prometheus duration: whole seconds, else milliseconds.
function M.duration(s)
    if s == math.floor(s) then return string.format("%ds", math.floor(s)) end
    return string.format("%dms", math.floor(s * 1000 + 0.5))
end

-- ---- one rule ------------------------------------------------------------------------

-- Is fn one of memwatch's own actions (memwatch.actions.*)?
local function is_action(fn)
    if type(fn) ~= "function" then
        local mt = getmetatable(fn)
        fn = type(mt) == "table" and mt.__call
        if type(fn) ~= "function" then return false end
    end
    local src = debug.getinfo(fn, "S").source
    return src:find("memwatch/actions[/%.]") ~= nil
end

-- The label matchers of a rule's select, or nil and the reason.
local function matchers(r, opts)
    local sel = r.def.select or {}
    local m = {}
    if sel.name ~= nil then m[#m + 1] = "name=" .. M.quote(sel.name) end
    if sel.match ~= nil then
        if not opts.match_on_name then
            return nil, string.format("select.match %s is also tried on the command line, which serve's series " ..
                "do not carry (--match-on-name translates it on the name alone)", M.quote(sel.match))
        end
        local re, why = M.re2(sel.match)
        if not re then
            return nil, string.format("select.match %s has no RE2 form: %s", M.quote(sel.match), why)
        end
        m[#m + 1] = "name=~" .. M.quote(re)
    end
    if sel.user ~= nil then
        if math.type(sel.user) == "integer" or tonumber(sel.user) then
            return nil, string.format("select.user is a uid (%s); serve labels processes with user names",
                tostring(sel.user))
        end
        m[#m + 1] = "user=" .. M.quote(sel.user)
    end
    if r.select.pids then
        local list = {}
        for i, p in ipairs(r.select.pids) do list[i] = tostring(p) end
        m[#m + 1] = "pid=~" .. M.quote(table.concat(list, "|"))
    end
    return m
end

-- A level (threshold or clear) as PromQL: bytes, or a fraction of the host's memory.
local function level_rhs(bytes, fraction)
    if fraction then
        return string.format("on (instance) group_left () (%s * max by (instance) (%s))", num(fraction),
            M.TOTAL_METRIC)
    end
    return num(bytes)
end

local function describe_level(bytes, fraction)
    if fraction then return string.format("%g%% of memory", fraction * 100) end
    return units.bytes(bytes)
end

--- translate(rule [, opts]) -> entry | nil, reason
-- entry: {alert=, expr=, ["for"]=, labels={...}, annotations={...}, needs={per_process=, app=, pss=}}
-- opts: match_on_name (translate select.match on the name label alone),
-- labels (the user's labels, name -> value).
function M.translate(r, opts)
    opts = opts or {}
    if r.metric_fn then return nil, "its metric is a Lua function, which Prometheus cannot run" end
    if r.group == "function" then
        return nil, "it groups with a Lua function; serve exports groups by process, name, user and app"
    end
    local cbs, actions = 0, 0
    for _, list in ipairs { r.on_alert or {}, r.on_resolve or {} } do
        for _, f in ipairs(list) do
            cbs = cbs + 1
            if is_action(f) then actions = actions + 1 end
        end
    end
    if cbs > 0 and actions == 0 then
        return nil, "its alerts only reach Lua callbacks (on_alert/on_resolve functions), which Prometheus " ..
            "cannot run"
    end
    if r.group == "tree" then
        return nil, "group 'tree' selects the trees under the rule's own processes; serve --group tree " ..
            "exports the trees under init"
    end
    local needs = {}
    local m, why = matchers(r, opts)
    if not m then return nil, why end
    local base, keyed
    if r.group == "app" then
        if #m > 0 then
            return nil, "group 'app' with a select picks the apps that hold a selected process; serve's app " ..
                "series carry only the app's name"
        end
        local metric = GROUP_METRIC[r.metric]
        if not metric then
            return nil, string.format("serve exports no group series for metric '%s'", r.metric)
        end
        needs.app = true
        if r.metric == "pss" then needs.pss = true end
        base = metric .. '{grouping="app"}'
        keyed = function(e) return string.format('label_replace(%s, "key", "$1", "group", "(?s)(.*)")', e) end
    else
        local metric = PROCESS_METRIC[r.metric]
        if not metric or r.metric == "footprint_peak" then
            return nil, string.format("serve exports no series for metric '%s'", r.metric)
        end
        if r.metric == "pss" then
            if r.group ~= "none" then
                return nil, "a group's pss has no value while a member's smaps_rollup is unreadable; a sum of " ..
                    "serve's per-process series would count that member as 0"
            end
            needs.pss = true
        end
        needs.per_process = true
        base = metric .. (#m > 0 and ("{" .. table.concat(m, ",") .. "}") or "")
        if r.group == "none" then
            keyed = function(e)
                return string.format('label_replace(label_join(%s, "key", "[", "name", "pid"), "key", "${1}]", ' ..
                    '"key", "(?s)(.*)")', e)
            end
        else
            keyed = function(e)
                return string.format('label_replace(%s, "key", "$1", "%s", "(?s)(.*)")', e, r.group)
            end
        end
    end
    local function by_key(e) return "sum by (instance, key) (" .. keyed(e) .. ")" end

    local entry = { alert = r.name, labels = {}, annotations = {}, needs = needs }
    local value, cond
    if r.direction == "growth" then
        local g = r.growth
        local gdef = r.def.growth or {}
        if gdef.min_r2 ~= nil then
            return nil, "growth.min_r2 has no PromQL form (deriv() fits the line but gives no r2)"
        end
        if gdef.warmup ~= nil then return nil, "growth.warmup has no PromQL form" end
        if r.def.clear ~= nil then return nil, "a growth 'clear' has no PromQL form" end
        local w = M.duration(g.window)
        if r.group == "none" or r.group == "app" then
            value = by_key(string.format("deriv(%s[%s])", base, w))
        else
            value = string.format("deriv((%s)[%s:])", by_key(base), w)
        end
        cond = string.format("%s > %s", value, num(g.rate))
        entry.annotations.threshold = num(g.rate)
        entry.annotations.summary = string.format("rule '%s' {{ $labels.key }} %s grows " ..
            "{{ $value | humanize1024 }}B/s (above %s/h over %s)", literal(r.name), r.metric,
            units.bytes(g.rate * 3600), units.span(g.window))
        if g.limit then entry.annotations.limit = num(g.limit) end
    else
        value = by_key(base)
        local op, keep = ">", ">="
        if r.direction == "below" then op, keep = "<", "<=" end
        -- A share of memory (rule.lua keeps the percentage beside the bytes it
        -- resolved to here) becomes a fraction of each host's own total.
        local tf = r.threshold_fraction or (r.threshold_pct and r.threshold_pct / 100)
        local cf = r.clear_fraction or (r.clear_pct and r.clear_pct / 100)
        cond = string.format("%s %s %s", value, op, level_rhs(r.threshold, tf))
        if tf ~= cf or (not tf and r.clear ~= r.threshold) then
            -- Hysteresis: once firing, the alert holds while the value is past
            -- 'clear', as memwatch's own rule does.
            cond = string.format('(%s) or (%s %s %s and on (instance, key) ALERTS{alertname=%s, ' ..
                'alertstate="firing"})', cond, value, keep, level_rhs(r.clear, cf), M.quote(r.name))
        end
        entry.annotations.threshold = tf and (num(tf * 100) .. "%") or num(r.threshold)
        entry.annotations.summary = string.format("rule '%s' {{ $labels.key }} %s {{ $value | humanize1024 }}B " ..
            "(%s %s)", literal(r.name), r.metric, r.direction, describe_level(r.threshold, tf))
    end
    if r.sustain_n then
        if r.sustain_n > 1 then
            return nil, string.format("'sustain' counts samples (%d), which Prometheus does not; give a duration",
                r.sustain_n)
        end
    elseif r.sustain_s > 0 then
        entry["for"] = M.duration(r.sustain_s)
    end
    entry.expr = cond
    local user = {}
    for k, v in pairs(opts.labels or {}) do user[k] = literal(v) end
    entry.labels = M.alert_labels { grouping = r.group, labels = user }
    -- The Prometheus form fits no r2 (see the growth refusals): the text does not claim one.
    entry.annotations.description = literal((rule_.describe(r, units.bytes):gsub(" %(r2 >= [^)]*%)", "")))
    return entry
end

-- ---- a file --------------------------------------------------------------------------

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    return keys
end

--- serve_options(needs) -> the `memwatch serve` options the rules read
function M.serve_options(needs)
    local o = {}
    if needs.app then
        if needs.per_process then o[#o + 1] = "--group none" end
        o[#o + 1] = "--group app"
    end
    if needs.pss then o[#o + 1] = "--pss" end
    return table.concat(o, " ")
end

--- render(rules, opts) -> yaml, left_out
-- rules: compiled rules; opts: source (the script's name), version, and the
-- options of translate. left_out: {{rule =, reason =}, ...}
function M.render(rules, opts)
    opts = opts or {}
    local entries, left_out, needs = {}, {}, {}
    for _, r in ipairs(rules) do
        local e, why = M.translate(r, opts)
        if e then
            entries[#entries + 1] = e
            for k in pairs(e.needs) do needs[k] = true end
        else
            left_out[#left_out + 1] = { rule = r, reason = why }
        end
    end
    local serve = "memwatch serve" .. (M.serve_options(needs) ~= "" and (" " .. M.serve_options(needs)) or "")
    local out = {
        string.format("# Prometheus alerting rules for the watch rules of %s,\n",
            core.printable(opts.source or "a watch script")),
        string.format("# made by `memwatch rules --prometheus`%s.\n",
            opts.version and (" (memwatch " .. opts.version .. ")") or ""),
        string.format("# They read the metrics of `%s` on each host, without --top\n", serve),
        "# or selection options (each rule selects its own processes).\n",
        "# Alert labels: alertname (the rule's name), key, grouping, instance and the\n",
        "# rules' labels, as memwatch's own Alertmanager action sends them.\n",
        string.format("# %d rule%s translated, %d left out.\n", #entries, #entries == 1 and "" or "s", #left_out),
        "groups:\n",
        string.format("  - name: %s\n", yq("memwatch " .. (opts.source or "rules"))),
    }
    if #entries == 0 then
        out[#out + 1] = "    rules: []\n"
    else
        out[#out + 1] = "    rules:\n"
    end
    for _, e in ipairs(entries) do
        out[#out + 1] = string.format("      - alert: %s\n        expr: %s\n", yq(e.alert), yq(e.expr))
        if e["for"] then out[#out + 1] = string.format("        for: %s\n", e["for"]) end
        for _, section in ipairs { "labels", "annotations" } do
            out[#out + 1] = string.format("        %s:\n", section)
            for _, k in ipairs(sorted_keys(e[section])) do
                out[#out + 1] = string.format("          %s: %s\n", k, yq(e[section][k]))
            end
        end
    end
    return table.concat(out), left_out
end

return M
