#!/usr/bin/env bash
# The Lua sources (scripts/, tests/lua, tests/bench) pass luacheck with the repository's
# .luacheckrc: zero warnings. Exit 77 (skipped) when luacheck is missing.
set -u
cd "${MW_SOURCE_DIR:?}" || exit 1
if ! command -v luacheck >/dev/null 2>&1; then
    echo "SKIP: luacheck is not installed (Debian: apt-get install lua-check; scripts/setup.sh test installs it)"
    exit 77
fi
luacheck --no-color --codes --quiet scripts tests/lua tests/bench
