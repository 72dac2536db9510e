-- memwatch serve: the process memory gauges for Prometheus, either over HTTP
-- (GET /metrics, libmicrohttpd driven from this thread by memwatch.core's
-- http_listen) or as a file for node_exporter's textfile collector.
local memwatch = require "memwatch"
local core = require "memwatch.core"
local options = require "memwatch.options"
local format = require "memwatch.format"
local group = require "memwatch.group"
local metrics = require "memwatch.metrics"
local watch_engine = require "memwatch.watch.engine"
local service = require "memwatch.service"
local delivery = require "memwatch.delivery"
local suggest = require "memwatch.suggest"
local select_ = require "memwatch.select"
local text_ = require "memwatch.text"

local DEFAULT_LISTEN = "127.0.0.1:9187"
local CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
local TEXT = "text/plain; charset=utf-8"
local EINVAL = 22

local M = {}

local say = options.reporter("serve")

--- parse_listen("127.0.0.1:9187" | "[::1]:9187" | "localhost:9187" | ":9187")
-- -> host, port | nil, message
function M.parse_listen(s)
    local host, port = s:match("^%[([^%]]*)%]:(%d+)$")
    if not host then host, port = s:match("^([^:]*):(%d+)$") end
    if not host then
        return nil, string.format("--listen: '%s' is not ADDRESS:PORT (for example 127.0.0.1:9187 or [::1]:9187)", s)
    end
    port = tonumber(port)
    if not port or port > 65535 then return nil, string.format("--listen: port %s is not in 0..65535", port) end
    if host == "" then host = "0.0.0.0" end
    if host == "localhost" then host = "127.0.0.1" end
    local valid = host:find(":", 1, true) ~= nil
    local octets = { host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$") }
    if #octets == 4 then
        valid = true
        for _, o in ipairs(octets) do valid = valid and tonumber(o) <= 255 end
    end
    if not valid then
        return nil, string.format("--listen: '%s' is not an IPv4 or IPv6 address", host)
    end
    return host, port
end

--- is_loopback(host) -> true for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x
function M.is_loopback(host)
    local a = host:match("^127%.%d+%.%d+%.%d+$") or host:match("^::[fF][fF][fF][fF]:127%.%d+%.%d+%.%d+$")
    return a ~= nil or host == "::1" or host == "0:0:0:0:0:0:0:1"
end

M.WARNING = "WARNING: listening on %s, beyond loopback. Any host that can reach this address can read the " ..
    "name, user and memory of every exported process, without authentication or TLS. Keep the default " ..
    "127.0.0.1, or put it behind a firewall or an authenticating proxy, or give --web-config a file with " ..
    "tls_server_config and basic_auth_users."

-- ---- --web-config: the exporter-toolkit web configuration ----------------------------

local function read_all(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local text, rerr = f:read("a")
    f:close()
    if not text then return nil, path .. ": " .. tostring(rerr) end
    return text
end

-- A file the configuration names, relative to the configuration's directory
-- (as exporter-toolkit resolves them).
local function named_path(config_path, name)
    if name:sub(1, 1) == "/" then return name end
    local dir = config_path:match("^(.*)/[^/]*$") or "."
    return dir .. "/" .. name
end

local TLS_FILES = { "cert", "key", "client_ca" }

--- load_web_config(path) -> settings | nil, "FILE:LINE: message"
-- settings = {tls = nil | {cert=, key=, client_ca=, client_auth=, priorities=,
-- allowed_sans=} (PEM text, checked by GnuTLS), access = {users=, headers=,
-- rate_limit=}, http2 = true when the file says so, files = {paths read}}
function M.load_web_config(path)
    local text, err = read_all(path)
    if not text then return nil, "--web-config: cannot read " .. err end
    local cfg, perr = core.web_config(text, path)
    if not cfg then return nil, perr end
    local settings = {
        access = { users = cfg.users, headers = cfg.headers, rate_limit = cfg.rate_limit },
        http2 = cfg.http2_line ~= nil and cfg.http2,
        files = { path },
        has_users = next(cfg.users) ~= nil,
    }
    if settings.has_users and not core.bcrypt then
        return nil, string.format("%s: basic_auth_users: this build of memwatch cannot check bcrypt " ..
            "passwords (it was built without libxcrypt)", path)
    end
    local t = cfg.tls
    if t then
        local tls = { client_auth = t.client_auth, priorities = t.priorities, allowed_sans = t.allowed_sans }
        for _, k in ipairs(TLS_FILES) do
            local file = t[k .. "_file"]
            if file then
                local full = named_path(path, file)
                settings.files[#settings.files + 1] = full
                local body, rerr = read_all(full)
                if not body then
                    return nil, string.format("%s:%d: cannot read %s_file: %s", path, t[k .. "_file_line"], k,
                        rerr)
                end
                tls[k] = body
            else
                tls[k] = t[k]
            end
        end
        local ok, why, field = core.tls_check(tls)
        if not ok then
            if field == "priorities" then
                return nil, string.format("%s:%d: tls_server_config: GnuTLS refuses the settings: %s", path,
                    t.line, why)
            end
            local file = t[field .. "_file"]
            return nil, string.format("%s:%d: %s: %s", path, t[field .. "_file_line"] or t[field .. "_line"] or t.line,
                file and (field .. "_file " .. file) or field, why)
        end
        settings.tls = tls
    end
    return settings
end

-- The bytes of every file the configuration was made from: a change in any
-- of them (a renewed certificate too) is a change of the configuration.
local function snapshot(files)
    local parts = {}
    for i, f in ipairs(files) do parts[i] = read_all(f) or ("\0missing " .. f) end
    return table.concat(parts, "\0")
end

local function same_tls(a, b)
    if (a == nil) ~= (b == nil) then return false end
    if a == nil then return true end
    for _, k in ipairs { "cert", "key", "client_ca", "client_auth", "priorities" } do
        if a[k] ~= b[k] then return false end
    end
    return table.concat(a.allowed_sans or {}, "\n") == table.concat(b.allowed_sans or {}, "\n")
end

--- web_config_watcher(path, settings, server) -> check(force)
-- check() re-reads the files at most once a second, check(true) at once
-- (SIGHUP); a changed configuration is applied if it is valid, else reported
-- and the one in use kept.
function M.web_config_watcher(path, settings, server)
    local current = settings
    local seen = snapshot(current.files)
    local next_check = core.now() + 1
    return function(force)
        if not force and core.now() < next_check then return end
        next_check = core.now() + 1
        local now_seen = snapshot(current.files)
        if not force and now_seen == seen then return end
        seen = now_seen
        local new, err = M.load_web_config(path)
        if new then seen = snapshot(new.files) end
        if new and (new.tls == nil) ~= (current.tls == nil) then
            new, err = nil, path .. ": switching TLS on or off needs a restart of memwatch serve"
        end
        if new and not same_tls(new.tls, current.tls) then
            local ok, terr = server:set_tls(new.tls)
            if not ok then new, err = nil, path .. ": " .. terr end
        end
        if not new then
            say("--web-config: ", err, " (the configuration in use is kept)")
            return
        end
        server:configure(new.access)
        current = new
        say("--web-config: reloaded ", path)
    end
end

-- One scrape: the records, grouped and cut to the top N, through the
-- prometheus format, followed by the script's metrics and memwatch's own.
local function scraper(cfg)
    local families_self = function(duration, nrec)
        -- nil where this process cannot be read (the darwin fake's kernel
        -- does not list it): the self series are then left out.
        local me = memwatch.process(core.getpid())
        local fams = {
            { name = "memwatch_scrape_duration_seconds", help = "Time memwatch took to read and render this scrape.",
                type = "gauge", samples = { { labels = {}, value = duration } } },
            { name = "memwatch_scrape_processes", help = "Processes read in this scrape (before --top).",
                type = "gauge", samples = { { labels = {}, value = nrec } } },
        }
        if me and me.footprint then
            fams[#fams + 1] = { name = "memwatch_self_footprint_bytes", help = "memwatch's own memory footprint.",
                type = "gauge", samples = { { labels = {}, value = me.footprint } } }
        end
        if me and me.resident then
            fams[#fams + 1] = { name = "memwatch_self_resident_bytes", help = "memwatch's own resident set size.",
                type = "gauge", samples = { { labels = {}, value = me.resident } } }
        end
        if cfg.http_stats then
            local st = cfg.http_stats()
            local function counter(name, help, samples)
                fams[#fams + 1] = { name = name, help = help, type = "counter", samples = samples }
            end
            counter("memwatch_http_auth_failures_total",
                "Basic-auth logins refused for a wrong password or an unknown user.",
                { { labels = {}, value = st.auth_failures } })
            counter("memwatch_http_throttled_requests_total",
                "Requests refused by a limit: failed logins from one address, logins in progress, rate_limit.",
                { { labels = { reason = "login" }, value = st.auth_throttled },
                    { labels = { reason = "rate_limit" }, value = st.rate_limited } })
            counter("memwatch_http_client_cert_refusals_total",
                "Requests refused for a missing or unverified client certificate.",
                { { labels = {}, value = st.cert_refused } })
        end
        -- The host's memory: fleet rules compare percentage thresholds with it.
        local sys = memwatch.system()
        if sys and sys.total then
            fams[#fams + 1] = { name = "memwatch_system_memory_total_bytes",
                help = "The host's physical memory (memwatch.system().total).",
                type = "gauge", samples = { { labels = {}, value = sys.total } } }
        end
        -- Alert delivery of a --rules script's actions, when it has destinations.
        for _, d in ipairs(M.delivery_families(delivery.stats())) do fams[#fams + 1] = d end
        return fams
    end

    -- start_time keys groups across pid reuse; pss in the same scan when asked.
    local want = cfg.pss and { "start_time", "pss" } or { "start_time" }
    -- A selection that matches nothing is said (and again when its last
    -- process goes), as memwatch alert and the rules say it.
    local check_empty = suggest.empty_watch(function(line) say(text_.printable(line)) end, "serving",
        select_.own)
    return function()
        local t0 = core.now()
        local recs = {}
        for i, filter in ipairs(cfg.filters) do
            local found = memwatch.processes(filter, want)
            for _, r in ipairs(found) do
                if not r.kernel_thread or cfg.all then recs[#recs + 1] = r end
            end
            check_empty(i, filter, #found, memwatch.processes)
        end
        local nrec = #recs
        local parts = {}
        local w = format.new("prometheus")
        w:begin(function(s) parts[#parts + 1] = s end)
        -- Each --group (none: the per-process series), each cut to --top.
        for _, grouping in ipairs(cfg.groups) do
            local rows
            if grouping ~= "none" then
                rows = group.group(recs, grouping)
                for _, row in ipairs(rows) do row.grouping = grouping end
            else
                rows = table.move(recs, 1, #recs, 1, {})
            end
            table.sort(rows, function(a, b)
                local x, y = core.peek(a, "footprint") or -1, core.peek(b, "footprint") or -1
                if x ~= y then return x > y end
                return (core.peek(a, "pid") or 0) < (core.peek(b, "pid") or 0) or tostring(a.key) < tostring(b.key)
            end)
            if cfg.top and #rows > cfg.top then
                local cut = {}
                for i = 1, cfg.top do cut[i] = rows[i] end
                rows = cut
            end
            if cfg.pss and grouping == "none" then
                for _, r in ipairs(rows) do local _ = r.pss end -- read smaps_rollup now (lazily read field)
            end
            for _, r in ipairs(rows) do w:record(r) end
        end
        local user = metrics.collect(recs, function(msg) say("metrics collector failed: ", msg) end)
        w:families(user)
        w:families(families_self(core.now() - t0, nrec))
        w:finish()
        return table.concat(parts)
    end
end

--- delivery_families(stats) -> memwatch_delivery_{sent,failed,dropped}_total
-- per destination (its redacted URL), from memwatch.delivery.stats(); none
-- without destinations
function M.delivery_families(stats)
    if #stats == 0 then return {} end
    local fams = {}
    for _, c in ipairs {
        { "sent", "Alert deliveries the destination accepted." },
        { "failed", "Alert deliveries given up: refused, or out of retries." },
        { "dropped", "Alert deliveries dropped unsent because the destination's queue was full." },
    } do
        local samples = {}
        for i, d in ipairs(stats) do
            samples[i] = { labels = { destination = d.url }, value = d[c[1]] }
        end
        fams[#fams + 1] = { name = "memwatch_delivery_" .. c[1] .. "_total", help = c[2], type = "counter",
            samples = samples }
    end
    return fams
end

-- The HTTP policy: GET /metrics only, and never a request body.
function M.handler(scrape)
    return function(req)
        if req.method ~= "GET" then
            return 405, string.format("method %s not allowed: only GET /metrics\n", req.method),
                { ["Content-Type"] = TEXT, Allow = "GET" }
        end
        if (req.content_length and req.content_length ~= 0) or req.chunked then
            return 413, "a request body is not allowed\n", { ["Content-Type"] = TEXT, Connection = "close" }
        end
        if req.path ~= "/metrics" then
            return 404, "not found: the metrics are at /metrics\n", { ["Content-Type"] = TEXT }
        end
        local ok, body = pcall(scrape)
        if not ok then
            if tostring(body):find("interrupted!", 1, true) then error(body, 0) end
            say("scrape failed: ", tostring(body))
            return 500, "scrape failed\n", { ["Content-Type"] = TEXT }
        end
        return 200, body, { ["Content-Type"] = CONTENT_TYPE }
    end
end

-- The rules script's watch engine, when it registered rules.
local function rules_engine()
    local e = watch_engine.current()
    if e and e.rules and #e.rules > 0 then return e end
    return nil
end

local function load_rules(path)
    local chunk, err = loadfile(path)
    if not chunk then return nil, "--rules: " .. tostring(err) end
    local ok, e = pcall(chunk)
    if not ok then return nil, "--rules: " .. tostring(e) end
    return true
end

-- Writes PATH.tmp, then renames it over PATH: a reader sees the old file or
-- the new one, never half of one.
function M.write_textfile(path, body)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then return nil, string.format("cannot write %s: %s", tmp, err) end
    local ok, werr = f:write(body)
    local cok, cerr = f:close()
    if not ok or not cok then
        os.remove(tmp)
        return nil, string.format("cannot write %s: %s", tmp, tostring(werr or cerr))
    end
    local rok, rerr = os.rename(tmp, path)
    if not rok then
        os.remove(tmp)
        return nil, string.format("cannot rename %s to %s: %s", tmp, path, tostring(rerr))
    end
    return true
end

local function exit_code(sig)
    if sig == "INT" then return 130 end
    return 0
end

local function run_textfile(cfg, scrape)
    local first = true
    core.catch_signals(true)
    local ok, result, failure = pcall(function()
        while true do
            local ok, err = M.write_textfile(cfg.textfile, scrape())
            if not ok then
                if first or cfg.once then return nil, err end
                say(err)
            end
            if first and not cfg.once then service.ready("writing " .. cfg.textfile) end
            first = false
            if cfg.once then return 0 end
            local deadline = core.now() + cfg.every
            while true do
                local engine = rules_engine()
                local wait = deadline - core.now()
                if engine then
                    local next_at = engine:tick(core.now())
                    wait = math.min(wait, next_at - core.now())
                end
                wait = math.min(wait, service.watchdog(core.now()) - core.now())
                if wait > 0 and core.wait_signal(wait) then
                    local sig = core.take_signal()
                    if sig == "INT" or sig == "TERM" then
                        say("stopped (SIG", sig, ")")
                        return exit_code(sig)
                    end
                end
                if core.now() >= deadline then break end
            end
        end
    end)
    core.catch_signals(false)
    service.stopping()
    if not ok then error(result, 0) end
    return result, failure
end

local function run_http(cfg, scrape)
    local web = cfg.web
    -- TLS and passwords together protect a listener beyond loopback; anything less gets the warning.
    local protected = web and web.tls and web.has_users
    -- Said before binding, so even a failed attempt beyond loopback is loud.
    if not M.is_loopback(cfg.host) and not protected then say(string.format(M.WARNING, cfg.listen)) end
    local server, err, errno = core.http_listen(cfg.host, cfg.port, { tls = web and web.tls, access = web ~= nil })
    if not server then
        if errno == EINVAL and not web then return false, "--listen: " .. err end
        if errno == EINVAL then return false, err end
        return nil, err
    end
    if not server:loopback() and M.is_loopback(cfg.host) and not protected then
        say(string.format(M.WARNING, cfg.listen))
    end
    local reload
    if web then
        server:configure(web.access)
        cfg.http_stats = function() return server:stats() end
        reload = M.web_config_watcher(cfg.web_config, web, server)
        if web.http2 then say("--web-config: http2: memwatch serves HTTP/1.1 only (clients fall back to it)") end
    end
    local scheme = server:tls() and "https" or "http"
    local shown = server:address():find(":", 1, true) and "[" .. server:address() .. "]" or server:address()
    say(string.format("listening on %s://%s:%d/metrics", scheme, shown, server:port()))
    service.ready(string.format("listening on %s://%s:%d/metrics", scheme, shown, server:port()))
    local handler = M.handler(scrape)
    core.catch_signals(true)
    local ok, result = pcall(function()
        while true do
            local wait = 1.0
            local engine = rules_engine()
            if engine then
                wait = math.max(0, math.min(wait, engine:tick(core.now()) - core.now()))
            end
            wait = math.max(0, math.min(wait, service.watchdog(core.now()) - core.now()))
            local _, herr, sig = server:serve(handler, wait, core.take_signal)
            if herr then
                if tostring(herr):find("interrupted!", 1, true) then return exit_code("INT") end
                say("request handler failed: ", tostring(herr))
            end
            if sig == "INT" or sig == "TERM" then
                say("stopped (SIG", sig, ")")
                return exit_code(sig)
            end
            if reload then reload(sig == "HUP") end
        end
    end)
    core.catch_signals(false)
    service.stopping()
    server:close()
    if not ok then error(result, 0) end
    return result
end

M.command = options.command {
    name = "serve",
    summary = "Prometheus /metrics endpoint, or a textfile for node_exporter",
    usage = [[
usage: memwatch serve [--listen=ADDRESS:PORT] [--group=none|name|tree|app|user]...
                      [--top=N] [selection options] [--pss] [--all] [--rules=FILE.lua]
                      [--web-config=FILE.yml]
       memwatch serve --textfile=PATH [--every=15s] [--once] [same selection options]

Serves GET /metrics on 127.0.0.1:9187 (the default --listen) in the
Prometheus text format: process_memory_footprint_bytes, _usage_bytes
(resident), _virtual_bytes, _swap_bytes, _resident_peak_bytes (and
_pss_bytes with --pss) per process, labelled pid, name and user; with
--group, memwatch_group_memory_*{grouping=,group=} and
memwatch_group_processes instead (--group may be repeated: each grouping's
series, and --group none the per-process ones, in one scrape); the host's
memwatch_system_memory_total_bytes; and memwatch's own scrape duration and
footprint. The selection options (below) choose the processes,
--top keeps the N largest by footprint (processes, or groups). Binding beyond
loopback prints a warning. Other methods get 405, other paths 404.

--textfile writes the same text to PATH every --every (PATH.tmp, then a
rename), for node_exporter's textfile collector; --once writes once and exits.
--rules runs a Lua script first: it may add metrics (memwatch.metrics) and
watch rules, which are run between requests. Ctrl-C or SIGTERM stops.

--web-config reads an exporter-toolkit web configuration (the file of
node_exporter's --web.config.file): tls_server_config (HTTPS, client
certificates), basic_auth_users (bcrypt hashes), http_server_config.headers
and rate_limit. A key memwatch cannot honour is refused (exit 2, with
FILE:LINE). The file (and the certificates it names) is re-read when it
changes and on SIGHUP; a bad new file keeps the one in use.

]] .. options.SELECTION_HELP,
    options = options.with_selection {
        listen = { arg = true, short = "l" },
        textfile = { arg = true },
        every = { arg = true },
        once = {},
        group = { arg = true, values = group.MODES, short = "g", many = true },
        top = { arg = true, short = "n" },
        name = { arg = true, many = true },
        match = { arg = true },
        user = { arg = true, short = "u" },
        pid = { arg = true, many = true },
        pss = {},
        all = { short = "a" },
        rules = { arg = true },
        ["web-config"] = { arg = true },
        help = { short = "h" },
    },
    run = function(opts, pos)
        if #pos > 0 then return false, string.format("unexpected argument '%s'", pos[1]) end
        local cfg = { groups = {}, all = opts.all, pss = opts.pss, once = opts.once, textfile = opts.textfile }
        local seen_group = {}
        for _, g in ipairs(opts.group or { "none" }) do
            if not seen_group[g] then cfg.groups[#cfg.groups + 1] = g end
            seen_group[g] = true
        end
        if opts.textfile and opts.listen then return false, "--textfile and --listen cannot be used together" end
        if opts.textfile and opts["web-config"] then
            return false, "--web-config is for serving over HTTP, not --textfile"
        end
        if not opts.textfile and (opts.every or opts.once) then
            return false, (opts.every and "--every" or "--once") .. " needs --textfile"
        end
        if opts.textfile == "" then return false, "--textfile needs a path" end
        if opts.top then
            local n = math.tointeger(tonumber(opts.top))
            if not n or n < 1 then
                return false, string.format("--top must be a positive integer, got '%s'", opts.top)
            end
            cfg.top = n
        end
        cfg.every = 15
        if opts.every then
            local ok, s = pcall(core.parse_duration, opts.every)
            if not ok then return false, "--every: " .. (tostring(s):gsub("^.-:%d+: ", "")) end
            if s <= 0 then return false, "--every must be greater than 0" end
            cfg.every = s
        end
        cfg.listen = opts.listen or DEFAULT_LISTEN
        if not opts.textfile then
            local host, port = M.parse_listen(cfg.listen)
            if not host then return false, port end
            cfg.host, cfg.port = host, port
        end
        local filters, why = options.selection(opts)
        if not filters then return false, why end
        cfg.filters = filters
        if opts.rules then
            local rok, rerr = load_rules(opts.rules)
            if not rok then return nil, rerr end
        end
        if opts["web-config"] then
            local web, werr = M.load_web_config(opts["web-config"])
            if not web then return false, werr end
            cfg.web, cfg.web_config = web, opts["web-config"]
        end
        local scrape = scraper(cfg)
        if opts.textfile then return run_textfile(cfg, scrape) end
        return run_http(cfg, scrape)
    end,
}

return setmetatable(M, {
    __call = function(_, argv) return M.command(argv) end,
    __index = function(_, k) return M.command[k] end,
})
