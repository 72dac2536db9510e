-- memwatch.text: making bytes safe to show, and aligned tables.
local M = {}

-- Process names and command lines are bytes chosen by whoever started the
-- process. Before they reach a terminal, control characters (including ESC,
-- which starts escape sequences) and bytes that are not valid UTF-8 become
-- visible escapes: "\n", "\t", "\x1b".
local named = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ["\\"] = "\\\\" }

-- Length of the valid UTF-8 sequence starting at byte i, or nil.
local function seq_len(s, i)
    local b = s:byte(i)
    local len = b < 0x80 and 1 or b >= 0xF0 and b < 0xF5 and 4 or b >= 0xE0 and b < 0xF0 and 3 or
        b >= 0xC2 and b < 0xE0 and 2 or nil
    if not len or i + len - 1 > #s then return nil end
    if len > 1 and utf8.len(s:sub(i, i + len - 1)) ~= 1 then return nil end
    return len
end

function M.printable(s)
    if s == nil then return nil end
    s = tostring(s)
    -- Fast path: printable ASCII only.
    if not s:find("[%c\128-\255\\]") then return s end
    local out, i, n = {}, 1, #s
    while i <= n do
        local b = s:byte(i)
        local len = seq_len(s, i)
        if not len then
            out[#out + 1] = string.format("\\x%02x", b)
            i = i + 1
        elseif len == 1 then
            local c = s:sub(i, i)
            if named[c] then
                out[#out + 1] = named[c]
            elseif b < 0x20 or b == 0x7F then
                out[#out + 1] = string.format("\\x%02x", b)
            else
                out[#out + 1] = c
            end
            i = i + 1
        else
            local cp = utf8.codepoint(s, i)
            if cp < 0xA0 then -- C1 controls
                out[#out + 1] = string.format("\\u{%x}", cp)
            else
                out[#out + 1] = s:sub(i, i + len - 1)
            end
            i = i + len
        end
    end
    return table.concat(out)
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

-- A byte string as valid UTF-8 for JSON: invalid bytes become U+FFFD.
function M.utf8_clean(s)
    if utf8.len(s) then return s end
    local out, i, n = {}, 1, #s
    while i <= n do
        local len = seq_len(s, i)
        if len then
            out[#out + 1] = s:sub(i, i + len - 1)
            i = i + len
        else
            out[#out + 1] = "\u{FFFD}"
            i = i + 1
        end
    end
    return table.concat(out)
end

return M
