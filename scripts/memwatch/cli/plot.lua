-- memwatch plot FILE -o chart.svg: the footprint (or another size field)
-- over time of the recorded processes or groups, drawn by gnuplot (run
-- with core.spawn: an argument list, no shell) into an SVG.
local core = require "memwatch.core"
local options = require "memwatch.options"
local R = require "memwatch.record"
local P = require "memwatch.record.plot"
local text = require "memwatch.text"

local bare = options.bare

local say = options.reporter("plot")

-- A program on PATH (the same lookup actions use for exec).
local which = require("memwatch.sys").which

local function write_file(path, body)
    local f, err = io.open(path, "wb")
    if not f then return nil, err end
    local ok, werr = f:write(body)
    local cok, cerr = f:close()
    if not ok or not cok then return nil, tostring(werr or cerr) end
    return true
end

local function filters(opts)
    local list, given = options.selection(opts)
    if not list then return nil, given end
    if not given then return false end
    local ok, err = pcall(P.compile, list)
    if not ok then return nil, bare(err) end
    return list
end

return options.command {
    name = "plot",
    summary = "draw a recording's footprint over time as an SVG (gnuplot)",
    usage = [[
usage: memwatch plot FILE -o CHART.svg [--name=NAME]... [--match=PATTERN]
                     [--user=USER] [--pid=PID]... [--group=none|name|app|tree|user]
                     [--top=N] [--field=FIELD] [--utc]

Draws the footprint over time of the processes (or groups) recorded in FILE
by `memwatch record`, with gnuplot, into an SVG: time on the x axis (local
time, or UTC with --utc), sizes in KiB, MiB or GiB (chosen by the largest
value, named in the axis label) on the y axis, one line per process or
group, each in its own colour, named in the legend.

  --name (repeatable), --match, --user, --pid: which recorded processes
  --group       none (each process; the default), name, app, tree or user:
                one line per group, the sum of its processes
  --top N       the N lines with the largest peak (default 10)
  --field F     another recorded size field instead of footprint (pss, swap...)
Needs gnuplot (Debian: apt install gnuplot-nox; Homebrew: brew install gnuplot).
]],
    options = {
        output = { arg = true, short = "o" },
        name = { arg = true, many = true },
        match = { arg = true },
        user = { arg = true, short = "u" },
        pid = { arg = true, many = true },
        group = { arg = true, short = "g", values = { "none", "name", "app", "tree", "user" } },
        top = { arg = true, short = "n" },
        field = { arg = true, short = "f" },
        utc = {},
        help = { short = "h" },
    },
    run = function(opts, pos)
        if #pos ~= 1 then
            return false, #pos == 0 and "expected the recording FILE" or
                string.format("unexpected argument '%s'", pos[2])
        end
        if not opts.output or opts.output == "" then return false, "-o CHART.svg is required" end
        if opts.output:find("%c") then return false, "-o: the path must not contain control characters" end
        local top = 10
        if opts.top then
            top = math.tointeger(tonumber(opts.top))
            if not top or top < 1 then
                return false, string.format("--top must be a positive integer, got '%s'", opts.top)
            end
        end
        local field = opts.field or "footprint"
        local info = core.fields[field]
        if not info or info.kind ~= "bytes" then
            return false, string.format("--field: '%s' is not a size field (footprint, resident, swap, pss, " ..
                "uss, rss_anon, ...)", field)
        end
        local flist, ferr = filters(opts)
        if flist == nil then return false, ferr end

        local gnuplot = which("gnuplot")
        if not gnuplot then
            return nil, "gnuplot was not found in PATH; install it (Debian: apt install gnuplot-nox; " ..
                "Homebrew: brew install gnuplot)"
        end

        local ok, res = pcall(P.series, { path = pos[1], filters = flist or nil, group = opts.group,
            field = field, warn = function(line) say(line) end })
        if not ok then
            if R.is_error(res) then return nil, res.message end
            error(res, 0)
        end
        if #res.series == 0 then
            return nil, string.format("%s: no %s values for the selected processes", pos[1], field)
        end
        local shown = {}
        for i = 1, math.min(top, #res.series) do shown[i] = res.series[i] end
        if #res.series > #shown then
            say(string.format("%d lines; drawing the %d with the largest peak (--top)", #res.series, #shown))
        end
        local max = 0
        for _, s in ipairs(shown) do
            if s.max > max then max = s.max end
        end
        local unit, unit_name, divisor = P.unit(max)
        local what = opts.group and opts.group ~= "none" and ("groups by " .. opts.group) or "processes"
        local title = string.format("memwatch: %s of %s, %s%s", field, what, pos[1],
            res.hostname and (" on " .. res.hostname) or "")

        local data_path, script_path, err_path = os.tmpname(), os.tmpname(), os.tmpname()
        local function cleanup()
            os.remove(data_path)
            os.remove(script_path)
            os.remove(err_path)
        end
        local script = P.script { output = opts.output, data = data_path, series = shown,
            field = field, unit = unit, unit_name = unit_name, title = title, first = res.times[1],
            last = res.times[#res.times], utc = opts.utc }
        local wok, werr = write_file(data_path, P.data(res, shown, divisor, opts.utc))
        if wok then wok, werr = write_file(script_path, script) end
        if not wok then
            cleanup()
            return nil, "cannot write a temporary file: " .. tostring(werr)
        end
        -- gnuplot's stderr goes to a file, so its errors come back as one
        -- line of ours instead of its caret diagrams.
        local pid, serr = core.spawn({ gnuplot, script_path }, nil, err_path)
        if not pid then
            cleanup()
            return nil, "cannot run gnuplot: " .. tostring(serr)
        end
        local state, code = core.child_status(pid, true)
        local ef = io.open(err_path, "rb")
        local gp_err = ef and ef:read("a") or ""
        if ef then ef:close() end
        cleanup()
        if state ~= "exit" or code ~= 0 then
            return nil, P.gnuplot_error(gp_err, script, opts.output) or
                string.format("gnuplot failed (%s %s)", state == "signal" and "signal" or "exit status",
                    tostring(code))
        end
        -- A chart was drawn; what gnuplot warned about is still said.
        for l in gp_err:gmatch("[^\n]+") do
            local msg = l:match('^".-" line %d+: (.*)$')
            if msg then say("gnuplot: " .. text.printable(msg)) end
        end
        say(string.format("wrote %s: %d %s, %d %s", opts.output, #shown, #shown == 1 and "line" or "lines",
            #res.times, #res.times == 1 and "sample" or "samples"))
        return 0
    end,
}
