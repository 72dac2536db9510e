-- memwatch.options: command-line options for the bundled subcommands.
-- spec: { name = {short = "n", arg = true|false, values = {...}}, ... }
-- Accepts --name=value, --name value, -n value, and flags; "--" ends options.
-- Returns opts, positional; or nil, message on bad input.
local log = require "memwatch.log"

local M = {}

function M.parse(argv, spec)
    local opts, pos = {}, {}
    local by_short = {}
    for name, s in pairs(spec) do
        if s.short then by_short[s.short] = name end
    end
    local i = 1
    while i <= #argv do
        local a = argv[i]
        local name, value
        if a == "--" then
            for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
            break
        elseif a:sub(1, 2) == "--" then
            name, value = a:match("^%-%-([^=]+)=(.*)$")
            if not name then name = a:sub(3) end
        elseif a:sub(1, 1) == "-" and #a > 1 then
            name = by_short[a:sub(2, 2)]
            if not name then return nil, string.format("unknown option '%s'", a) end
            if #a > 2 then value = a:sub(3) end
        else
            pos[#pos + 1] = a
            i = i + 1
            goto continue
        end
        do
            local s = spec[name]
            if not s then return nil, string.format("unknown option '--%s'", name) end
            if s.arg then
                if value == nil then
                    i = i + 1
                    value = argv[i]
                    if value == nil then return nil, string.format("option '--%s' needs a value", name) end
                end
                if s.values then
                    local ok = false
                    for _, v in ipairs(s.values) do ok = ok or v == value end
                    if not ok then
                        return nil, string.format("invalid value '%s' for '--%s' (expected %s)",
                            value, name, table.concat(s.values, ", "))
                    end
                end
                if s.many then
                    opts[name] = opts[name] or {}
                    table.insert(opts[name], value)
                else
                    opts[name] = value
                end
            else
                if value ~= nil then return nil, string.format("option '--%s' takes no value", name) end
                opts[name] = true
            end
        end
        i = i + 1
        ::continue::
    end
    return opts, pos
end

-- An error message without the "file:line: " Lua puts before it.
function M.bare(err)
    return (tostring(err):gsub("^[^\n]-:%d+: ", "", 1))
end

-- say(...) for a subcommand: a line on stderr, "memwatch NAME: ...", flushed
-- (memwatch.log: with its level under journald).
function M.reporter(name)
    local prefix = "memwatch " .. name .. ": "
    return function(...)
        log.write(io.stderr, nil, prefix .. table.concat({ ... }))
    end
end

-- The process selection options shared by serve, record and plot; merge
-- them into a command's option spec.
M.SELECTION = {
    name = { arg = true, many = true },
    exe = { arg = true },
    match = { arg = true },
    user = { arg = true },
    pid = { arg = true, many = true },
    pidfile = { arg = true },
    unit = { arg = true },
    container = { arg = true },
}
-- What the selection options mean, for usage texts.
M.SELECTION_HELP = [[
Selecting processes (every option given must hold; see "Choosing processes"
in the README):
  --name NAME        the full name (repeatable: any of them)
  --exe PATH|NAME    the executable, by path or file name
  --match PATTERN    a Lua pattern on the name, then the command line
  --user USER        user name or uid
  --pid PID          a process id (repeatable)
  --pidfile FILE     the process whose id FILE holds (read at every sample)
  --unit UNIT        a systemd unit or scope (nginx, nginx.service)
  --container ID     a container id or its first 4+ hex digits, or a pod UID
]]

--- with_selection(spec) -> spec with the selection options added (the
-- command's own entries, e.g. with a short letter, are kept).
function M.with_selection(spec)
    for k, v in pairs(M.SELECTION) do
        if spec[k] == nil then spec[k] = { arg = v.arg, many = v.many } end
    end
    return spec
end

-- The keys above other than name and pid: one value each, passed as is.
local SINGLE = { "exe", "match", "user", "pidfile", "unit", "container" }

-- Turns the selection options into memwatch.processes filters: one per
-- --name (their union), each with the other keys. Returns the list and
-- whether any selection option was given, or nil and a message.
function M.selection(opts)
    local base, any = {}, opts.name or opts.pid
    for _, k in ipairs(SINGLE) do
        base[k] = opts[k]
        any = any or opts[k]
    end
    if opts.pid then
        base.pid = {}
        for _, p in ipairs(opts.pid) do
            local n = math.tointeger(tonumber(p))
            if not n or n < 1 then return nil, string.format("--pid must be a process id, got '%s'", p) end
            base.pid[#base.pid + 1] = n
        end
    end
    local filters = {}
    for _, n in ipairs(opts.name or { false }) do
        local f = {}
        for k, v in pairs(base) do f[k] = v end
        if n then f.name = n end
        filters[#filters + 1] = f
    end
    local ok, err = pcall(require("memwatch.select").compile, filters[1], "selection")
    if not ok then return nil, M.bare(err) end
    return filters, any ~= nil
end

-- A subcommand: a callable table with summary/usage; run(argv) -> exit code.
-- Bad options print one line and where the usage is (not the whole usage,
-- which would bury the message) on stderr and give exit code 2.
function M.command(def)
    return setmetatable(def, {
        __call = function(self, argv)
            local opts, pos = M.parse(argv, self.options or {})
            if opts and opts.help then
                io.stdout:write(self.usage)
                return 0
            end
            local try = "try 'memwatch " .. self.name .. " --help'\n"
            if not opts then
                io.stderr:write("memwatch ", self.name, ": ", pos, "\n", try)
                return 2
            end
            -- A sampler asked for by name (MEMWATCH_SAMPLER) that cannot open
            -- is the command's failure, said once, before it starts.
            local mode = os.getenv("MEMWATCH_SAMPLER")
            if mode and mode ~= "" and mode ~= "auto" then
                local ok, why = require("memwatch.core").sampler()
                if not ok then
                    log.write(io.stderr, log.ERR, "memwatch " .. self.name .. ": " .. why)
                    return 1
                end
            end
            local code, err = self.run(opts, pos)
            if code == nil and err then
                log.write(io.stderr, log.ERR, "memwatch " .. self.name .. ": " .. err)
                return 1
            end
            if code == false then
                io.stderr:write("memwatch ", self.name, ": ", err, "\n", try)
                return 2
            end
            return code or 0
        end,
    })
end

return M
