#!/usr/bin/env bash
# A stock lua5.4 loads the memwatch module from the build tree (issue 2:
# "a Lua C module that a stock lua5.4 loads with require 'memwatch'"), the
# module works there, adds no globals, and one script gives the same output
# in lua5.4 and in the memwatch executable.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR, MW_BUILD_DIR.
# Exit 77 (skipped) when lua5.4 is not installed.
set -u
export LC_ALL=C

: "${MW_SOURCE_DIR:?}" "${MW_BUILD_DIR:?}" "${MEMWATCH:?}"

LUA=$(command -v lua5.4) || {
    echo "SKIP: no lua5.4 on PATH (Debian: apt-get install lua5.4)"
    exit 77
}
SO="$MW_BUILD_DIR/lua/memwatch/core.so"
if [ ! -f "$SO" ]; then
    echo "FAIL: the Lua C module $SO was not built" >&2
    exit 1
fi

export LUA_CPATH="$MW_BUILD_DIR/lua/?.so;;"
export LUA_PATH="$MW_SOURCE_DIR/scripts/?.lua;$MW_SOURCE_DIR/scripts/?/init.lua;;"
unset LUA_INIT LUA_INIT_5_4 LUA_PATH_5_4 LUA_CPATH_5_4

# An ASan build (-DMEMWATCH_SANITIZE=ON) gives an instrumented module; a
# stock interpreter can only load it with the ASan runtime preloaded.
if nm -D "$SO" 2>/dev/null | grep -q '__asan'; then
    ASAN_LIB=$(ldd "$SO" 2>/dev/null | awk '/asan/ && $3 ~ /^\// { print $3; exit }')
    if [ -z "$ASAN_LIB" ]; then
        ASAN_LIB=$(gcc -print-file-name=libasan.so 2>/dev/null)
    fi
    if [ -z "$ASAN_LIB" ] || [ ! -e "$ASAN_LIB" ]; then
        echo "SKIP: $SO is ASan-instrumented and no ASan runtime was found to preload"
        exit 77
    fi
    export LD_PRELOAD="$ASAN_LIB${LD_PRELOAD:+:$LD_PRELOAD}"
    # lua5.4 itself is not instrumented: its allocations look like leaks.
    export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    echo "note: ASan build, preloading $ASAN_LIB"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-stock.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAIL=0

# ---------------------------------------------------------------------------
# The contract from the stock interpreter, with the Lua test helper.
cat >"$TMP/stock.lua" <<'EOF'
local before = {}
for k in pairs(_G) do before[k] = true end
local mw = require "memwatch"
local added = {}
for k in pairs(_G) do
    if not before[k] then added[#added + 1] = tostring(k) end
end
table.sort(added)

local T = dofile(os.getenv("MW_SOURCE_DIR") .. "/tests/lua/testlib.lua")
local eq, check = T.eq, T.check

T.eq(table.concat(added, ", "), "", "globals added by require 'memwatch'")
T.eq(rawget(_G, "memwatch"), nil, "no memwatch global in a stock interpreter")
T.eq(package.searchpath("memwatch.core", package.cpath), os.getenv("MW_BUILD_DIR") .. "/lua/memwatch/core.so",
    "memwatch.core comes from the build tree")
T.eq(package.searchpath("memwatch", package.path), os.getenv("MW_SOURCE_DIR") .. "/scripts/memwatch/init.lua",
    "memwatch comes from scripts/memwatch/init.lua")
T.check(rawequal(require "memwatch", mw), "require is cached")

T.test("the module in a stock lua5.4", function()
    eq(mw.platform, "linux")
    check(type(mw.version) == "string" and mw.version:match("^%d+%.%d+%.%d+$"), "version")
    local mypid = math.tointeger(tonumber(T.sh("echo $PPID")))
    local recs = mw.processes()
    check(#recs >= 2, "processes() returns records")
    local found
    for _, r in ipairs(recs) do
        if r.pid == mypid then found = r end
    end
    check(found, "our pid is in the scan")
    eq(found and found.name, "lua5.4", "our name")
    local s = mw.self()
    eq(s.pid, mypid, "self().pid")
    T.is_type(s.footprint, "integer", "self().footprint")
    eq(s.footprint, s.rss_anon + s.rss_shmem + s.swap + s.page_table, "footprint formula")
    T.is_type(s.pss, "integer", "lazy pss")
    T.is_type(s.cpu_time, "float", "cpu_time")
    local one = mw.processes { pid = mypid, name = "lua5.4" }
    eq(#one, 1, "a filter")
    T.raises_exactly(function() mw.processes { x = 1 } end,
        "memwatch.processes: unknown filter key 'x' (expected name, exe, match, user, pid, pidfile, unit, container)")
    local none, msg, errno = mw.process(999999999)
    eq(none, nil)
    eq(msg, "pid 999999999: No such process")
    eq(errno, 3)
    eq(mw.bytes(15 * 1024 * 1024), "15.0M")
    eq(mw.bytes(812 * 1024), "812K")
    eq(mw.parse_bytes("1.5G"), 1610612736)
    T.near(mw.parse_duration("250ms"), 0.25, 1e-12, "parse_duration")
    local t0 = mw.now()
    mw.sleep(0.02)
    check(mw.now() - t0 >= 0.02, "sleep")
    local rows = mw.ledger(mypid)
    check(type(rows) == "table" and #rows > 5, "ledger rows")
    local sys = mw.system()
    check(sys and sys.total > 0, "system().total")
end)

T.done()
EOF

echo "== stock lua5.4: contract"
if ! "$LUA" "$TMP/stock.lua"; then
    echo "FAIL: the module in a stock lua5.4 (above)" >&2
    FAIL=$((FAIL + 1))
fi

# ---------------------------------------------------------------------------
# One script, two hosts: the same output in lua5.4 and in memwatch.
cat >"$TMP/both.lua" <<'EOF'
local mw = require "memwatch"
local s = mw.self()
print(mw.platform, mw.version, mw.bytes(3 * 1024 * 1024 + 400 * 1024), mw.parse_bytes("2K"))
print(math.type(s.footprint), math.type(s.start_time), s.pid == math.tointeger(tonumber(
    io.popen("echo $PPID"):read("l"))))
print(#mw.processes { pid = 1 }, mw.processes { pid = 1 }[1].pid)
print(pcall(mw.parse_duration, "2Q"))
print(select("#", mw.process(999999999)), mw.process(999999999))
EOF
echo "== one script in lua5.4 and in memwatch"
STOCK_OUT=$("$LUA" "$TMP/both.lua" 2>&1)
STOCK_RC=$?
# The executable is started without the stock interpreter's preload.
MW_OUT=$(env -u LD_PRELOAD "$MEMWATCH" "$TMP/both.lua" 2>&1)
MW_RC=$?
EXPECTED="linux	$(echo "$STOCK_OUT" | head -n 1 | cut -f 2)	3.4M	2048
integer	float	true
1	1
false	invalid duration '2Q': expected a number with an optional unit ms, s, m or h (a bare number is seconds)
3	nil	pid 999999999: No such process	3"
if [ "$STOCK_RC" -ne 0 ] || [ "$STOCK_OUT" != "$EXPECTED" ]; then
    echo "FAIL: lua5.4 both.lua (exit $STOCK_RC) printed:" >&2
    printf '%s\n--- expected:\n%s\n' "$STOCK_OUT" "$EXPECTED" >&2
    FAIL=$((FAIL + 1))
fi
if [ "$MW_RC" -ne 0 ] || [ "$MW_OUT" != "$STOCK_OUT" ]; then
    echo "FAIL: memwatch both.lua (exit $MW_RC) differs from lua5.4:" >&2
    printf '%s\n--- lua5.4:\n%s\n' "$MW_OUT" "$STOCK_OUT" >&2
    FAIL=$((FAIL + 1))
fi

# ---------------------------------------------------------------------------
# The module alone (memwatch.core) also adds no globals, and the bundled
# helper modules load in the stock interpreter.
echo "== memwatch.core and helpers in lua5.4"
HELPERS_OUT=$("$LUA" -e '
local before = {}
for k in pairs(_G) do before[k] = true end
for _, m in ipairs { "memwatch.core", "memwatch.select", "memwatch.text", "memwatch.options" } do
    assert(type(require(m)) == "table", m)
end
local added = {}
for k in pairs(_G) do if not before[k] then added[#added + 1] = tostring(k) end end
io.write("added:", table.concat(added, ","), "\n")
io.write(require("memwatch.text").printable("a\27b\n"), "\n")
' 2>&1)
if [ "$HELPERS_OUT" != 'added:
a\x1bb\n' ]; then
    echo "FAIL: helpers in lua5.4 printed: $HELPERS_OUT" >&2
    FAIL=$((FAIL + 1))
fi

if [ "$FAIL" -ne 0 ]; then
    echo "$FAIL stock-lua check(s) failed"
    exit 1
fi
echo "all stock-lua checks passed"
