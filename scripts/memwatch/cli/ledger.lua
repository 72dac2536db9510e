-- memwatch ledger PID: every counter of one process, in the layout of the
-- article's `ledger $$` table (GROUP LEDGER BALANCE CREDIT DEBIT UNITS),
-- under a line naming the process, over one naming what was refused.
local memwatch = require "memwatch"
local options = require "memwatch.options"
local text = require "memwatch.text"

local function cell(v)
    return v == nil and "-" or tostring(v)
end

local function row(group, name, balance, credit, debit, unit)
    -- Names longer than the column still get one space before the numbers.
    local namecol = #name >= 35 and name .. " " or string.format("%-35s", name)
    return string.format("%11s %s%13s%13s%13s %s", group, namecol, balance, credit, debit, unit)
end

return options.command {
    name = "ledger",
    summary = "every counter of one process (the kernel ledger table)",
    usage = [[
usage: memwatch ledger PID

Prints every counter the system keeps for process PID as rows of GROUP,
LEDGER, BALANCE, CREDIT, DEBIT and UNITS, under a line naming the process
and its user. On macOS these are the kernel's task ledgers; on Linux the
status, smaps_rollup, stat, io and DRM fdinfo counters. "-" marks a credit or
debit the system does not keep. Sources the system would not let us read
(another user's process) are named on a last line: their rows are missing.
]],
    options = { help = { short = "h" } },
    run = function(_, args)
        if #args ~= 1 then return false, "expected one PID" end
        local pid = math.tointeger(tonumber(args[1]))
        if not pid or pid < 0 then return false, string.format("invalid PID '%s'", args[1]) end
        local rows, refused = memwatch.ledger(pid)
        if not rows then return nil, refused end
        local proc = memwatch.process(pid)
        local who = string.format("ledger of %d", pid)
        if proc and proc.name then who = who .. string.format(" (%s)", text.printable(proc.name)) end
        local user = proc and (proc.user or proc.uid)
        if user then who = who .. ", user " .. text.printable(tostring(user)) end
        local out = { who, row("GROUP", "LEDGER", "BALANCE", "CREDIT", "DEBIT", "UNITS") }
        for _, r in ipairs(rows) do
            out[#out + 1] = row(text.printable(r.group), text.printable(r.name), cell(r.balance),
                cell(r.credit), cell(r.debit), r.unit)
        end
        if refused and #refused > 0 then
            local what = {}
            for i, r in ipairs(refused) do
                what[i] = string.format("%s (%s rows)", text.printable(r.source), text.printable(r.group))
            end
            out[#out + 1] = "not allowed to read: " .. table.concat(what, ", ")
        end
        io.stdout:write(table.concat(out, "\n"), "\n")
        return 0
    end,
}
