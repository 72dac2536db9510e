#!/usr/bin/env bash
# The LuaRocks rock (issue 12, "Packages in the ecosystem's own forms"):
# `luarocks --lua-version=5.4 make scripts/memwatch-dev-1.rockspec` into a
# private tree (--tree) builds the C module and installs the Lua modules
# and the executable, and a stock lua5.4 pointed at that tree gets
# `require "memwatch"` with a working scan. The build runs on a copy of the
# sources, so the checkout gets no build.luarocks directory.
# SKIPPED without luarocks or lua5.4.
# Environment (from ctest): MW_SOURCE_DIR.
set -u
export LC_ALL=C
: "${MW_SOURCE_DIR:?}"

. "$(dirname "$0")/lib.sh"
mw_test_init luarocks

if ! needs luarocks lua5.4; then
    mw_test_done
    exit $?
fi
unset LUA_PATH LUA_CPATH LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT LUA_INIT_5_4

mkdir "$TMP/src"
(cd "$MW_SOURCE_DIR" && tar cf - CMakeLists.txt README.md include src scripts) | (cd "$TMP/src" && tar xf -)
tree="$TMP/tree"
if (cd "$TMP/src" && luarocks --lua-version=5.4 --tree="$tree" make scripts/memwatch-dev-1.rockspec) \
    >"$TMP/make.log" 2>&1; then
    pass
else
    fail "luarocks make: $(tail -n 30 "$TMP/make.log")"
fi
expect_contains "$(cat "$TMP/make.log")" "memwatch dev-1 is now installed in $tree" "luarocks reports the install"

lmod="$tree/share/lua/5.4"
cmod="$tree/lib/lua/5.4"
check "[ -f '$cmod/memwatch/core.so' ]" "the C module is in the tree: $(find "$tree" -name core.so)"
check "[ -f '$lmod/memwatch/init.lua' ] && [ -f '$lmod/memwatch/watch/engine.lua' ]" "the Lua modules are in the tree"
check "[ -x '$tree/bin/memwatch' ]" "the executable is in the tree's bin"

out=$(cd / && lua5.4 -e "package.path = '$lmod/?.lua;$lmod/?/init.lua;' .. package.path
package.cpath = '$cmod/?.so;' .. package.cpath
local m = require 'memwatch'
assert(#m.processes() > 0, 'no processes')
print(m.version, package.searchpath('memwatch.core', package.cpath), package.searchpath('memwatch', package.path))" 2>&1)
version=$(sed -n 's/^project(memwatch VERSION \([0-9.]*\).*/\1/p' "$MW_SOURCE_DIR/CMakeLists.txt")
expect_eq "$out" "$version	$cmod/memwatch/core.so	$lmod/memwatch/init.lua" \
    "lua5.4 requires memwatch from the tree, version from project(VERSION)"

# luarocks itself knows the rock and its files.
expect_match "$(luarocks --lua-version=5.4 --tree="$tree" list --porcelain 2>&1)" '^memwatch[[:space:]]+dev-1' \
    "luarocks list shows the rock"

mw_test_done
