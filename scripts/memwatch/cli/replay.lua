-- memwatch replay FILE RULES.lua [ARGS...]: the rules script one runs live,
-- run against a recording on a simulated clock; prints each alert and
-- resolve that would have fired, at its recorded time, then a summary.
local options = require "memwatch.options"
local R = require "memwatch.record"

return options.command {
    name = "replay",
    summary = "run a rules script against a recording: which alerts would have fired, and when",
    usage = [[
usage: memwatch replay FILE RULES.lua [ARGS...] [--rule=NAME]... [--utc]

Runs RULES.lua, the script one runs live with `memwatch RULES.lua` (it
calls memwatch.watch{...} and memwatch.run()), against the recording FILE
made by `memwatch record`. The clock is the recording's: each rule ticks on
its own `every` over the recorded timeline and sees the sample recorded at
that time. Prints one line per alert and resolve, at the recorded time
(ISO-8601, local time or with --utc UTC), then a summary per rule:

  2026-11-25T10:04:05+01:00 ALERT rule 'big' app[42] footprint 4.2G (above 4.0G) 1 process

exec, notify, signal, log, syslog, alertmanager and webhook actions do not
run: an indented line says what each would have done (or sent). Functions of your own run as they are, on the
recording: memwatch.now(), os.time(), os.date(), memwatch.processes() and
memwatch.process() answer from it.
memwatch.run() returns "stopped" at the end of the recording.
ARGS are the script's arg[1], ...; put them after `--` if they start with -.

  --rule NAME   replay only this rule (repeatable)
  --utc         print times in UTC
]],
    options = {
        rule = { arg = true, many = true, short = "r" },
        utc = {},
        help = { short = "h" },
    },
    run = function(opts, pos)
        if #pos < 2 then
            return false, #pos == 0 and "expected the recording FILE and a RULES.lua script" or
                "expected a RULES.lua script after the recording"
        end
        local args = table.move(pos, 3, #pos, 1, {})
        local ok, err = pcall(require("memwatch.record.replay").replay, { path = pos[1], script = pos[2],
            args = args, rules = opts.rule, utc = opts.utc })
        if ok then return 0 end
        if type(err) == "table" and err.usage then return false, err.usage end
        if R.is_error(err) then return nil, err.message end
        if tostring(err):find("interrupted!", 1, true) then error(err, 0) end
        return nil, tostring(err)
    end,
}
