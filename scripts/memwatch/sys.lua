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

return M
