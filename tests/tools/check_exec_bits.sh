#!/usr/bin/env bash
# Repository check: every tracked file that starts with #! is executable in
# git (mode 100755), so what the README or a usage line says to run runs; and
# every *.sh is either such a script or a library for `.` (it says so with a
# "# shellcheck shell=" line, and carries no #!). Exit 77 (skipped) outside a
# git checkout (a release tarball).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v git >/dev/null 2>&1 || ! git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "SKIP: $top is not a git checkout (or git is not installed)"
    exit 77
fi

bad=0
checked=0
while IFS= read -r -d '' entry; do
    mode=${entry%% *}
    path=${entry#*$'\t'}
    [ "$mode" = 120000 ] && continue # symlink
    file="$top/$path"
    [ -f "$file" ] || continue
    checked=$((checked + 1))
    if [ "$(head -c 2 "$file" | tr -d '\0')" = '#!' ]; then
        if [ "$mode" != 100755 ]; then
            echo "not executable in git (mode $mode): $path; fix: git update-index --chmod=+x $path"
            bad=$((bad + 1))
        fi
    elif [ "${path%.sh}" != "$path" ] && ! grep -q '^# shellcheck shell=' "$file"; then
        echo "neither a script (no #!) nor a marked library (no '# shellcheck shell=' line): $path"
        bad=$((bad + 1))
    fi
done < <(git -C "$top" ls-files -s -z)

if [ "$checked" -eq 0 ]; then
    echo "FAIL: git ls-files listed no file"
    exit 1
fi
echo "$checked tracked files, $bad problem(s)"
[ "$bad" -eq 0 ]
