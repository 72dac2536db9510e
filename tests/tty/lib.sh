# Helpers for tests that drive memwatch in a real terminal through tmux.
# Each test gets its own tmux server socket, so tests can run in parallel.
# shellcheck shell=bash
TMUX_SOCK="mwtest-$$"
t() { tmux -L "$TMUX_SOCK" "$@"; }
require_tmux() {
    if ! command -v tmux >/dev/null 2>&1; then
        echo "SKIP: tmux is not installed (scripts/setup.sh test installs it)"
        exit 77
    fi
}
cleanup_tmux() { t kill-server 2>/dev/null || true; }
# wait_for PATTERN [SECONDS]: until the pane shows PATTERN (grep -E).
wait_for() {
    local pattern=$1 limit=${2:-10} i=0
    while [ "$i" -lt $((limit * 10)) ]; do
        if t capture-pane -p -t mw | grep -Eq -- "$pattern"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "timed out waiting for: $pattern"
    echo "---- screen ----"
    t capture-pane -p -t mw
    echo "----------------"
    return 1
}
fail() {
    echo "FAIL: $*"
    echo "---- screen ----"
    t capture-pane -p -t mw
    exit 1
}
