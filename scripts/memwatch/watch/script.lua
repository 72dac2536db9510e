-- memwatch.watch.script: loads a watch script to see its rules without
-- running them, for `memwatch check` and `memwatch rules`. The script runs
-- on an engine of its own in dry mode, so its memwatch.run() returns at once
-- without a scan (a second call ends the script); every memwatch.watch{} is
-- checked as it would be live.
local engine = require "memwatch.watch.engine"
local reload = require "memwatch.watch.reload"
local text = require "memwatch.text"
require "memwatch.watch" -- the default sampler and clock; engine:run(), which honours the dry flag

local M = {}

--- load(path [, args]) -> engine | nil, message
-- message is "file:line: what" for a syntax error or a bad rule, the reason
-- for a file that cannot be read, "file: registers no rules" for a script
-- without memwatch.watch{}.
function M.load(path, args)
    local chunk, err = loadfile(path, "t")
    if not chunk then return nil, tostring(err) end
    local e = engine.new()
    e.dry = true
    e.script = path
    local prev = engine.set_default(e)
    local saved_arg = _G.arg
    local argt = { [0] = path }
    for i, a in ipairs(args or {}) do argt[i] = a end
    _G.arg = argt
    local ok, rerr = pcall(chunk, table.unpack(argt, 1, #argt))
    _G.arg = saved_arg
    engine.set_default(prev)
    if not ok and rerr ~= reload.DONE then
        if tostring(rerr):find("interrupted!", 1, true) then error(rerr, 0) end
        return nil, tostring(rerr)
    end
    if #e.rules == 0 then return nil, string.format("%s: registers no rules (memwatch.watch{...})", path) end
    return e
end

--- load_for_command(argv) -> engine | nil, status, message
-- For the subcommands that load a script given as FILE [ARGS...]: an error
-- that already reads "file:line: ..." (a syntax error, a bad rule) is written
-- to stderr as it is (status 1); any other comes back as the command's
-- message (status nil).
function M.load_for_command(argv)
    local e, err = M.load(argv[1], table.move(argv, 2, #argv, 1, {}))
    if e then return e end
    if err:find("^[^\n]-:%d+: ") then
        io.stderr:write(text.printable(err), "\n")
        return nil, 1
    end
    return nil, nil, text.printable(err)
end

return M
