-- memwatch.commands: the bundled subcommands (the memwatch.cli.* modules)
-- for the executable's usage text. Apart from memwatch (the facade), which
-- the subcommands require.
local M = {}

--- usage() -> one line per command: "  NAME  SUMMARY\n"
function M.usage()
    local names = {}
    for mod in pairs(package.preload) do
        local cmd = mod:match("^memwatch%.cli%.([%w_-]+)$")
        if cmd then names[#names + 1] = cmd end
    end
    table.sort(names)
    local out = {}
    for _, n in ipairs(names) do
        local ok, cmd = pcall(require, "memwatch.cli." .. n)
        local summary = ok and type(cmd) == "table" and cmd.summary or ""
        out[#out + 1] = string.format("  %-12s %s\n", n, summary)
    end
    return table.concat(out)
end

return M
