#!/usr/bin/env bash
# The prompt in a real terminal (issue 11): every example the README shows at
# the prompt prints as shown there (sizes and pids may differ), and Tab
# completes nested fields: tables that load on first use, [n] indexes and a
# record's fields; help finds a name that shares its entry.
set -u
. "$(dirname "$0")/lib.sh"
require_tmux
home=$(mktemp -d)
trap 'cleanup_tmux; rm -rf "$home"' EXIT
readme=${MW_SOURCE_DIR:-$(dirname "$0")/../..}/README.md

t new-session -d -s mw -x 200 -y 50 "env HOME=$home INPUTRC=/dev/null $MEMWATCH; echo EXIT=\$?; sleep 60"
wait_for '^> ?$' || exit 1
sleep 0.5

# The screen from the typed line to the next prompt, once that prompt shows.
# Ctrl-L first clears the screen, so the typed line is the first one.
run_line() {
    local line=$1 i=0 screen
    t send-keys -t mw C-l
    sleep 0.2
    t send-keys -t mw -l "$line"
    t send-keys -t mw Enter
    while [ "$i" -lt 100 ]; do
        screen=$(t capture-pane -p -J -t mw | sed -e 's/ *$//' | awk 'NF || n { print; n++ }')
        # done when, after the typed line, the last non-empty line is the prompt again
        if [ "$(printf '%s\n' "$screen" | sed '/^$/d' | tail -n 1)" = ">" ] &&
            [ "$(printf '%s\n' "$screen" | sed '/^$/d' | wc -l)" -ge 2 ]; then
            printf '%s\n' "$screen" | sed '/^$/d' | sed -e '1d' -e '$d'
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "timed out waiting for the prompt after: $line" >&2
    t capture-pane -p -t mw >&2
    return 1
}

# What may differ from the README: sizes, pids; and column padding.
normalise() {
    sed -E -e 's/\t/ /g' -e 's/-?[0-9]+(\.[0-9])?[BKMGTP]\b/N/g' -e 's/pid [0-9]+/pid N/g' -e 's/  +/ /g'
}

# The README's prompt examples: the code block in "### The prompt" whose
# lines begin with "> ".
examples=$(awk '/^### The prompt/ { s = 1; next } s && /^##/ { exit }
    s && /^```/ { if (inb) { if (isp) exit; inb = 0; next } inb = 1; isp = 0; buf = ""; next }
    s && inb { if (buf == "" && $0 ~ /^> /) isp = 1; buf = buf $0 "\n"; if (isp) print }' "$readme")
[ -n "$examples" ] || fail "no prompt examples found in $readme"
n=0
input=
expected=
check_example() {
    [ -n "$input" ] || return 0
    local got
    got=$(run_line "$input") || fail "no prompt after '$input'"
    if [ "$(printf '%s\n' "$got" | normalise)" != "$(printf '%s' "$expected" | normalise)" ]; then
        echo "FAIL: README example '$input' prints differently"
        echo "---- README ----"
        printf '%s' "$expected"
        echo "---- prompt ----"
        printf '%s\n' "$got"
        exit 1
    fi
    n=$((n + 1))
}
while IFS= read -r l; do
    case $l in
    '> '*)
        check_example
        input=${l#> }
        expected=
        ;;
    *) expected="$expected$l"$'\n' ;;
    esac
done <<<"$examples"
check_example
[ "$n" -ge 6 ] || fail "only $n README prompt examples checked"
echo "README prompt examples: $n checked"

# Completion through a table that loads on first use.
t send-keys -t mw C-l
t send-keys -t mw 'memwatch.actions.ex' Tab
wait_for '^> memwatch\.actions\.exec$' || fail "memwatch.actions.ex<TAB> did not complete to memwatch.actions.exec"
t send-keys -t mw C-u
t send-keys -t mw 'memwatch.format.re' Tab
sleep 0.3
t send-keys -t mw Tab
wait_for 'memwatch\.format\.register +memwatch\.format\.render' ||
    fail "memwatch.format.re<TAB><TAB> did not list render and register"
t send-keys -t mw C-u

# [n] then a record's fields, the readline word starting after ']'.
t send-keys -t mw C-l
t send-keys -t mw -l 'procs = memwatch.processes { pid = memwatch.self().pid }'
t send-keys -t mw Enter
sleep 0.3
t send-keys -t mw C-l
t send-keys -t mw 'x = procs[1].footprint_p' Tab
wait_for '^> x = procs\[1\]\.footprint_peak$' || fail "procs[1].footprint_p<TAB> did not complete"
t send-keys -t mw Enter
t send-keys -t mw C-l
t send-keys -t mw 'procs[1].cmdl' Tab
wait_for '^> procs\[1\]\.cmdline$' || fail "procs[1].cmdl<TAB>: a lazily read field did not complete"
t send-keys -t mw C-u

# help finds a name that shares a bullet with another.
got=$(run_line 'help "sleep"') || fail "no prompt after help"
[ "$(printf '%s\n' "$got" | head -n 1)" = \
    'memwatch.now(): monotonic seconds. memwatch.sleep(s): sleeps; Ctrl-C interrupts it.' ] ||
    fail "help \"sleep\" printed: $got"

t send-keys -t mw C-d
wait_for 'EXIT=0' || fail "Ctrl-D did not exit cleanly"
echo "prompt values: all checks passed"
