-- memwatch.text's printable and utf8_clean are C (core.printable,
-- core.utf8_clean, src/core/text.c) since issue 10. This test keeps the Lua
-- versions they replaced as the reference and checks that both give the same
-- bytes on hand-picked hostile inputs and on random byte strings.
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq = T.check, T.eq

local core = require "memwatch.core"
local text = require "memwatch.text"

-- ---- the reference: scripts/memwatch/text.lua before issue 10 -------------------
local named = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ["\\"] = "\\\\" }

local function seq_len(s, i)
    local b = s:byte(i)
    local len = b < 0x80 and 1 or b >= 0xF0 and b < 0xF5 and 4 or b >= 0xE0 and b < 0xF0 and 3 or
        b >= 0xC2 and b < 0xE0 and 2 or nil
    if not len or i + len - 1 > #s then return nil end
    if len > 1 and utf8.len(s:sub(i, i + len - 1)) ~= 1 then return nil end
    return len
end

local function ref_printable(s)
    if s == nil then return nil end
    s = tostring(s)
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
            if cp < 0xA0 then
                out[#out + 1] = string.format("\\u{%x}", cp)
            else
                out[#out + 1] = s:sub(i, i + len - 1)
            end
            i = i + len
        end
    end
    return table.concat(out)
end

local function ref_utf8_clean(s)
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

-- ---- inputs ------------------------------------------------------------------------
local TRICKY = {
    "", "sshd", "plain ascii with spaces ~!@#",
    "\0", "a\0b", "\1\2\3\31", "\27[31mred\27[0m", "del\127", "bell\7",
    "two\nlines\r\n", "tab\there", "back\\slash", "ends\\", "\\n literal",
    "c1\u{80}\u{85}\u{9f}x", "nbsp\u{a0}", "\u{ff}\u{100}", "é", "日本語", "emoji \u{1F600}",
    "\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}",
    "\xff", "\xfe\xff", "bad\xff\xfeutf", "\x80", "\xbf", "\x80\x80\x80",
    "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
    "\xed\xa0\x80", "\xed\xbf\xbf", "\xed\x9f\xbf",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
    "\xc3", "\xe6\x97", "\xf0\x9f\x98", "trunc\xe6\x97", "\xe6\x97x", "\xc2", "\xc2\x7f",
    "\xc2\x80\xc2", "mixed \27 é \xff \u{85} \\ \t\n\r\127",
}

local function random_bytes(rng, n)
    local t = {}
    for i = 1, n do
        -- Weighted towards the interesting bytes.
        local r = rng(100)
        if r <= 30 then
            t[i] = rng(0, 0x7F)
        elseif r <= 45 then
            t[i] = rng(0x80, 0xBF)
        elseif r <= 75 then
            t[i] = ({ 0xC2, 0xC3, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xC0, 0xC1, 0xFF })[rng(12)]
        else
            t[i] = rng(0, 255)
        end
    end
    return string.char(table.unpack(t))
end

T.test("printable matches the Lua reference on hostile inputs", function()
    for _, s in ipairs(TRICKY) do
        eq(core.printable(s), ref_printable(s), string.format("%q", s))
        eq(text.printable(s), ref_printable(s), string.format("text %q", s))
    end
end)

T.test("utf8_clean matches the Lua reference on hostile inputs", function()
    for _, s in ipairs(TRICKY) do
        eq(core.utf8_clean(s), ref_utf8_clean(s), string.format("%q", s))
        eq(text.utf8_clean(s), ref_utf8_clean(s), string.format("text %q", s))
        check(utf8.len(core.utf8_clean(s)) ~= nil, "valid UTF-8 out")
    end
end)

T.test("random byte strings", function()
    local state = 12345
    -- A fixed linear congruential generator: the same strings on every run.
    local function rng(a, b)
        state = (state * 1103515245 + 12345) % 2147483648
        if not b then a, b = 1, a end
        return a + state % (b - a + 1)
    end
    local bad = 0
    for _ = 1, 3000 do
        local s = random_bytes(rng, rng(0, 12))
        if core.printable(s) ~= ref_printable(s) or core.utf8_clean(s) ~= ref_utf8_clean(s) then
            bad = bad + 1
            if bad <= 5 then io.stderr:write(string.format("differs on %q\n", s)) end
        end
    end
    eq(bad, 0, "strings where C and the reference differ")
end)

T.test("values that are not strings", function()
    eq(core.printable(nil), nil)
    eq(select("#", core.printable(nil)), 1, "printable(nil) returns one nil")
    eq(core.printable(), nil)
    eq(core.printable(42), "42")
    eq(core.printable(1.5), "1.5")
    eq(core.printable(true), "true")
    local obj = setmetatable({}, { __tostring = function() return "obj\27" end })
    eq(core.printable(obj), ref_printable(obj))
    eq(core.utf8_clean(7), 7, "a number comes back as it is (as utf8.len accepts it)")
    check(not pcall(core.utf8_clean, nil), "utf8_clean(nil) raises")
    check(not pcall(core.utf8_clean, {}), "utf8_clean({}) raises")
end)

T.done()
