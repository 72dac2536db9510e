-- memwatch check FILE.lua [ARGS...]: loads a watch script without running
-- it (its memwatch.run() returns at once), so every rule is checked, and
-- says what each rule selects right now. For configuration management and
-- systemd's ExecStartPre: exit 0, or 1 with "file:line: message".
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"
local script = require "memwatch.watch.script"

local M = {}

-- How many process names a line lists before "...".
M.SHOWN = 5

--- selection(rule) -> "selects 3 processes (a[1], b[2], ...)" | "selects nothing now"
function M.selection(rule)
    local recs = memwatch.processes(rule.def.select)
    if #recs == 0 then return "selects nothing now" end
    table.sort(recs, function(a, b) return a.pid < b.pid end)
    local names = {}
    for i = 1, math.min(#recs, M.SHOWN) do
        names[i] = string.format("%s[%d]", text.printable(recs[i].name or "?"), recs[i].pid)
    end
    if #recs > M.SHOWN then names[#names + 1] = "..." end
    return string.format("selects %d process%s (%s)", #recs, #recs == 1 and "" or "es", table.concat(names, ", "))
end

M.command = options.command {
    name = "check",
    summary = "load a watch script without running it: check its rules, show what they select",
    usage = [[
usage: memwatch check FILE.lua [ARGS...]

Loads FILE.lua as `memwatch FILE.lua` would, but its memwatch.run()
returns at once: nothing is sampled and no action runs. Every rule is
checked as memwatch.watch{} checks it live; then one line per rule says
what its `select` picks on this machine now:

  rule 'pg leak': selects 3 processes (postgres[812], postgres[901], postgres[950])
  rule 'chrome': selects nothing now

Exit status 0 when the script loads and registers rules; 1 with
`file:line: message` for a syntax error, a bad rule or an error in the
script, or a message for a file that cannot be read. For configuration
management and systemd's ExecStartPre. ARGS are the script's arg[1], ...
]],
    options = { help = { short = "h" } },
    run = function(_, pos)
        if #pos == 0 then return false, "expected a watch script FILE.lua" end
        local e, status, err = script.load_for_command(pos)
        if not e then return status, err end
        for _, r in ipairs(e.rules) do
            io.stdout:write(r.label, ": ", M.selection(r), "\n")
        end
        io.stdout:write(string.format("%s: %d rule%s OK\n", text.printable(pos[1]), #e.rules,
            #e.rules == 1 and "" or "s"))
        return 0
    end,
}

return setmetatable(M, {
    __call = function(_, argv) return M.command(argv) end,
    __index = function(_, k) return M.command[k] end,
})
