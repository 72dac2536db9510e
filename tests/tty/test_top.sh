#!/usr/bin/env bash
# memwatch top in a real terminal: a known child shows up, keys filter,
# re-sort, group and quit; the terminal survives a resize. Without a
# terminal it prints one plain table.
set -u
. "$(dirname "$0")/lib.sh"
require_tmux
work=$(mktemp -d)
child_pid=
trap 'cleanup_tmux; [ -n "$child_pid" ] && kill "$child_pid" 2>/dev/null; rm -rf "$work"' EXIT

# A child with a name nothing else has, holding 32 MiB of its own memory.
cp "$(command -v sleep)" "$work/mwtopkid"
"$MEMWATCH" -e 'local s = string.rep("x", 32 * 1024 * 1024); memwatch.sleep(120); print(#s)' &
big_pid=$!
"$work/mwtopkid" 120 &
child_pid=$!
trap 'cleanup_tmux; kill "$child_pid" "$big_pid" 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.3

# Plain table when stdout is not a terminal.
out=$("$MEMWATCH" top --filter mwtopkid)
echo "$out" | grep -Eq "^ +$child_pid mwtopkid +[0-9.]+[KMG] +[0-9.]+[KMG]" ||
    { echo "FAIL: plain table lacks the child:"; echo "$out"; exit 1; }
echo "$out" | grep -q 'PID COMMAND *REAL MEMORY    MEMORY  CHANGE/MIN' || { echo "FAIL: plain header"; echo "$out"; exit 1; }

t new-session -d -s mw -x 120 -y 30 "$MEMWATCH top --every=0.5s; echo EXIT=\$?; sleep 60"
wait_for 'memwatch top' || exit 1
wait_for 'PID COMMAND +REAL MEMORY +MEMORYv' || fail "not sorted by MEMORY at start"

# The 32 MiB child sorts above the sleep child by footprint.
wait_for "^ +$big_pid memwatch" || fail "the 32 MiB child is not shown"

# / filters by name.
t send-keys -t mw /
sleep 0.2
t send-keys -t mw -l mwtopkid
t send-keys -t mw Enter
wait_for "^ +$child_pid mwtopkid" || fail "filtered view lacks the child"
wait_for 'filter: mwtopkid' || fail "header does not show the filter"
t capture-pane -p -t mw | grep -q "^ *$big_pid " && fail "filter left other processes in"

# Clear the filter, then sort by PID (key 1): the header marks it and rows go by pid.
t send-keys -t mw /
sleep 0.2
t send-keys -t mw Enter
t send-keys -t mw 1
wait_for 'PIDv COMMAND' || fail "key 1 did not sort by PID"
sleep 0.6
pids=$(t capture-pane -p -t mw | awk 'NR > 4 && $1 ~ /^[0-9]+$/ { print $1 }')
sorted=$(echo "$pids" | sort -rn)
[ -n "$pids" ] && [ "$pids" = "$sorted" ] || fail "rows are not in descending pid order"
t send-keys -t mw r
wait_for 'PID\^ COMMAND' || fail "r did not reverse the order"

# k asks before sending SIGTERM, and one key answers: n cancels at once,
# and the key after it is top's again (here 1, a sort), not part of an answer.
t send-keys -t mw /
sleep 0.2
t send-keys -t mw -l mwtopkid
t send-keys -t mw Enter
wait_for "^ +$child_pid mwtopkid" || fail "filtered view lacks the child"
t send-keys -t mw k
wait_for "Send SIGTERM to pid $child_pid \(mwtopkid\)\? \[y/N\]" || fail "k did not ask"
t send-keys -t mw n
wait_for 'signal cancelled' || fail "n did not cancel at once"
kill -0 "$child_pid" 2>/dev/null || fail "the child was signalled after n"
t send-keys -t mw 1
wait_for 'PIDv COMMAND' || fail "the key after the answer was not a command (1: sort by pid)"
t send-keys -t mw k
wait_for 'Send SIGTERM' || fail "k did not ask again"
t send-keys -t mw x
wait_for 'signal cancelled' || fail "another key did not cancel"
kill -0 "$child_pid" 2>/dev/null || fail "the child was signalled after x"

# Changing the grouping keeps each process's history: paused (so only the
# one sample g takes comes in), the row of the sleep child (alone in its
# name group) still has its sparkline and a change per minute.
wait_for "^ +$child_pid mwtopkid .* 0 [_▁]{4,}" 15 || fail "no history before g"
t send-keys -t mw p
wait_for '\[paused\]' || fail "p did not pause"
t send-keys -t mw g
wait_for 'group: name' || fail "g did not switch to name grouping"
wait_for 'PROCS[v^]? GROUP ' || fail "grouped view has no PROCS and GROUP columns"
line=$(t capture-pane -p -t mw | grep -E '^ +1 mwtopkid ')
echo "$line" | grep -Eq ' 0 [_▁]{5,}$' || fail "the group lost the history of its process: '$line'"
t send-keys -t mw p

# y sends SIGTERM to the selected row: the child exits.
t send-keys -t mw k
wait_for 'Send SIGTERM to 1 process of mwtopkid' || fail "k in a group did not ask"
t send-keys -t mw y
wait_for 'sent SIGTERM to 1 process$' || fail "y did not send"
for _ in $(seq 50); do kill -0 "$child_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$child_pid" 2>/dev/null && fail "the child is still alive after y"
t send-keys -t mw /
sleep 0.2
t send-keys -t mw Enter

# A resize redraws at the new size.
t resize-window -t mw -x 80 -y 20 2>/dev/null || t resize-pane -t mw -x 80 -y 20
sleep 0.8
wait_for 'memwatch top' || fail "no header after resize"

# p pauses, q quits cleanly.
t send-keys -t mw p
wait_for '\[paused\]' || fail "p did not pause"
t send-keys -t mw q
wait_for 'EXIT=0' || fail "q did not exit with status 0"

# A scan longer than the interval (here every 1 ms, which no scan meets) does
# not starve the keys: / opens the filter prompt and q quits.
t kill-session -t mw
t new-session -d -s mw -x 120 -y 30 "$MEMWATCH top --every=0.001s; echo EXIT=\$?; sleep 60"
wait_for 'memwatch top' || exit 1
t send-keys -t mw /
wait_for 'Filter by name \(empty clears\):' || fail "/ was not read while every scan overran the interval"
t send-keys -t mw Enter
t send-keys -t mw q
wait_for 'EXIT=0' || fail "q was not read while every scan overran the interval"
echo "top: all checks passed"
