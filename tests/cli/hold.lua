-- A program for the CLI tests, run by a Lua interpreter copied under a
-- name of the test's: holds 64M until the file DIR/free appears (at most
-- 60 s), then frees it, saying so by the files DIR/grown and DIR/freed.
--   LUA hold.lua DIR
local dir = arg[1]
local big = string.rep("x", 64 * 1024 * 1024)
assert(#big == 64 * 1024 * 1024)
local f = io.open(dir .. "/grown", "w") f:close()
local deadline = os.time() + 60
while os.time() < deadline and not io.open(dir .. "/free") do os.execute("sleep 0.2") end
big = nil -- luacheck: ignore (freed here, which is the point)
collectgarbage()
collectgarbage()
f = io.open(dir .. "/freed", "w") f:close()
os.execute("sleep 60")
