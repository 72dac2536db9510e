-- memwatch.units: sizes and durations as people read them, for event text,
-- actions and views. Below everything that prints an event, so none of them
-- borrows these from the watch engine.
local core = require "memwatch.core"

local M = {}

--- bytes(n) -> "1.5G", "-300M" (a negative size keeps its sign), "-" for nil
function M.bytes(n)
    if n == nil then return "-" end
    if n < 0 then return "-" .. core.bytes(-n) end
    return core.bytes(n)
end

--- span(seconds) -> "3h12m", "45s", "2d4h"
function M.span(s)
    if s == nil then return "-" end
    if s == math.huge then return "never" end
    s = math.floor(s + 0.5)
    if s < 60 then return s .. "s" end
    if s < 3600 then return string.format("%dm%02ds", s // 60, s % 60) end
    if s < 86400 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
    return string.format("%dd%02dh", s // 86400, (s % 86400) // 3600)
end

return M
