-- memwatch as a LuaRocks rock, built from this checkout with the project's
-- own CMake build (so the C module links what the build finds through
-- pkg-config: jansson, libmicrohttpd, on Debian and with Homebrew alike):
--
--   luarocks --lua-version=5.4 make scripts/memwatch-dev-1.rockspec
--
-- (run at the top of the checkout; add --local or --tree=DIR for a private
-- tree). It installs memwatch/core.so into the tree's C module directory,
-- the memwatch.* Lua modules into its Lua directory and the memwatch
-- executable into its bin/, so a stock lua5.4 gets `require "memwatch"`.
-- The version the module reports (memwatch.version) is the one definition,
-- project(VERSION) in CMakeLists.txt; "dev" is LuaRocks' name for a rock
-- built from the current source.
rockspec_format = "3.0"
package = "memwatch"
version = "dev-1"
source = {
    -- `luarocks make` builds the checkout it is run in and fetches nothing.
    url = "git+file://.",
}
description = {
    summary = "Lua-scriptable process memory watcher",
    detailed = [[
memwatch measures what each process and app costs in memory (footprint,
resident, PSS, swap), watches it with rules written in Lua, and alerts,
exports to Prometheus or records. require "memwatch" gives the API to any
Lua 5.4 script.]],
    labels = { "monitoring", "memory", "linux", "macos" },
}
supported_platforms = { "linux", "macosx" }
dependencies = {
    "lua >= 5.4, < 5.5",
}
build = {
    type = "cmake",
    variables = {
        CMAKE_BUILD_TYPE = "Release",
        CMAKE_INSTALL_PREFIX = "$(PREFIX)",
        CMAKE_INSTALL_BINDIR = "$(BINDIR)",
        MEMWATCH_INSTALL_CMOD = "$(LIBDIR)",
        MEMWATCH_INSTALL_LMOD = "$(LUADIR)",
        MEMWATCH_TESTS = "OFF",
    },
}
