-- memwatch alert NAME --over SIZE: the one-line way to watch a named app.
-- One line per state change on stdout, flushed as it is written:
--   2026-11-25T10:04:05+01:00 ALERT firefox[1234] 12 processes 4.2G
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"
local units = require "memwatch.units"
local W = require "memwatch.watch"
local A = require "memwatch.actions"
local log = require "memwatch.log"
local select_ = require "memwatch.select"

local bare = options.bare

-- What a selection is called in messages and as the rule's name: the name
-- alone, as before, or key=value pairs.
local function select_desc(f)
    local parts = {}
    for _, k in ipairs(select_.KEYS) do
        local v = f[k]
        if v ~= nil then
            parts[#parts + 1] = k .. "=" .. (type(v) == "table" and table.concat(v, ",") or tostring(v))
        end
    end
    if #parts == 1 and f.name then return f.name end
    return table.concat(parts, " ")
end

local cmd = options.command {
    name = "alert",
    summary = "print ALERT / RESOLVED when a named app goes over a size",
    usage = [[
usage: memwatch alert [NAME] [selection options] --over SIZE [--for DURATION]
                      [--clear SIZE] [--repeat DURATION] [--group app|tree|name|none]
                      [--every DURATION] [--notify] [--syslog] [--state FILE]
                      [--alertmanager URL]... [--webhook URL]... [--instance NAME]
                      [--label NAME=VALUE]... [--stop-after DURATION] [--exec CMD ARGS...]

Watches the processes named NAME (or chosen by the selection options below,
or both), grouped (default: app, the systemd unit or
else the process tree under the top-most NAME), and prints one line when a
group's footprint stays over SIZE for DURATION (default 0s) and one when it
falls back below SIZE (or below --clear):

  TIME ALERT|RESOLVED KEY N processes VALUE

A group whose processes all vanish while it fires resolves with "(gone)"
after its line, or "(gone: OOM-killed)" when the kernel's OOM killer killed
it: never as a plain recovery.
TIME is local ISO-8601; lines are flushed at once, for pipes. When no
process has the name, stderr says so (and what comes close), and watching
goes on.
  --clear SIZE       resolve only once the footprint falls below SIZE, which
                     must be below --over (hysteresis: no flapping at the line)
  --repeat DURATION  print ALERT again every DURATION while still over
  --every DURATION   sampling interval (default 2s)
  --notify           also send a desktop notification (notify-send, osascript)
  --syslog           also log each line to the system log (/dev/log: the
                     journal or syslog), facility daemon, ident memwatch;
                     ALERT at priority warning, RESOLVED notice (err when
                     the OOM killer took the group)
  --syslog-socket PATH  --syslog, to the datagram socket PATH instead of
                     /dev/log (/var/run/syslog on macOS)
  --state FILE       keep what fires in FILE: restarted with the same FILE,
                     memwatch does not print ALERT again for what still
                     fires, and prints RESOLVED for what ended meanwhile
  --alertmanager URL also post each alert to this Alertmanager (API v2;
                     repeatable): labels alertname, key, grouping, instance
                     and each --label; a resolve ends it at once
  --webhook URL      also post each event as JSON to this URL (repeatable)
  --instance NAME    the instance label (default: this host's name)
  --label NAME=VALUE add this label to the Alertmanager alerts (repeatable;
                     refused without --alertmanager)
  --exec CMD ARGS... also run CMD (no shell) for each line, with the event in
                     MEMWATCH_EVENT, MEMWATCH_KEY, MEMWATCH_VALUE, ... ; must
                     come last: everything after it is the command
  --stop-after DURATION  stop after DURATION (default: run until Ctrl-C or SIGTERM)
Sizes take K, M, G, T (1K = 1024) or % of physical memory (--over 20%);
durations ms, s, m, h.

]] .. options.SELECTION_HELP,
    options = options.with_selection {
        over = { arg = true, short = "o" },
        ["for"] = { arg = true, short = "f" },
        clear = { arg = true },
        ["repeat"] = { arg = true },
        group = { arg = true, short = "g", values = { "app", "tree", "name", "none" } },
        every = { arg = true, short = "e" },
        notify = { short = "n" },
        syslog = {},
        ["syslog-socket"] = { arg = true },
        state = { arg = true },
        alertmanager = { arg = true, many = true },
        webhook = { arg = true, many = true },
        instance = { arg = true },
        label = { arg = true, many = true },
        ["stop-after"] = { arg = true },
        help = { short = "h" },
    },
    run = function(opts, pos)
        local self = opts._self
        if #pos > 1 then return false, string.format("unexpected argument '%s'", pos[2]) end
        if pos[1] and opts.name then return false, "give the NAME or --name, not both" end
        if opts.name and #opts.name > 1 then return false, "--name: one NAME (an alert watches one selection)" end
        if pos[1] then opts.name = { pos[1] } end
        local filters, given = options.selection(opts)
        if not filters then return false, given end
        if not given then return false, "expected a process NAME or a selection option" end
        local what = select_desc(filters[1])
        if not opts.over then return false, "--over SIZE is required" end
        local sys = memwatch.system()
        local total = sys and sys.total
        local ok, over, over_pct = pcall(units.parse_size, opts.over, total)
        if not ok then return false, "--over: " .. bare(over) end
        local clear, clear_pct
        if opts.clear then
            local okc
            okc, clear, clear_pct = pcall(units.parse_size, opts.clear, total)
            if not okc then return false, "--clear: " .. bare(clear) end
            if clear >= over then
                return false, string.format("--clear %s must be below --over %s: it is the level at which " ..
                    "the alert resolves", units.size_text(clear, clear_pct), units.size_text(over, over_pct))
            end
        end
        local repeat_every
        if opts["repeat"] then
            local okr, v = pcall(memwatch.parse_duration, opts["repeat"])
            if not okr then return false, "--repeat: " .. bare(v) end
            if v <= 0 then return false, "--repeat must be greater than 0" end
            repeat_every = v
        end
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

        -- Delivery over HTTP: every URL and label checked before watching.
        local http_actions = {}
        if opts.instance == "" then return false, "--instance: the name is empty" end
        local labels = {}
        for _, l in ipairs(opts.label or {}) do
            local k, v = l:match("^([^=]*)=(.*)$")
            local why = k and require("memwatch.promrules").label_problem(k)
            if not k or why then
                return false, string.format("--label: '%s' %s", text.printable(l), k and ("(" .. k .. ") " .. why)
                    or "is not NAME=VALUE")
            end
            labels[k] = v
        end
        -- Labels and the instance name only reach Alertmanager: given
        -- alone they would do nothing, silently.
        if opts.label and not opts.alertmanager then
            return false, "--label: only Alertmanager alerts carry labels; give --alertmanager URL"
        end
        if opts.instance and not opts.alertmanager and not opts.webhook then
            return false, "--instance: only Alertmanager alerts and webhooks carry it; give --alertmanager URL " ..
                "or --webhook URL"
        end
        for _, which in ipairs { "alertmanager", "webhook" } do
            for _, url in ipairs(opts[which] or {}) do
                local okurl, why = require("memwatch.delivery").check_url(url)
                if not okurl then return false, string.format("--%s: %s", which, why) end
                -- A destination that cannot be made (libcurl failing to
                -- start, a build without delivery) is said, not traced.
                local okact, act = pcall(A[which], { url = url, instance = opts.instance,
                    labels = which == "alertmanager" and labels or nil })
                if not okact then return false, string.format("--%s: %s", which, bare(act)) end
                http_actions[#http_actions + 1] = act
            end
        end

        local function print_line(ev)
            log.write(io.stdout, log.NOTICE, A.line(ev))
        end
        local callbacks = { print_line }
        if exec then callbacks[#callbacks + 1] = A.exec(exec) end
        if opts.notify then callbacks[#callbacks + 1] = A.notify() end
        if opts.syslog or opts["syslog-socket"] then
            local ok5, act = pcall(A.syslog, { socket = opts["syslog-socket"] })
            if not ok5 then return false, "--syslog-socket: " .. bare(act):gsub("^.-'socket' ", "") end
            callbacks[#callbacks + 1] = act
        end
        for _, a in ipairs(http_actions) do callbacks[#callbacks + 1] = a end

        local say = options.reporter("alert")
        -- The engine's notices (no process matches, first verdict) in this
        -- command's words, without the rule's name: there is one rule.
        local e = W.engine { every = every, memory_total = total or false, state = opts.state,
            notice = function(_, line) say(text.printable(line)) end }
        e:watch {
            name = what,
            select = filters[1],
            group = opts.group or "app",
            -- As written, so a share of memory prints both ways in events.
            above = opts.over,
            clear = opts.clear,
            repeat_every = repeat_every,
            sustain = string.format("%.17gs", sustain),
            on_alert = callbacks,
            on_resolve = callbacks,
        }
        if opts.state == "" then return false, "--state needs a file name" end
        if opts.state then
            -- An unwritable file is refused before watching starts.
            local okS, err = pcall(e.open_state, e)
            if not okS then return nil, bare(err):gsub("^memwatch%.run: ", "") end
        end
        say(string.format("watching %s (group %s) over %s%s, every %gs%s%s; Ctrl-C to stop",
            text.printable(what), opts.group or "app", units.size_text(over, over_pct),
            sustain > 0 and string.format(" for %gs", sustain) or "", every,
            clear and ("; resolves below " .. units.size_text(clear, clear_pct)) or "",
            repeat_every and ("; again every " .. require("memwatch.watch.rule").dur(repeat_every) .. " while over")
                or ""))
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
