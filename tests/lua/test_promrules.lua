-- memwatch.promrules: watch rules as Prometheus alerting rules. The Lua
-- pattern translator, each translated kind's exact PromQL, each refusal's
-- exact reason, percentage thresholds on hand-built rule tables, and the
-- YAML file. (promtool and a real Prometheus check the output in
-- tests/cli/test_rules.sh and test_rules_prometheus.sh.)
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq, check = T.eq, T.check

local P = require "memwatch.promrules"
local rule_ = require "memwatch.watch.rule"

local function compile(def) return rule_.compile(def, "#1") end

T.test("re2: the translated subset", function()
    local cases = {
        { "postgres", "(?s).*postgres.*" },
        { "^postgres$", "(?s)postgres" },
        { "^python.*serve", "(?s)python.*serve.*" },
        { "a.b", "(?s).*a.b.*" },
        { "^%a+%d*$", "(?s)[[:alpha:]]+[[:digit:]]*" },
        { "%s%w%l%u%x%p%c%g", "(?s).*[[:space:]][[:alnum:]][[:lower:]][[:upper:]][[:xdigit:]][[:punct:]]" ..
            "[[:cntrl:]][[:graph:]].*" },
        { "^%A%D%S%W", "(?s)[[:^alpha:]][[:^digit:]][[:^space:]][[:^alnum:]].*" },
        { "^[a-z_][%w-]-$", "(?s)[a-z_][[:alnum:]\\-]*" },
        { "^[^/]+$", "(?s)[^/]+" },
        { "[]]", "(?s).*[\\]].*" },
        { "[a-]", "(?s).*[a\\-].*" },
        { "[a-]]", "(?s).*[a\\-]\\].*" },
        { "[]-a]", "(?s).*[\\]-a].*" },
        { "[%]x]", "(?s).*[\\]x].*" },
        { "[^%d%-]", "(?s).*[^[:digit:]\\-].*" },
        { "^x?y", "(?s)x?y.*" },
        { "%.service$", "(?s).*\\.service" },
        { "a+b*c-d?", "(?s).*a+b*c*d?.*" },
        { "1%$", "(?s).*1\\$.*" },
        { "a$b", "(?s).*a\\$b.*" },
        { "x^", "(?s).*x\\^.*" },
        { "", "(?s).*.*" },
        { "{|}", "(?s).*\\{\\|\\}.*" },
        { "*a", "(?s).*\\*a.*" },
        { "caf\xc3\xa9", "(?s).*caf\xc3\xa9.*" },
        { "%q", "(?s).*q.*" },
    }
    for _, c in ipairs(cases) do eq(P.re2(c[1]), c[2], c[1]) end
end)

T.test("re2: refusals", function()
    local cases = {
        { "(ab)", "captures ( ) are not translated" },
        { "%bxy", "%b has no RE2 form" },
        { "%f[%w]", "%f has no RE2 form" },
        { "(a)%1", "captures ( ) are not translated" },
        { "a%1", "back-references (%1) have no RE2 form" },
        { "caf\xc3\xa9+", "a quantifier follows a non-ASCII byte" },
        { "[\xc3\xa9]", "a set holds a non-ASCII byte" },
        { "\xff", "it is not valid UTF-8" },
        { "[ab", "malformed set (missing ']')" },
    }
    for _, c in ipairs(cases) do
        local re, why = P.re2(c[1])
        eq(re, nil, c[1])
        eq(why, c[2], c[1])
    end
end)

-- The keyed value of each grouping.
local NONE = 'sum by (instance, key) (label_replace(label_join(%s, "key", "[", "name", "pid"), "key", "${1}]", ' ..
    '"key", "(?s)(.*)"))'
local BY = 'sum by (instance, key) (label_replace(%s, "key", "$1", "%s", "(?s)(.*)"))'

T.test("translate: thresholds, groupings, select, sustain", function()
    local e = assert(P.translate(compile { name = "pg", select = { name = "postgres", pid = { 812, 901 } },
        above = "1G", sustain = "30s" }))
    eq(e.alert, "pg")
    eq(e.expr, string.format(NONE, 'process_memory_footprint_bytes{name="postgres",pid=~"812|901"}') ..
        " > 1073741824")
    eq(e["for"], "30s")
    eq(e.labels.grouping, "none")
    eq(e.annotations.threshold, "1073741824")
    eq(e.annotations.summary, "rule 'pg' {{ $labels.key }} footprint {{ $value | humanize1024 }}B (above 1.0G)")
    eq(e.annotations.description,
        "rule 'pg': alert when footprint of each process (name=postgres pid=812,901) is above 1.0G for 30s")
    check(e.needs.per_process and not e.needs.app and not e.needs.pss, "needs the per-process series only")

    e = assert(P.translate(compile { name = "u", group = "user", select = { user = "root" }, below = "1M",
        sustain = "1.5s", metric = "swap" }))
    eq(e.expr, string.format(BY, 'process_memory_swap_bytes{user="root"}', "user") .. " < 1048576")
    eq(e["for"], "1500ms")

    e = assert(P.translate(compile { name = "n", group = "name", above = 100, sustain = 1 }))
    eq(e.expr, string.format(BY, "process_memory_footprint_bytes", "name") .. " > 100")
    eq(e["for"], nil, "one sample is no wait")

    e = assert(P.translate(compile { name = "a", group = "app", metric = "pss", above = "2G" }))
    eq(e.expr, string.format(BY, 'memwatch_group_memory_pss_bytes{grouping="app"}', "group") .. " > 2147483648")
    check(e.needs.app and e.needs.pss and not e.needs.per_process, "needs serve --group app --pss")

    e = assert(P.translate(compile { name = "r", metric = "resident", above = "10M" }))
    eq(e.expr, string.format(NONE, "process_memory_usage_bytes") .. " > 10485760")

    e = assert(P.translate(compile { name = "m", select = { match = "^mw[%d]+$" }, above = 1 },
        { match_on_name = true }))
    eq(e.expr, string.format(NONE, 'process_memory_footprint_bytes{name=~"(?s)mw[[:digit:]]+"}') .. " > 1")
end)

T.test("translate: clear is hysteresis through ALERTS", function()
    local e = assert(P.translate(compile { name = 'by "name"', group = "name", above = "2G", clear = "1.5G" }))
    local v = string.format(BY, "process_memory_footprint_bytes", "name")
    eq(e.expr, string.format('(%s > 2147483648) or (%s >= 1610612736 and on (instance, key) ' ..
        'ALERTS{alertname="by \\"name\\"", alertstate="firing"})', v, v))
    e = assert(P.translate(compile { name = "low", below = "1M", clear = "2M" }))
    v = string.format(NONE, "process_memory_footprint_bytes")
    eq(e.expr, string.format('(%s < 1048576) or (%s <= 2097152 and on (instance, key) ' ..
        'ALERTS{alertname="low", alertstate="firing"})', v, v))
end)

T.test("translate: growth", function()
    local e = assert(P.translate(compile { name = "leak", select = { name = "pg" }, growth = { above = "36M/h",
        window = "10m", limit = "2G" } }))
    eq(e.expr, string.format(NONE, 'deriv(process_memory_footprint_bytes{name="pg"}[600s])') .. " > 10485.76")
    eq(e.annotations.limit, "2147483648")
    eq(e.annotations.summary, "rule 'leak' {{ $labels.key }} footprint grows {{ $value | humanize1024 }}B/s " ..
        "(above 36.0M/h over 10m00s)")
    eq(e.annotations.description, "rule 'leak': alert when footprint of each process (name=pg) grows faster " ..
        "than 36.0M/h over 10m", "no r2 claimed")
    e = assert(P.translate(compile { name = "nleak", group = "name", growth = { above = 100, window = "90s" } }))
    eq(e.expr, "deriv((" .. string.format(BY, "process_memory_footprint_bytes", "name") .. ")[90s:]) > 100")
    e = assert(P.translate(compile { name = "aleak", group = "app", growth = { above = 100, window = "1m" } }))
    eq(e.expr, string.format(BY, 'deriv(memwatch_group_memory_footprint_bytes{grouping="app"}[60s])', "group") ..
        " > 100")
end)

T.test("translate: percentage thresholds against the host's memory", function()
    -- Hand-built: the compiled form gives the fraction beside the bytes.
    local r = compile { name = "pct", group = "name", above = "1G" }
    r.threshold_fraction = 0.2
    r.clear_fraction = 0.2
    local e = assert(P.translate(r))
    local v = string.format(BY, "process_memory_footprint_bytes", "name")
    eq(e.expr, v .. " > on (instance) group_left () (0.20000000000000001 * max by (instance) " ..
        "(memwatch_system_memory_total_bytes))")
    eq(e.annotations.threshold, "20%")
    eq(e.annotations.summary,
        "rule 'pct' {{ $labels.key }} footprint {{ $value | humanize1024 }}B (above 20% of memory)")
    r.clear_fraction = 0.125
    e = assert(P.translate(r))
    eq(e.expr, string.format("(%s > on (instance) group_left () (0.20000000000000001 * max by (instance) " ..
        "(memwatch_system_memory_total_bytes))) or (%s >= on (instance) group_left () (0.125 * max by (instance) " ..
        '(memwatch_system_memory_total_bytes)) and on (instance, key) ALERTS{alertname="pct", alertstate="firing"})',
        v, v))
end)

T.test("translate: a rule written with percentages, as rule.lua compiles it", function()
    local r = rule_.compile({ name = "share", group = "name", above = "25%", clear = "12.5%" }, "#1",
        { memory_total = function() return 8 * 1024 ^ 3 end })
    eq(r.threshold, 2 * 1024 ^ 3, "resolved on this host")
    local e = assert(P.translate(r))
    local v = string.format(BY, "process_memory_footprint_bytes", "name")
    eq(e.expr, string.format("(%s > on (instance) group_left () (0.25 * max by (instance) " ..
        "(memwatch_system_memory_total_bytes))) or (%s >= on (instance) group_left () (0.125 * max by (instance) " ..
        '(memwatch_system_memory_total_bytes)) and on (instance, key) ALERTS{alertname="share", alertstate="firing"})',
        v, v), "each host compares with its own memory")
    eq(e.annotations.threshold, "25%")
end)

T.test("translate: refusals, each with its reason", function()
    local act = require("memwatch.actions").log()
    local cases = {
        { { metric = function() return 1 end, above = 1 },
            "its metric is a Lua function, which Prometheus cannot run" },
        { { group = function(r) return r.name end, above = 1 },
            "it groups with a Lua function; serve exports groups by process, name, user and app" },
        { { above = 1, on_alert = function() end, on_resolve = { function() end } },
            "its alerts only reach Lua callbacks (on_alert/on_resolve functions), which Prometheus cannot run" },
        { { group = "tree", above = 1 }, "group 'tree' selects the trees under the rule's own processes; serve " ..
            "--group tree exports the trees under init" },
        { { group = "app", select = { name = "x" }, above = 1 }, "group 'app' with a select picks the apps that " ..
            "hold a selected process; serve's app series carry only the app's name" },
        { { group = "app", metric = "uss", above = 1 }, "serve exports no group series for metric 'uss'" },
        { { metric = "threads", above = 1 }, "serve exports no series for metric 'threads'" },
        { { group = "name", metric = "pss", above = 1 }, "a group's pss has no value while a member's " ..
            "smaps_rollup is unreadable; a sum of serve's per-process series would count that member as 0" },
        { { select = { match = "^x" }, above = 1 }, 'select.match "^x" is also tried on the command line, which ' ..
            "serve's series do not carry (--match-on-name translates it on the name alone)" },
        { { select = { user = 0 }, above = 1 }, "select.user is a uid (0); serve labels processes with user names" },
        { { select = { user = "0" }, above = 1 }, "select.user is a uid (0); serve labels processes with user names" },
        { { growth = { above = 1, min_r2 = 0.9 } },
            "growth.min_r2 has no PromQL form (deriv() fits the line but gives no r2)" },
        { { growth = { above = 1, warmup = "1m" } }, "growth.warmup has no PromQL form" },
        { { growth = { above = 2 }, clear = 1 }, "a growth 'clear' has no PromQL form" },
        { { above = 1, sustain = 3 }, "'sustain' counts samples (3), which Prometheus does not; give a duration" },
    }
    for i, c in ipairs(cases) do
        local e, why = P.translate(compile(c[1]))
        eq(e, nil, "case " .. i)
        eq(why, c[2], "case " .. i)
    end
    local e, why = P.translate(compile { select = { match = "(x)" }, above = 1 }, { match_on_name = true })
    eq(e, nil)
    eq(why, 'select.match "(x)" has no RE2 form: captures ( ) are not translated')
    -- A memwatch action beside a function of one's own: Alertmanager gets the alert.
    check(P.translate(compile { above = 1, on_alert = { function() end, act } }), "an action with a callback")
    check(P.translate(compile { above = 1, on_alert = act }), "an action")
end)

T.test("render: YAML, labels, header, left out", function()
    local rules = {
        compile { name = "a {{x}}", select = { name = 'we"ird\n' }, above = 1, sustain = "2s" },
        compile { name = "apps", group = "app", above = 1 },
        compile { name = "fn", metric = function() return 1 end, above = 1 },
    }
    local yaml, left = P.render(rules, { source = "r.lua", version = "9.9", labels = { team = "{{ops}}" } })
    eq(#left, 1)
    eq(left[1].rule.name, "fn")
    eq(yaml, table.concat {
        "# Prometheus alerting rules for the watch rules of r.lua,\n",
        "# made by `memwatch rules --prometheus` (memwatch 9.9).\n",
        "# They read the metrics of `memwatch serve --group none --group app` on each host, without --top\n",
        "# or selection options (each rule selects its own processes).\n",
        "# Alert labels: alertname (the rule's name), key, grouping, instance and the\n",
        "# rules' labels, as memwatch's own Alertmanager action sends them.\n",
        "# 2 rules translated, 1 left out.\n",
        "groups:\n",
        '  - name: "memwatch r.lua"\n',
        "    rules:\n",
        '      - alert: "a {{x}}"\n',
        '        expr: "' .. string.format(NONE, 'process_memory_footprint_bytes{name="we\\"ird\\n"}')
            :gsub('[\\"]', "\\%0") .. ' > 1"\n',
        "        for: 2s\n",
        "        labels:\n",
        '          grouping: "none"\n',
        '          team: "{{ \\"{{\\" }}ops}}"\n',
        "        annotations:\n",
        '          description: "rule \'a {{ \\"{{\\" }}x}}\': alert when footprint of each process ' ..
            '(name=we\\"ird\\n) ' ..
            'is above 1B for 2s"\n',
        '          summary: "rule \'a {{ \\"{{\\" }}x}}\' {{ $labels.key }} footprint {{ $value | humanize1024 }}B ' ..
            '(above 1B)"\n',
        '          threshold: "1"\n',
        '      - alert: "apps"\n',
        '        expr: "' .. string.format(BY, 'memwatch_group_memory_footprint_bytes{grouping="app"}', "group")
            :gsub('[\\"]', "\\%0") .. ' > 1"\n',
        "        labels:\n",
        '          grouping: "app"\n',
        '          team: "{{ \\"{{\\" }}ops}}"\n',
        "        annotations:\n",
        '          description: "rule \'apps\': alert when footprint of each app (all processes) is above 1B"\n',
        '          summary: "rule \'apps\' {{ $labels.key }} footprint {{ $value | humanize1024 }}B (above 1B)"\n',
        '          threshold: "1"\n',
    })
    yaml = P.render({ rules[3] }, { source = "f.lua" })
    check(yaml:find("\n    rules: []\n", 1, true), "an empty rule list stays valid YAML")
    check(yaml:find("`memwatch serve` on each host", 1, true), "default serve")
    eq(P.serve_options { per_process = true, pss = true }, "--pss")
end)

T.test("serve's format: one writer, several groupings, each family once", function()
    local format = require "memwatch.format"
    local out = format.render("prometheus", {
        { pid = 1, name = "a", user = "u", footprint = 10 },
        { key = "k1", label = "app1", count = 1, footprint = 10, grouping = "app" },
        { key = "k2", label = "u", count = 1, footprint = 10, grouping = "user" },
    })
    local _, n = out:gsub("# TYPE memwatch_group_memory_footprint_bytes gauge", "")
    eq(n, 1, "one TYPE line")
    check(out:find('memwatch_group_memory_footprint_bytes{group="app1",grouping="app"} 10\n' ..
        'memwatch_group_memory_footprint_bytes{group="u",grouping="user"} 10\n', 1, true), "both groupings together")
    check(out:find('process_memory_footprint_bytes{name="a",pid="1",user="u"} 10', 1, true), "and the process")
end)

T.done()
