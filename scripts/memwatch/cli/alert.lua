-- memwatch alert NAME --over SIZE: the one-line way to watch a named app.
-- One line per state change on stdout, flushed as it is written:
--   2026-11-25T10:04:05+01:00 ALERT firefox[1234] 12 processes 4.2G
local memwatch = require "memwatch"
local options = require "memwatch.options"
local W = require "memwatch.watch"
local A = require "memwatch.actions"

local bare = options.bare

local cmd = options.command {
    name = "alert",
    summary = "print ALERT / RESOLVED when a named app goes over a size",
    usage = [[
usage: memwatch alert NAME --over SIZE [--for DURATION] [--group app|tree|name|none]
                      [--every DURATION] [--notify] [--stop-after DURATION]
                      [--exec CMD ARGS...]

Watches the processes named NAME, grouped (default: app, the systemd unit or
else the process tree under the top-most NAME), and prints one line when a
group's footprint stays over SIZE for DURATION (default 0s) and one when it
falls back below SIZE:

  TIME ALERT|RESOLVED KEY N processes VALUE

A group whose processes all vanish while it fires resolves with "(gone)"
after its line, or "(gone: OOM-killed)" when the kernel's OOM killer killed
it: never as a plain recovery.
TIME is local ISO-8601; lines are flushed at once, for pipes.
  --every DURATION   sampling interval (default 2s)
  --notify           also send a desktop notification (notify-send, osascript)
  --exec CMD ARGS... also run CMD (no shell) for each line, with the event in
                     MEMWATCH_EVENT, MEMWATCH_KEY, MEMWATCH_VALUE, ... ; must
                     come last: everything after it is the command
  --stop-after DURATION  stop after DURATION (default: run until Ctrl-C or SIGTERM)
Sizes take K, M, G, T (1K = 1024); durations ms, s, m, h.
]],
    options = {
        over = { arg = true, short = "o" },
        ["for"] = { arg = true, short = "f" },
        group = { arg = true, short = "g", values = { "app", "tree", "name", "none" } },
        every = { arg = true, short = "e" },
        notify = { short = "n" },
        ["stop-after"] = { arg = true },
        help = { short = "h" },
    },
    run = function(opts, pos)
        local self = opts._self
        if #pos ~= 1 then return false, "expected one process NAME" end
        if not opts.over then return false, "--over SIZE is required" end
        local ok, over = pcall(memwatch.parse_bytes, opts.over)
        if not ok then return false, "--over: " .. bare(over) end
        local every = 2.0
        if opts.every then
            local ok2, v = pcall(memwatch.parse_duration, opts.every)
            if not ok2 then return false, "--every: " .. bare(v) end
            if v <= 0 then return false, "--every must be greater than 0" end
            every = v
        end
        local sustain = 0
        if opts["for"] then
            local ok3, v = pcall(memwatch.parse_duration, opts["for"])
            if not ok3 then return false, "--for: " .. bare(v) end
            sustain = v
        end
        local stop_after
        if opts["stop-after"] then
            local ok4, v = pcall(memwatch.parse_duration, opts["stop-after"])
            if not ok4 then return false, "--stop-after: " .. bare(v) end
            stop_after = v
        end
        local exec = self.exec_argv
        if exec and #exec == 0 then return false, "--exec needs a command" end
        if exec then
            -- Said now, not when the first alert fires.
            local found, why = require("memwatch.sys").find_program(exec[1])
            if not found then
                io.stderr:write("memwatch alert: --exec: ", why, "\n")
                return 2
            end
        end

        local function print_line(ev)
            io.stdout:write(A.line(ev), "\n")
            io.stdout:flush()
        end
        local callbacks = { print_line }
        if exec then callbacks[#callbacks + 1] = A.exec(exec) end
        if opts.notify then callbacks[#callbacks + 1] = A.notify() end

        local e = W.engine { every = every }
        e:watch {
            name = pos[1],
            select = { name = pos[1] },
            group = opts.group or "app",
            above = over,
            sustain = string.format("%.17gs", sustain),
            on_alert = callbacks,
            on_resolve = callbacks,
        }
        io.stderr:write(string.format("memwatch alert: watching %s (group %s) over %s%s, every %gs; " ..
            "Ctrl-C to stop\n", require("memwatch.text").printable(pos[1]), opts.group or "app",
            memwatch.bytes(over),
            sustain > 0 and string.format(" for %gs", sustain) or "", every))
        io.stderr:flush()
        local reason = e:run(stop_after)
        return reason == "interrupted" and 130 or 0
    end,
}

-- --exec takes the rest of the command line, so it is split off before the
-- usual option parsing.
local mt = getmetatable(cmd)
local parse_and_run = mt.__call
local run = cmd.run
cmd.run = function(opts, pos)
    opts._self = cmd
    return run(opts, pos)
end
mt.__call = function(self, argv)
    local rest, exec = {}, nil
    for i, a in ipairs(argv) do
        if a == "--exec" then
            exec = table.move(argv, i + 1, #argv, 1, {})
            break
        end
        rest[#rest + 1] = a
    end
    self.exec_argv = exec
    return parse_and_run(self, rest)
end

return cmd
