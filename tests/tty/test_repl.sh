#!/usr/bin/env bash
# The prompt in a real terminal: completion, Ctrl-C recovery, history.
set -u
. "$(dirname "$0")/lib.sh"
require_tmux
trap cleanup_tmux EXIT
home=$(mktemp -d)
trap 'cleanup_tmux; rm -rf "$home"' EXIT

t new-session -d -s mw -x 120 -y 40 "env HOME=$home INPUTRC=/dev/null $MEMWATCH; echo EXIT=\$?; sleep 60"
wait_for '^> ?$' || exit 1
sleep 0.5

# Tab completes memwatch.pro to the common prefix, a second Tab lists both.
t send-keys -t mw 'memwatch.pro' Tab
wait_for '^> memwatch\.process$' || fail "memwatch.pro<TAB> did not complete to memwatch.process"
sleep 0.3
t send-keys -t mw Tab
wait_for 'memwatch\.process +memwatch\.processes' || fail "second TAB did not list the candidates"

# Ctrl-C cancels the line being typed; the prompt goes on.
t send-keys -t mw C-c
t send-keys -t mw '6*7' Enter
wait_for '^42$' || fail "prompt did not work after Ctrl-C on a typed line"

# Ctrl-C interrupts an evaluation (inside memwatch.sleep) and returns to the prompt.
t send-keys -t mw 'memwatch.sleep(30)' Enter
sleep 0.5
t send-keys -t mw C-c
wait_for 'interrupted!' 5 || fail "Ctrl-C did not interrupt memwatch.sleep"
t send-keys -t mw 'x = 40 + 2' Enter '=x' Enter
wait_for '^42$' || fail "prompt did not work after an interrupted evaluation"

# Record fields complete after a record-valued expression.
t send-keys -t mw 'p = memwatch.self()' Enter
sleep 0.3
t send-keys -t mw 'p.reside' Tab
wait_for '^> p\.resident' || fail "p.reside<TAB> did not complete a record field"
t send-keys -t mw C-u

# A multi-line chunk continues with the second prompt.
t send-keys -t mw 'function f()' Enter
wait_for '^>> ?$' || fail "no continuation prompt"
t send-keys -t mw 'return "multi"' Enter; t send-keys -t mw -l 'end'; t send-keys -t mw Enter 'f()' Enter
wait_for '^multi$' || fail "multi-line function did not run"

# Ctrl-D at an empty prompt leaves with status 0, and the history was kept.
t send-keys -t mw C-d
wait_for 'EXIT=0' || fail "Ctrl-D did not exit cleanly"
grep -qx '6\*7' "$home/.memwatch_history" || fail "history file lacks an entered line"
grep -q 'return "multi"' "$home/.memwatch_history" || fail "history lacks the multi-line chunk"
echo "repl: all checks passed"
