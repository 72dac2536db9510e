#!/usr/bin/env bash
# The integration tests and a few CLI runs under valgrind memcheck: zero
# errors and zero definite leaks (--errors-for-leak-kinds=definite).
#
# Valgrind cannot run ASan-instrumented binaries, and the test command builds
# with ASan; so when $MEMWATCH is instrumented this builds a plain (Debug, no
# sanitizer) tree of its own in $MW_BUILD_DIR/valgrind (incremental: only the
# first run compiles everything) and checks that. MW_VALGRIND_BUILD names a
# ready plain build directory to use instead.
# Exit 77 (skip) when valgrind is missing.
set -u
: "${MW_SOURCE_DIR:?}" "${MW_BUILD_DIR:?}" "${MW_FIXTURES:?}"
if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind is not installed (apt-get install valgrind)"
    exit 77
fi

instrumented() { # ASan/UBSan linked in?
    nm "$1" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' ||
        ldd "$1" 2>/dev/null | grep -q 'libasan\|libubsan'
}

build=${MW_VALGRIND_BUILD:-}
if [ -z "$build" ]; then
    if [ -n "${MEMWATCH:-}" ] && [ -x "$MEMWATCH" ] && ! instrumented "$MEMWATCH"; then
        build=$MW_BUILD_DIR
    else
        build=$MW_BUILD_DIR/valgrind
        echo "valgrind: building a plain (unsanitized) tree in $build"
        if ! { cmake -S "$MW_SOURCE_DIR" -B "$build" -DCMAKE_BUILD_TYPE=Debug \
            -DMEMWATCH_SANITIZE=OFF -DMEMWATCH_FUZZ=OFF >"$build.log" 2>&1 &&
            cmake --build "$build" -j "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" \
                --target memwatch test_memkinds memkinds_child test_linux_fixture test_alloc \
                >>"$build.log" 2>&1; }; then
            tail -30 "$build.log"
            echo "valgrind: plain build failed (log: $build.log)"
            exit 1
        fi
    fi
fi
mw=$build/memwatch
for f in "$mw" "$build/tests/integration/test_memkinds" "$build/tests/test_linux_fixture"; do
    if [ ! -x "$f" ] || instrumented "$f"; then
        echo "valgrind: $f is missing or sanitizer-instrumented"
        exit 1
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/script.lua" <<'LUA'
local json = require "memwatch.json"
local procs = memwatch.processes(nil, "all")
assert(#procs > 0)
local me = memwatch.self("all")
local sys = assert(memwatch.system())
local led = assert(memwatch.ledger(me.pid))
local text = json.encode({n = #procs, me = me.name, total = sys.total, rows = #led}, true)
assert(json.decode(text).n == #procs)
print(memwatch.bytes(me.footprint or 0), #led)
LUA

vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
    --errors-for-leak-kinds=definite --track-fds=no --num-callers=30
    --suppressions="$(dirname "$0")/valgrind.supp")
failed=0
run() { # name, command...
    local name=$1
    shift
    local start=$SECONDS
    local rc=0
    "${vg[@]}" --log-file="$tmp/$name.vg" "$@" >"$tmp/$name.out" 2>&1 || rc=$?
    # 77: test_memkinds skipped a row this machine cannot make (no swap); the
    # rows it ran are clean, and memory errors exit 99.
    if [ $rc -eq 0 ] || { [ $rc -eq 77 ] && [ ! -s "$tmp/$name.vg" ]; }; then
        printf 'valgrind %-22s ok   (%ds)\n' "$name" $((SECONDS - start))
        if [ $rc -eq 77 ]; then
            printf '  exit 77, a row skipped: %s\n' "$(grep -m1 'skipped' "$tmp/$name.out")"
        fi
    else
        printf 'valgrind %-22s FAIL (exit %d)\n' "$name" "$rc"
        tail -20 "$tmp/$name.out"
        cat "$tmp/$name.vg"
        failed=$((failed + 1))
    fi
}

export MW_MEMKINDS_CHILD=$build/tests/integration/memkinds_child
run integration_memkinds "$build/tests/integration/test_memkinds"
run unit_linux_fixture "$build/tests/test_linux_fixture"
run unit_alloc "$build/tests/test_alloc"
run cli_ps "$mw" ps
run cli_ps_fixture env MEMWATCH_ROOT="$MW_FIXTURES/linux/basic" "$mw" ps
run cli_ledger "$mw" ledger $$
run cli_script "$mw" "$tmp/script.lua"

if [ $failed -gt 0 ]; then
    echo "valgrind: $failed run(s) with memory errors or definite leaks"
    exit 1
fi
echo "valgrind: every run clean (0 errors, 0 definite leaks)"
