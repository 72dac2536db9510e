# The harness the CLI tests share: counters, a temporary directory, the
# background processes to kill at exit, and the checks. Source it, call
# mw_test_init NAME, add background pids to PIDS, end with mw_test_done.
# shellcheck shell=bash

mw_test_init() { # NAME: the temporary directory is $TMPDIR/mw-NAME.XXXXXX
    PASS=0
    FAIL=0
    CASE=""
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-$1.XXXXXX")
    PIDS=()
    trap mw_test_cleanup EXIT
}

mw_test_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}

# The closing line ctest and CI read; the status says whether all passed.
mw_test_done() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}

case_() { CASE=$1; }
pass() { PASS=$((PASS + 1)); }
ok() { pass; }
fail() { # message; names the case and the script line of the failing check
    FAIL=$((FAIL + 1))
    echo "FAIL${CASE:+ [$CASE]} (line ${BASH_LINENO[1]}): $*" >&2
}
check() { # "shell condition" what
    if eval "$1"; then pass; else fail "$2"; fi
}
expect_eq() { # actual expected what
    if [ "$1" == "$2" ]; then pass; else fail "$3: expected $(printf '%q' "$2"), got $(printf '%q' "$1")"; fi
}
expect_contains() { # text substring what
    case "$1" in
    *"$2"*) pass ;;
    *) fail "$3: $(printf '%q' "$2") not in $(printf '%q' "${1:0:600}")" ;;
    esac
}
expect_not_contains() { # text substring what
    case "$1" in
    *"$2"*) fail "$3: $(printf '%q' "$2") found" ;;
    *) pass ;;
    esac
}
expect_match() { # text ERE what (some line matches)
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass; else fail "$3: no line matches /$2/ in: $(printf '%q' "${1:0:600}")"; fi
}
expect_no_match() { # text ERE what
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then fail "$3: a line matches /$2/: $(printf '%s\n' "$1" | grep -E -- "$2" | head -3)"; else pass; fi
}

# wait_for FILE PATTERN [SECONDS]: until a line of FILE matches PATTERN.
wait_for() {
    local i
    for ((i = 0; i < ${3:-10} * 50; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}

# wait_file FILE [SECONDS]: until FILE exists.
wait_file() {
    local i
    for ((i = 0; i < ${2:-10} * 50; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.02
    done
    return 1
}
