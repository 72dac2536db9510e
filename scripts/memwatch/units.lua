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

-- What a size may be where a share of physical memory is accepted too.
M.SIZE_HELP = "expected a number with an optional unit B, K, M, G, T, P or % (of physical memory; binary " ..
    "multiples: 1K = 1024 bytes; KB and KiB mean the same as K)"

--- percent(s) -> the number before a trailing "%" ("12.5%" -> 12.5), or nil
-- when s is not written as a percentage.
function M.percent(s)
    if type(s) ~= "string" then return nil end
    local n = s:match("^%s*(%d+%.?%d*)%s*%%%s*$") or s:match("^%s*(%.%d+)%s*%%%s*$")
    return n and tonumber(n) or nil
end

--- parse_size(v, total) -> bytes, percent (nil for an absolute size)
-- v: a number of bytes, a size string ("1.5G") or a share of physical memory
-- ("20%"), total being the physical memory size in bytes (nil: unknown).
-- Raises "invalid size 'x': expected ..." naming every accepted unit, or
-- says that a percentage cannot be used where the total is unknown.
function M.parse_size(v, total)
    local pct = M.percent(v)
    if pct then
        if not total or total <= 0 then
            error(string.format("'%s' is a share of physical memory, whose size is unknown here " ..
                "(give a size such as \"4G\")", v), 0)
        end
        return math.floor(total * pct / 100 + 0.5), pct
    end
    local ok, n = pcall(core.parse_bytes, v)
    if not ok then
        if type(v) == "string" then error(string.format("invalid size '%s': %s", v, M.SIZE_HELP), 0) end
        error((tostring(n):gsub("^[^\n]-:%d+: ", "", 1)), 0)
    end
    return n
end

--- size_text(bytes, percent) -> "4.7G", or "20% (4.7G)" for a share of memory
function M.size_text(n, pct)
    if pct then return string.format("%s%% (%s)", string.format("%g", pct), M.bytes(n)) end
    return M.bytes(n)
end

--- rate(bytes_per_second, per) -> "5.0M/s", "50.0M/h", "1.0G/10m"
-- per: {seconds =, unit =} the time unit the rate was written in (default
-- an hour).
function M.rate(bps, per)
    if bps == nil then return "-" end
    per = per or { seconds = 3600, unit = "h" }
    return M.bytes(bps * per.seconds) .. "/" .. per.unit
end

return M
