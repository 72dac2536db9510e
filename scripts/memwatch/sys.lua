-- memwatch.sys: what the Lua side asks of the system besides memwatch.core.
local M = {}

--- which(name) -> the path of the program (searched in PATH unless name has
-- a slash) | nil
function M.which(name)
    if name:find("/", 1, true) then
        local f = io.open(name, "r")
        if f then f:close() return name end
        return nil
    end
    for dir in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
        local p = dir .. "/" .. name
        local f = io.open(p, "r")
        if f then
            f:close()
            return p
        end
    end
    return nil
end

--- find_program(name) -> path | nil, "'name' not found in PATH (dirs)"
-- which(), with the message a user needs when it fails: what was searched.
function M.find_program(name)
    local path = M.which(name)
    if path then return path end
    if name:find("/", 1, true) then return nil, string.format("'%s' not found", name) end
    return nil, string.format("'%s' not found in PATH (%s)", name, os.getenv("PATH") or "/usr/bin:/bin")
end

return M
