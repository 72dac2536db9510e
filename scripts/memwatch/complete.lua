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

-- A table of the facade that loads its module on first use (memwatch.actions,
-- memwatch.format, ...) names the module in its metatable: completion looks
-- at that module's table, loading it like any first use would.
local function lazy_module(t)
    local mt = getmetatable(t)
    local name = type(mt) == "table" and rawget(mt, "__module")
    -- only memwatch's own modules: loading another could run anything
    if type(name) ~= "string" or not name:match("^memwatch%.[%w_.]+$") then return nil end
    local ok, mod = pcall(require, name)
    return ok and type(mod) == "table" and mod or nil
end

local is_record = core.is_record

-- One step of a chain, without calling anything the user wrote: raw fields,
-- a metatable's __index table (record methods), a lazy facade table's module;
-- what a record holds, with no lazy read.
local function index(v, k)
    if is_record(v) then return core.peek(v, k) end
    if type(v) ~= "table" then return nil end
    local x = rawget(v, k)
    if x ~= nil then return x end
    local mod = lazy_module(v)
    if mod then return rawget(mod, k) end
    local mt = getmetatable(v)
    if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then return rawget(mt.__index, k) end
    return nil
end

-- The chain before the last separator: `a.b`, `procs[1]`, `t["k"].x`. Returns
-- the list of keys, or nil when the text is not such a chain.
local function parse_chain(chain)
    local first, rest = chain:match("^([%a_][%w_]*)(.*)$")
    if not first then return nil end
    local keys = { first }
    while rest ~= "" do
        local name, after = rest:match("^[.:]([%a_][%w_]*)(.*)$")
        if name then
            keys[#keys + 1] = name
        else
            local n
            n, after = rest:match("^%[%s*(%d+)%s*%](.*)$")
            if n then
                keys[#keys + 1] = math.tointeger(tonumber(n))
            else
                name, after = rest:match("^%[%s*[\"']([^\"'\\]*)[\"']%s*%](.*)$")
                if not name then return nil end
                keys[#keys + 1] = name
            end
        end
        rest = after
    end
    return keys
end

local function resolve(keys)
    local v = _G
    for _, k in ipairs(keys) do
        v = index(v, k)
        if v == nil then return nil end
    end
    return v
end

local function members(v)
    local names = {}
    if type(v) == "table" then
        for k in next, v do
            if type(k) == "string" and k:match("^[%a_][%w_]*$") then names[k] = true end
        end
        for k in next, lazy_module(v) or {} do
            if type(k) == "string" and k:match("^[%a_][%w_]*$") then names[k] = true end
        end
        local mt = getmetatable(v)
        if type(mt) == "table" and type(rawget(mt, "__index")) == "table" then
            for k in next, mt.__index do
                if type(k) == "string" then names[k] = true end
            end
        end
    elseif is_record(v) then
        -- What it holds, and the fields it would read on first access.
        for k in pairs(v) do
            if type(k) == "string" and k:match("^[%a_][%w_]*$") then names[k] = true end
        end
        for k in pairs(core.fields) do names[k] = true end
        names.cmdline, names.path = true, true
    elseif type(v) == "string" then
        for k in pairs(string) do names[k] = true end
    end
    return names
end

-- The expression before the cursor that completion works on: the longest
-- tail of the line that is a chain (`memwatch.actions.ex`, `procs[1].foot`);
-- `t[memw` completes `memw`.
local function last_word(line)
    local tail = line:match("[%w_%.:%[%]\"' ]*$")
    for i = 1, #tail do
        local w = tail:sub(i)
        if w:match("^[%a_]") and (i == 1 or not tail:sub(i - 1, i - 1):match("[%w_]")) then
            local base = w:match("^(.*)[.:][%w_]*$")
            if (base and parse_chain(base)) or w:match("^[%a_][%w_]*$") then return w end
        end
    end
    return ""
end

--- candidates(line) -> completions of the last word (sorted), length of that word.
-- Each completion is the whole word (`procs[1].footprint`); the prompt
-- replaces as much of it as its own idea of a word covers.
function M.candidates(line)
    local word = last_word(line)
    if word == "" and line:sub(-1) ~= "" then return {}, 0 end
    local base, sep, partial = word:match("^(.*)([.:])([%w_]*)$")
    local pool
    if base then
        local v = resolve(parse_chain(base))
        if v == nil then return {}, #word end
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
    return out, #word
end

return M
