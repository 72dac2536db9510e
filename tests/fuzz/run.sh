#!/usr/bin/env bash
# Bounded fuzzing: build every tests/fuzz target with clang + libFuzzer
# (-DMEMWATCH_FUZZ=ON, ASan+UBSan) and run each for a fixed time.
#
#   tests/fuzz/run.sh [seconds-per-target] [target...]
#
# Default 60 s per target, every target. New inputs go to the build's own
# corpus (build-fuzz/corpus/<target>), seeded from tests/fuzz/corpus/<target>,
# which stays untouched; crashes go to build-fuzz/artifacts/. A crash fails the
# run: minimise it (fuzz_<t> -minimize_crash=1 <file>), fix the bug and add the
# input to tests/fuzz/corpus/<t>/ as a regression seed (the replay tests, label
# "fuzz", then run it in every build).
#
# Environment: MW_FUZZ_BUILD (build directory, default <repo>/build-fuzz),
# CC (default clang), MW_FUZZ_JOBS (build jobs).
# When clang or libFuzzer is missing: exits 77 with a SKIP message, or fails
# (exit 1) under CI=true, where the set-up installs them and a fuzz step that
# does not run must not look like one that passed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
build=${MW_FUZZ_BUILD:-$top/build-fuzz}
cc=${CC:-clang}
jobs=${MW_FUZZ_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

case "$secs" in
'' | *[!0-9]*)
    echo "usage: tests/fuzz/run.sh [seconds-per-target] [target...]" >&2
    exit 2
    ;;
esac

# cannot_fuzz WHY: skip, or fail in CI.
cannot_fuzz() {
    if [ "${CI:-}" = true ]; then
        echo "fuzz: FAIL: $* (CI=true: scripts/setup.sh test installs clang and libclang-rt-dev)" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

if ! command -v "$cc" >/dev/null 2>&1 || ! "$cc" --version 2>/dev/null | grep -qi clang; then
    cannot_fuzz "fuzzing needs clang with libFuzzer ($cc not found or not clang)"
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
    cannot_fuzz "$cc cannot link -fsanitize=fuzzer (on Debian: apt-get install libclang-rt-dev)"
fi

echo "fuzz: building in $build"
if ! { CC=$cc cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMWATCH_FUZZ=ON \
    -DMEMWATCH_WERROR=ON >"$build.log" 2>&1 &&
    cmake --build "$build" -j "$jobs" --target fuzz >>"$build.log" 2>&1; }; then
    tail -40 "$build.log"
    echo "fuzz: build failed (log: $build.log)" >&2
    exit 1
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in "$top"/tests/fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("${t#fuzz_}")
    done
fi

mkdir -p "$build/artifacts"
failed=()
for t in "${targets[@]}"; do
    mkdir -p "$build/corpus/$t"
    log="$build/fuzz_$t.log"
    # -timeout: an input slower than this is a hang; -rss_limit_mb: a leak.
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
        "$build/corpus/$t" "$top/tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        printf 'fuzz_%-13s ok    %10s runs  %s  (%ss)\n' "$t" "${runs:-?}" "${cov:-}" "$secs"
    else
        printf 'fuzz_%-13s FAIL  %10s runs  (log: %s)\n' "$t" "${runs:-?}" "$log"
        grep -E 'ERROR|invariant failed|SUMMARY|Test unit written' "$log" | head -5
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in $build/artifacts)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each, no failures"
