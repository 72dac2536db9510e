#!/usr/bin/env bash
# Repository check: clang-tidy over every C file of src/ with the checked-in
# configuration (.clang-tidy) and the build's own compile commands
# (compile_commands.json, CMAKE_EXPORT_COMPILE_COMMANDS). Any finding fails;
# the findings are listed, then counted per check.
#
#   tests/tools/check_tidy.sh [BUILD_DIR]     default $MW_BUILD_DIR
#
# Files run in parallel, MW_TIDY_JOBS at a time (default 2). Exit 77
# (skipped) when clang-tidy is not installed.
set -u
export LC_ALL=C
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-${MW_BUILD_DIR:-}}
tidy=${CLANG_TIDY:-clang-tidy}

if ! command -v "$tidy" >/dev/null 2>&1; then
    echo "SKIP: clang-tidy is not installed (Debian: apt-get install clang-tidy; Homebrew: brew install llvm)"
    exit 77
fi
db="$build/compile_commands.json"
if [ -z "$build" ] || [ ! -f "$db" ]; then
    echo "FAIL: no compile_commands.json in '${build}' (configure with CMake first; give the build directory)" >&2
    exit 1
fi

# The src/ files the build compiles (some twice, into two targets: once each).
mapfile -t files < <(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' "$db" | grep "^$top/src/" | sort -u)
if [ ${#files[@]} -eq 0 ]; then
    echo "FAIL: $db names no file under $top/src" >&2
    exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%s\0' "${files[@]}" |
    xargs -0 -n 1 -P "${MW_TIDY_JOBS:-2}" "$tidy" -p "$build" --quiet >"$out" 2>/dev/null
# Findings: "path:line:col: warning|error: text [check]", each once (a header's
# finding shows up for every file that includes it).
# Only this repository's files: system headers (Lua's) are not ours to fix,
# nor are headers generated into the build tree (bpftool's BPF skeleton).
findings=$(grep -E "^$top/[^ ]+:[0-9]+:[0-9]+: (warning|error): " "$out" | grep -v "^$(cd "$build" && pwd)/" |
    sed "s|^$top/||" | sort -u)
if [ -z "$findings" ]; then
    echo "clang-tidy: ${#files[@]} files of src/, no findings"
    exit 0
fi
printf '%s\n' "$findings"
echo "---- per check"
printf '%s\n' "$findings" | sed -n 's/.*\[\([^]]*\)\]$/\1/p' | sort | uniq -c | sort -rn
echo "clang-tidy: ${#files[@]} files of src/, $(printf '%s\n' "$findings" | wc -l) finding(s)"
exit 1
