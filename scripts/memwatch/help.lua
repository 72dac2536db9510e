-- memwatch.help: help() at the prompt. The text is the README's "Lua API"
-- section, compiled into the executable as memwatch.apidoc, so the prompt
-- and the README never disagree.
local M = {}

local entries, order

local function load()
    if entries then return end
    entries, order = {}, {}
    local ok, doc = pcall(require, "memwatch.apidoc")
    if not ok then return end
    local current
    for line in (doc .. "\n"):gmatch("(.-)\n") do
        -- "### `memwatch.processes([filter ...])`" opens an entry; so does a
        -- bullet "- `memwatch.bytes(n)`: ..." (several functions share a section).
        local heading = line:match("^###%s+`memwatch%.([%w_]+).-`")
        local bullet = line:match("^%-%s+`memwatch%.([%w_]+).-`")
        if heading or bullet then
            current = { name = heading or bullet, bullet = bullet ~= nil,
                lines = { (line:gsub("^###%s+", ""):gsub("^%-%s+", "")) } }
            if not entries[current.name] then
                entries[current.name] = current
                order[#order + 1] = current.name
            end
        elseif line:match("^##%s") or line:match("^###%s") then
            current = nil
        elseif current and (heading == nil) then
            -- Another bullet ends an entry that was itself a bullet.
            if current.bullet and line:match("^%- ") then
                current = nil
            else
                current.lines[#current.lines + 1] = line
            end
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
        for _, name in ipairs(order) do
            -- the signature, without the sentence a bullet goes on with
            local first = entries[name].lines[1]:gsub("`", ""):gsub("%):%s.*$", ")")
            print("  " .. first)
        end
        return
    end
    local name = what
    if type(what) ~= "string" then
        name = nil
        for k, v in pairs(memwatch) do
            if v == what then name = k end
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
