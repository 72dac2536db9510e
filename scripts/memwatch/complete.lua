-- memwatch.complete: tab completion for the prompt. Given the text before
-- the cursor, returns the candidates for its last word: globals, the members
-- of a table reached through a chain of names (memwatch.pro -> processes),
-- and the fields of a record-valued expression (p. -> footprint, resident ...).
-- Only plain name chains are looked at: nothing is called while completing.
local core = require "memwatch.core"

local M = {}

local KEYWORDS = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
    "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
    "while" }

local function resolve(chain)
    local v = _G
    for name in chain:gmatch("[^.:]+") do
        if type(v) ~= "table" then return nil end
        v = rawget(v, name)
        if v == nil then return nil end
    end
    return v
end

local function is_record(v)
    local mt = type(v) == "table" and getmetatable(v)
    return mt and mt.__name == "memwatch.process"
end

local function members(v)
    local names = {}
    if type(v) == "table" then
        for k in pairs(v) do
            if type(k) == "string" and k:match("^[%a_][%w_]*$") then names[k] = true end
        end
        -- A record also offers the fields it would read on first access.
        if is_record(v) then
            for k in pairs(core.fields) do names[k] = true end
            names.cmdline, names.path = true, true
        end
        local mt = getmetatable(v)
        if mt and type(mt.__index) == "table" then
            for k in pairs(mt.__index) do
                if type(k) == "string" then names[k] = true end
            end
        end
    elseif type(v) == "string" then
        for k in pairs(string) do names[k] = true end
    end
    return names
end

-- Returns an array of completions of the whole last word (sorted).
function M.candidates(line)
    local word = line:match("[%a_][%w_%.:]*$") or ""
    if word == "" and line:sub(-1) ~= "" then return {} end
    local base, sep, partial = word:match("^(.*)([.:])([%w_]*)$")
    local pool
    if base then
        local v = resolve(base)
        if v == nil then return {} end
        pool = members(v)
    else
        partial, base, sep = word, "", ""
        pool = members(_G)
        for _, k in ipairs(KEYWORDS) do pool[k] = true end
    end
    local out = {}
    for name in pairs(pool) do
        if name:sub(1, #partial) == partial and not (base == "" and name:match("^_")) then
            out[#out + 1] = base .. sep .. name
        end
    end
    table.sort(out)
    return out
end

return M
