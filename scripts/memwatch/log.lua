-- memwatch.log: the one way memwatch writes a log line. Under journald the
-- line starts with an sd-daemon(3) priority prefix ("<3>" an error, "<4>" a
-- warning, "<5>" a notice such as ALERT and RESOLVED, "<6>" information), so
-- the journal keeps each line's level; anywhere else the line is written as
-- it is. "Under journald" is what systemd.exec(5) says: $JOURNAL_STREAM holds
-- the "DEV:INO" of the stream stdout or stderr was connected to, and it only
-- counts for a file that is still that stream (a child may inherit the
-- variable with its output redirected elsewhere).
local core = require "memwatch.core"

local M = {}

M.ERR, M.WARNING, M.NOTICE, M.INFO = 3, 4, 5, 6

--- journald(file) -> true when file is the journal stream $JOURNAL_STREAM names
function M.journald(file)
    local stream = os.getenv("JOURNAL_STREAM")
    if not stream or stream == "" then return false end
    return core.stream_id(file) == stream
end

--- level(line) -> the level of a line that does not say it: a notice for an
-- event (ALERT, RESOLVED), a warning for a WARNING, an error for a failure,
-- information otherwise.
function M.level(line)
    if line:find("%f[%w]ALERT%f[%W]") or line:find("%f[%w]RESOLVED%f[%W]") then return M.NOTICE end
    if line:find("WARNING", 1, true) then return M.WARNING end
    if line:find("%f[%w]failed%f[%W]") or line:find("%f[%w]cannot%f[%W]") or line:find("%f[%w]error%f[%W]") then
        return M.ERR
    end
    return M.INFO
end

--- write(file, level | nil, line): the line (each line of it) and a newline,
-- flushed at once; nil level: level(line).
function M.write(file, level, line)
    if M.journald(file) then
        local p = "<" .. (level or M.level(line)) .. ">"
        line = p .. line:gsub("\n", "\n" .. p)
    end
    file:write(line, "\n")
    file:flush()
end

return M
