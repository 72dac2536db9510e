-- luacheck configuration: `luacheck scripts tests/lua tests/bench` from the repository
-- root (the ctest test `luacheck` runs it). Every warning class is on; the
-- exceptions below are per file and say why.
std = "lua54"
-- The Lua sources are laid out to 120 columns (the C sources, by
-- clang-format, to 100).
max_line_length = 120

-- The memwatch executable runs these with the global `memwatch` set (the
-- module, as after `memwatch = require "memwatch"`); a stock lua5.4 runs
-- them after requiring it the same way.
files["scripts/examples"] = { read_globals = { "memwatch" } }
files["tests/lua"] = { read_globals = { "memwatch" } }
files["tests/bench"] = { read_globals = { "memwatch" } }

-- help() prints: the test swaps print for a function that keeps the lines,
-- and puts it back.
files["tests/lua/test_prompt.lua"] = { read_globals = { "memwatch" }, globals = { "print" } }
