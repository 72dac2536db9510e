-- memwatch rules FILE.lua --prometheus: the watch script's rules as a
-- Prometheus alerting-rules file over `memwatch serve`'s metrics, for a
-- fleet where Prometheus and Alertmanager run the rules (memwatch.promrules).
-- Rules that cannot be translated faithfully are named on stderr and left out.
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"
local promrules = require "memwatch.promrules"
local script = require "memwatch.watch.script"

local say = options.reporter("rules")

return options.command {
    name = "rules",
    summary = "a watch script's rules as Prometheus alerting rules over memwatch serve's metrics",
    usage = [[
usage: memwatch rules FILE.lua --prometheus [--label=NAME=VALUE]... [--match-on-name]
                      [-- ARGS...]

Loads FILE.lua as `memwatch check` does (its memwatch.run() returns at once)
and prints a Prometheus alerting-rules file for its rules, over the metrics
of `memwatch serve` on each host; its header says which serve options it
expects. above/below become comparisons, sustain `for:`, a grouping a sum
by key, select label matchers, growth deriv() over the window. The alerts
carry the labels memwatch's Alertmanager action sends: alertname (the
rule's name), key, grouping, instance, and each --label.

A rule that Prometheus cannot run the same way is left out and named on
stderr with the reason (a function metric or grouping, callbacks only,
growth min_r2/warmup/clear, sustain in samples, a select or grouping serve
does not export). select.match is also tried on the command line, which
serve does not export: --match-on-name translates it on the name alone.

  --prometheus          print Prometheus alerting rules (the one output)
  --label NAME=VALUE    add this label to every alert (repeatable)
  --match-on-name       translate select.match as a pattern on the name alone
]],
    options = {
        prometheus = {},
        label = { arg = true, many = true },
        ["match-on-name"] = {},
        help = { short = "h" },
    },
    run = function(opts, pos)
        if #pos == 0 then return false, "expected a watch script FILE.lua" end
        if not opts.prometheus then return false, "expected --prometheus (the output format)" end
        local labels = {}
        for _, l in ipairs(opts.label or {}) do
            local k, v = l:match("^([^=]*)=(.*)$")
            if not k or not k:match("^[%a_][%w_]*$") or k:match("^__") then
                return false, string.format("--label: '%s' is not NAME=VALUE with a Prometheus label name", l)
            end
            if promrules.RESERVED[k] then
                return false, string.format("--label: '%s' is set by the translation (alertname, key, grouping, " ..
                    "instance)", k)
            end
            labels[k] = v
        end
        local e, status, err = script.load_for_command(pos)
        if not e then return status, err end
        local yaml, left_out = promrules.render(e.rules, { source = pos[1], version = memwatch.version,
            labels = labels, match_on_name = opts["match-on-name"] })
        io.stdout:write(yaml)
        for _, l in ipairs(left_out) do
            say(text.printable(l.rule.label), " left out: ", l.reason)
        end
        return 0
    end,
}
