-- memwatch.text: making bytes safe to show, and aligned tables.
local M = {}

-- Process names and command lines are bytes chosen by whoever started the
-- process. Before they reach a terminal, control characters (including ESC,
-- which starts escape sequences) and bytes that are not valid UTF-8 become
-- visible escapes: "\n", "\t", "\x1b". The rules are C (src/core/text.c),
-- shared with the executable's error reports; memwatch.core is required here,
-- not at load time, so the CSV fuzz target can load this file alone.
function M.printable(s)
    return require("memwatch.core").printable(s)
end

-- Display width of a printable string (one column per code point).
local function width(s)
    return utf8.len(s) or #s
end
M.width = width

local function pad(s, w, right)
    local fill = string.rep(" ", w - width(s))
    return right and fill .. s or s .. fill
end

-- Renders rows under headers. columns: list of {title=, align="right"|"left",
-- min=}; rows: list of lists of strings (already printable). The last column
-- is not padded when left-aligned, so lines carry no trailing blanks.
function M.table(columns, rows, sep)
    sep = sep or "  "
    local widths = {}
    for i, col in ipairs(columns) do
        widths[i] = math.max(width(col.title), col.min or 0)
    end
    for _, row in ipairs(rows) do
        for i = 1, #columns do
            widths[i] = math.max(widths[i], width(row[i] or ""))
        end
    end
    local lines = {}
    local function line(cells)
        local parts = {}
        for i, col in ipairs(columns) do
            local cell = cells[i] or ""
            if i == #columns and col.align ~= "right" then
                parts[i] = cell
            else
                parts[i] = pad(cell, widths[i], col.align == "right")
            end
        end
        lines[#lines + 1] = table.concat(parts, sep)
    end
    local titles = {}
    for i, col in ipairs(columns) do titles[i] = col.title end
    line(titles)
    for _, row in ipairs(rows) do line(row) end
    return table.concat(lines, "\n") .. "\n"
end

-- One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF.
function M.csv_field(v)
    if v == nil then return "" end
    v = tostring(v)
    if v:find('[,"\r\n]') then
        return '"' .. v:gsub('"', '""') .. '"'
    end
    return v
end

function M.csv_line(values, n)
    local out = {}
    for i = 1, n or #values do out[i] = M.csv_field(values[i]) end
    return table.concat(out, ",") .. "\r\n"
end

-- A byte string as valid UTF-8 for JSON: invalid bytes become U+FFFD (the
-- JSON writer's rule, src/core/text.c).
function M.utf8_clean(s)
    return require("memwatch.core").utf8_clean(s)
end

return M
