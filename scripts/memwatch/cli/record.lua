-- memwatch record FILE: appends samples of the selected processes to a
-- recording (JSON Lines; see scripts/memwatch/record.lua for the format),
-- flushed after every sample, until --count, --duration, Ctrl-C or SIGTERM.
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local R = require "memwatch.record"
local suggest = require "memwatch.suggest"
local select_ = require "memwatch.select"
local text = require "memwatch.text"

local bare = options.bare

local say = options.reporter("record")

-- One scan: the selected records (and with tree, their descendants).
local function scan(cfg)
    local want = { "start_time" }
    for _, f in ipairs(cfg.fields) do
        if f ~= "app" then want[#want + 1] = f end
    end
    local all
    if cfg.tree then all = memwatch.processes(nil, want) end
    local chosen, list = {}, {}
    for i, filter in ipairs(cfg.filters) do
        local found = memwatch.processes(filter, want)
        if cfg.check_empty then cfg.check_empty(i, filter, #found, memwatch.processes) end
        for _, r in ipairs(found) do
            if not chosen[r.pid] and (cfg.all or not r.kernel_thread) then
                chosen[r.pid] = true
                list[#list + 1] = r
            end
        end
    end
    if all then
        local kids = {}
        for _, r in ipairs(all) do
            if r.ppid and r.ppid ~= r.pid then
                kids[r.ppid] = kids[r.ppid] or {}
                table.insert(kids[r.ppid], r)
            end
        end
        local i = 1
        while i <= #list do
            for _, c in ipairs(kids[list[i].pid] or {}) do
                if not chosen[c.pid] and (cfg.all or not c.kernel_thread) then
                    chosen[c.pid] = true
                    list[#list + 1] = c
                end
            end
            i = i + 1
        end
    end
    table.sort(list, function(a, b) return a.pid < b.pid end)
    return list
end

-- App keys (the systemd unit), kept per process for 30 s: reading
-- /proc/PID/cgroup for every process at every sample costs too much.
local function app_keys()
    local cache = {}
    return function(rec, now)
        local id = rec.pid .. "@" .. tostring(rec.start_time)
        local c = cache[id]
        if not c or now - c.at >= 30 then
            c = { key = core.app_key(rec.pid) or false, at = now }
            cache[id] = c
        end
        c.used = now
        return c.key or nil
    end, function(now)
        for id, c in pairs(cache) do
            if now - c.used > 60 then cache[id] = nil end
        end
    end
end

local function positive(name, v)
    local n = math.tointeger(tonumber(v))
    if not n or n < 1 then return nil, string.format("--%s must be a positive integer, got '%s'", name, v) end
    return n
end

local function duration(name, v)
    local ok, s = pcall(core.parse_duration, v)
    if not ok then return nil, "--" .. name .. ": " .. bare(s) end
    if s <= 0 then return nil, "--" .. name .. " must be greater than 0" end
    return s
end

return options.command {
    name = "record",
    summary = "append samples of processes to a recording, for replay and plot",
    usage = [[
usage: memwatch record FILE [--every=1s] [selection options] [--tree] [--all]
                       [--fields=FIELD,...] [--count=N] [--duration=DURATION]

Appends a sample of the selected processes to FILE every --every (default
1s), as JSON Lines: one header line per run (the fields, the format version,
the machine, the start time), then one line per sample (wall time, seconds
since the start, and per process pid, start_time, ppid, name, user, uid and
the fields). Each line is flushed at once, so a killed recorder leaves a
readable file. Appending to a recording of another host or with other
fields is refused.

  selection options (below): the processes (all by default; kernel threads
                     only with --all)
  --tree             also every descendant of a selected process
  --fields           fields besides footprint, resident and swap: pss, uss,
                     rss_anon, cpu_time, app (the systemd unit), cmdline, ...
  --count N          stop after N samples
  --duration D       stop after D (samples at 0, every, ... up to D)
Ctrl-C (exit 130) or SIGTERM (exit 0) stops it. Replay it with
`memwatch replay FILE RULES.lua`, draw it with `memwatch plot FILE -o x.svg`.

]] .. options.SELECTION_HELP,
    options = options.with_selection {
        every = { arg = true, short = "e" },
        name = { arg = true, many = true },
        match = { arg = true },
        user = { arg = true, short = "u" },
        pid = { arg = true, many = true },
        tree = {},
        all = { short = "a" },
        fields = { arg = true, many = true, short = "f" },
        count = { arg = true, short = "c" },
        duration = { arg = true, short = "d" },
        help = { short = "h" },
    },
    run = function(opts, pos)
        if #pos ~= 1 then
            return false, #pos == 0 and "expected the recording FILE" or
                string.format("unexpected argument '%s'", pos[2])
        end
        local path = pos[1]
        local cfg = { tree = opts.tree, all = opts.all, every = 1.0 }
        local err
        if opts.every then
            cfg.every, err = duration("every", opts.every)
            if not cfg.every then return false, err end
        end
        if opts.count then
            cfg.count, err = positive("count", opts.count)
            if not cfg.count then return false, err end
        end
        if opts.duration then
            cfg.duration, err = duration("duration", opts.duration)
            if not cfg.duration then return false, err end
        end
        cfg.fields, err = R.check_fields(opts.fields)
        if not cfg.fields then return false, err end
        cfg.filters, err = options.selection(opts)
        -- A selection that matches nothing is said, as memwatch alert says it.
        cfg.check_empty = suggest.empty_watch(function(line) say(text.printable(line)) end, "recording",
            select_.own)
        if not cfg.filters then return false, err end
        local want_app = false
        for _, f in ipairs(cfg.fields) do want_app = want_app or f == "app" end

        local select_desc = { tree = opts.tree or nil, all = opts.all or nil }
        for k in pairs(options.SELECTION) do select_desc[k] = opts[k] end
        -- The sampler opens first (loading the BPF sampler's program takes a
        -- moment), so the first sample is taken at the start.
        local sampler, why = core.sampler()
        if not sampler then return nil, why end
        local start, t0 = core.time(), core.now()
        local w, werr = R.open(path, R.header { every = cfg.every, fields = cfg.fields, select = select_desc,
            start = start })
        if not w then return nil, werr end
        if w.cut then say(path, ": its last line was cut short (a recorder killed while writing); ended it") end
        say(string.format("recording %s every %gs to %s; Ctrl-C to stop", table.concat(cfg.fields, ", "),
            cfg.every, path))

        local app_key, app_gc = app_keys()
        core.catch_signals(true)
        local ok, code, message = pcall(function()
            local k = 0
            while true do
                local now = core.now()
                local t = core.time()
                local rows = {}
                for i, rec in ipairs(scan(cfg)) do
                    if want_app then rec.app = app_key(rec, now) end
                    rows[i] = R.row(rec, cfg.fields)
                end
                if want_app then app_gc(now) end
                local sok, serr = w:sample(t, math.floor((now - t0) * 1e6 + 0.5) / 1e6, rows)
                if not sok then return nil, serr end
                k = k + 1
                if cfg.count and w.samples >= cfg.count then return 0 end
                -- On the grid t0 + k * every; slots missed by a slow scan are skipped.
                local after = core.now()
                k = math.max(k, math.floor((after - t0) / cfg.every + 1e-9) + 1)
                local next_at = t0 + k * cfg.every
                if cfg.duration and next_at - t0 > cfg.duration + 1e-9 then return 0 end
                while true do
                    local wait = next_at - core.now()
                    if wait <= 0 then break end
                    if core.wait_signal(wait) then
                        local sig = core.take_signal()
                        if sig == "INT" or sig == "TERM" then
                            say(string.format("stopped (SIG%s) after %d %s", sig, w.samples,
                                w.samples == 1 and "sample" or "samples"))
                            return sig == "INT" and 130 or 0
                        end
                    end
                end
            end
        end)
        core.catch_signals(false)
        w:close()
        if not ok then error(code, 0) end
        return code, message
    end,
}
