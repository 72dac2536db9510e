-- memwatch.help: help() at the prompt. The text is the README's "Lua API"
-- section, compiled into the executable as memwatch.apidoc, so the prompt
-- and the README never disagree.
local M = {}

local entries, order

local function add(name, e)
    if not entries[name] then
        entries[name] = e
        order[#order + 1] = name
    end
end

local function load()
    if entries then return end
    entries, order = {}, {}
    local ok, doc = pcall(require, "memwatch.apidoc")
    if not ok then return end
    local current, section, section_entry
    for line in (doc .. "\n"):gmatch("(.-)\n") do
        -- "### `memwatch.processes([filter ...])`" opens an entry; so does a
        -- bullet "- `memwatch.bytes(n)`: ..." (several functions share a
        -- section), under every name it opens with ("- `memwatch.now()`: ...
        -- `memwatch.sleep(s)`: ..."); and in a function's section, a bullet
        -- "- `exec{...}`" is that table's entry (help "actions.exec").
        local heading = line:match("^###%s+`memwatch%.([%w_]+).-`")
        local bullet = line:match("^%-%s+`memwatch%.([%w_]+).-`")
        local member = not bullet and section and line:match("^%-%s+`([%a_][%w_]*)[{(].-`")
        if heading or bullet or member then
            current = { bullet = heading == nil, lines = { (line:gsub("^###%s+", ""):gsub("^%-%s+", "")) } }
            if heading then
                section, section_entry = heading, current
                add(heading, current)
            elseif member then
                add(section .. "." .. member, current)
            else
                for name in line:gmatch("`memwatch%.([%w_]+)[^`]*`") do add(name, current) end
            end
        elseif line:match("^##%s") or line:match("^###%s") then
            current, section, section_entry = nil, nil, nil
        elseif current then
            -- Another bullet ends an entry that was itself a bullet.
            if current.bullet and line:match("^%- ") then
                current = nil
            else
                current.lines[#current.lines + 1] = line
            end
        end
        -- a section's own entry keeps its member bullets (help "actions")
        if section_entry and current ~= section_entry then
            section_entry.lines[#section_entry.lines + 1] = line
        end
    end
end

local function entry_text(e)
    local lines = {}
    for _, l in ipairs(e.lines) do
        if not l:match("^```") then lines[#lines + 1] = l end -- code fences
    end
    while #lines > 0 and lines[#lines]:match("^%s*$") do lines[#lines] = nil end
    return table.concat(lines, "\n")
end

-- help() lists the API; help(memwatch.watch) or help "watch" shows one entry.
function M.help(what)
    load()
    local memwatch = require "memwatch"
    if what == nil then
        if #order == 0 then
            print("no documentation is compiled into this build")
            return
        end
        print("memwatch Lua API (help \"name\" or help(memwatch.name) for one entry):")
        local listed = {}
        for _, name in ipairs(order) do
            local e = entries[name]
            if not listed[e] then
                listed[e] = true
                -- the signature, without the sentence a bullet goes on with
                local sigs = {}
                for sig in e.lines[1]:gmatch("`(memwatch%.[^`]*)`") do sigs[#sigs + 1] = sig end
                if name:find(".", 1, true) then
                    sigs = { "memwatch." .. name:match("^[%w_]+") .. "." .. e.lines[1]:match("^`([^`]*)`") }
                end
                print("  " .. table.concat(sigs, ", "))
            end
        end
        return
    end
    local name = what
    if type(what) ~= "string" then
        name = nil
        for k, v in pairs(memwatch) do
            if v == what then name = k end
        end
        -- a function of a table with entries of its own (memwatch.actions.exec)
        for full in pairs(entries) do
            local prefix, k = full:match("^([%w_]+)%.([%w_]+)$")
            local t = prefix and rawget(memwatch, prefix)
            if not name and type(t) == "table" and t[k] == what then name = full end
        end
        if not name then
            print("no documentation for that value (help() lists the API)")
            return
        end
    end
    name = name:gsub("^memwatch%.", "")
    local e = entries[name]
    if not e then
        print(string.format("no documentation for '%s' (help() lists the API)", name))
        return
    end
    print((entry_text(e):gsub("`", "")))
end

return M
