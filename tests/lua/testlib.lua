-- testlib: a tiny assertion helper for the Lua contract tests.
--
--   local T = dofile((arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
--   T.test("name", function() T.eq(1 + 1, 2) end)
--   T.done()   -- prints "N passed, M failed", exits 1 on any failure
--
-- Every assertion counts as one check. A failed check prints where it was
-- made and goes on; an error inside T.test() counts as one failure and ends
-- that test only. Loaded with dofile, so it defines no globals.
local T = { passed = 0, failed = 0 }

local current -- name of the running test
local cleanups = {}

local function show(v)
    if type(v) == "string" then return string.format("%q", v) end
    if math.type(v) == "float" then return string.format("%.17g (float)", v) end
    return tostring(v)
end
T.show = show

-- Where the failing assertion was written: the first frame outside this file.
local function where()
    for level = 3, 20 do
        local info = debug.getinfo(level, "Sl")
        if not info then break end
        if info.short_src ~= debug.getinfo(1, "S").short_src and info.currentline > 0 then
            return info.short_src .. ":" .. info.currentline
        end
    end
    return "?"
end

local function record(ok, msg)
    if ok then
        T.passed = T.passed + 1
    else
        T.failed = T.failed + 1
        io.stderr:write(string.format("FAIL %s%s: %s\n", current and ("[" .. current .. "] ") or "",
            where(), msg or "check failed"))
    end
    return ok
end

--- check(cond, msg): cond must be truthy.
function T.check(cond, msg)
    return record(cond and true or false, msg)
end

--- eq(actual, expected, msg): raw equality (no coercion: 1 ~= "1"; an
-- integer and a float of the same value are equal, as in Lua).
function T.eq(actual, expected, msg)
    local ok = actual == expected and type(actual) == type(expected)
    return record(ok, string.format("%s%s expected, got %s", msg and (msg .. ": ") or "", show(expected),
        show(actual)))
end

--- near(actual, expected, tolerance, msg)
function T.near(actual, expected, tol, msg)
    local ok = type(actual) == "number" and type(expected) == "number" and math.abs(actual - expected) <= tol
    return record(ok, string.format("%s%s expected (+-%s), got %s", msg and (msg .. ": ") or "",
        show(expected), show(tol), show(actual)))
end

--- is_type(v, "integer"|"float"|any type() name, msg)
function T.is_type(v, kind, msg)
    local got = math.type(v) or type(v)
    local ok = got == kind or type(v) == kind
    return record(ok, string.format("%s%s expected, got %s (%s)", msg and (msg .. ": ") or "", kind, got,
        show(v)))
end

--- raises(fn, pattern [, plain]): fn() must raise an error whose message
-- matches the Lua pattern (or contains the text, when plain is true).
-- Returns the message.
function T.raises(fn, pattern, plain)
    local ok, err = pcall(fn)
    if ok then
        record(false, string.format("expected an error matching %s, but none was raised", show(pattern)))
        return nil
    end
    local msg = tostring(err)
    record(msg:find(pattern, 1, plain) ~= nil,
        string.format("error %s does not match %s", show(msg), show(pattern)))
    return msg
end

--- raises_exactly(fn, text): the message, without a "file:line: " prefix, is text.
function T.raises_exactly(fn, text)
    local ok, err = pcall(fn)
    if ok then
        record(false, string.format("expected the error %s, but none was raised", show(text)))
        return nil
    end
    local msg = tostring(err)
    local bare = msg:gsub("^[^\n]-:%d+: ", "", 1)
    record(bare == text, string.format("error %s expected, got %s", show(text), show(msg)))
    return msg
end

--- test(name, fn): runs fn; an unexpected error counts as a failure.
function T.test(name, fn)
    current = name
    local ok, err = xpcall(fn, debug.traceback)
    if not ok then
        T.failed = T.failed + 1
        io.stderr:write(string.format("FAIL [%s] raised: %s\n", name, tostring(err)))
    end
    current = nil
end

--- skip(name, why): say so. The rest of the file still runs; T.done() then
-- reports the whole test as skipped (exit 77) unless something failed, so a
-- part that could not run is never counted as passed.
local skipped = {}
function T.skip(name, why)
    skipped[#skipped + 1] = string.format("%s (%s)", name, why)
    io.stdout:write(string.format("SKIP [%s] %s\n", name, why))
end

--- cleanup(fn): run fn in T.done(), even after failures.
function T.cleanup(fn)
    cleanups[#cleanups + 1] = fn
end

--- done(): summary line, and exit 1 when anything failed.
function T.done()
    for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
    io.stdout:write(string.format("%d passed, %d failed\n", T.passed, T.failed))
    if T.failed == 0 and #skipped > 0 then
        io.stdout:write("SKIPPED: could not run: ", table.concat(skipped, "; "), "\n")
        io.stdout:flush()
        os.exit(77)
    end
    io.stdout:flush()
    if T.failed > 0 or T.passed == 0 then os.exit(1) end
    os.exit(0)
end

-- Helpers for the tests that need child processes.

--- sh(cmd): stdout of a shell command, trailing newline removed.
function T.sh(cmd)
    local f = assert(io.popen(cmd, "r"))
    local out = f:read("a")
    f:close()
    return (out:gsub("\n$", ""))
end

--- spawn(cmd): starts cmd in the background; returns its pid (an integer).
-- The process is killed in T.done().
function T.spawn(cmd)
    local pid = math.tointeger(tonumber(T.sh("exec " .. cmd .. " >/dev/null 2>&1 </dev/null & echo $!")))
    assert(pid, "could not start " .. cmd)
    T.cleanup(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
    return pid
end

--- wait_until(fn, timeout): polls fn() every 20 ms until it returns a true
-- value or timeout (seconds, default 3) passes; returns fn's last result.
function T.wait_until(fn, timeout)
    for _ = 1, math.floor((timeout or 3) / 0.02) do
        local v = fn()
        if v then return v end
        os.execute("sleep 0.02")
    end
    return fn()
end

return T
