#!/usr/bin/env bash
# Every C file of the project is laid out by clang-format (.clang-format).
set -u
cd "${MW_SOURCE_DIR:?}" || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
    echo "SKIP: clang-format is not installed (scripts/setup.sh test installs it)"
    exit 77
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find src include tests -name '*.[ch]')
bad=0
for f in "${files[@]}"; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        echo "not clang-formatted: $f"
        bad=$((bad + 1))
    fi
done
echo "${#files[@]} files checked, $bad not formatted"
[ "$bad" -eq 0 ]
