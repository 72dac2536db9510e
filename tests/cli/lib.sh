# The harness the CLI tests share: counters, a temporary directory, the
# background processes to kill at exit, and the checks. Source it, call
# mw_test_init NAME, add background pids to PIDS, end with mw_test_done.
# A script that made no check fails; a part that could not run for a missing
# tool (needs TOOL..., or not_run WHY) ends the script SKIPPED (exit 77) once
# everything else has run, so ctest never counts it as passed.
# shellcheck shell=bash

mw_test_init() { # NAME: the temporary directory is $TMPDIR/mw-NAME.XXXXXX
    PASS=0
    FAIL=0
    CASE=""
    NOT_RUN=()
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/mw-$1.XXXXXX")
    PIDS=()
    trap mw_test_cleanup EXIT
    MW_TEST_NAME=$1
    KEPT=0
    if [ -n "${MW_EXPOSITION_DIR:-}" ]; then
        rm -rf "${MW_EXPOSITION_DIR:?}/$1"
    fi
}

mw_test_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}

# The closing line ctest and CI read. Status: 1 when a check failed or none
# was made, 77 (ctest's SKIP_RETURN_CODE) when a part could not run, else 0.
mw_test_done() {
    echo "$PASS passed, $FAIL failed${NOT_RUN[0]:+, ${#NOT_RUN[@]} part(s) not run}"
    if [ "$FAIL" -ne 0 ]; then return 1; fi
    if [ "$PASS" -eq 0 ]; then
        echo "FAIL: the script made no check" >&2
        return 1
    fi
    if [ "${#NOT_RUN[@]}" -ne 0 ]; then
        printf 'SKIPPED: %s\n' "${NOT_RUN[@]}"
        return 77
    fi
    return 0
}

# keep_exposition FILE WHAT: Prometheus exposition for promtool. Under ctest
# (MW_EXPOSITION_DIR set) the file is kept for the cli_promtool test, which
# runs after this one and is SKIPPED on its own when promtool is missing;
# run by hand, promtool checks it here when installed.
keep_exposition() {
    if [ -n "${MW_EXPOSITION_DIR:-}" ]; then
        KEPT=$((KEPT + 1))
        mkdir -p "$MW_EXPOSITION_DIR/$MW_TEST_NAME"
        cp "$1" "$MW_EXPOSITION_DIR/$MW_TEST_NAME/$(printf '%02d' "$KEPT") $(printf '%s' "$2" | tr -c 'A-Za-z0-9 .,_-' _).prom"
        pass
    elif needs promtool; then
        local out
        if out=$(promtool check metrics <"$1" 2>&1); then pass; else fail "$2: promtool check metrics: $out"; fi
    fi
}

# not_run WHY: this case's checks could not run here; the test ends SKIPPED.
not_run() { NOT_RUN+=("${CASE:+[$CASE] }$*"); }
# needs TOOL...: true when every TOOL is on PATH; otherwise not_run, false.
needs() {
    local t
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            not_run "needs $t, which is not installed (scripts/setup.sh test installs it)"
            return 1
        fi
    done
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

# free_port: a loopback TCP port nobody listens on now (for a server the
# test starts: Prometheus, Alertmanager, a receiver).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# serve_port ERRFILE: the port `memwatch serve --listen 127.0.0.1:0` says it
# listens on (http or https), or nothing yet.
serve_port() {
    sed -n 's|^memwatch serve: listening on https\{0,1\}://127\.0\.0\.1:\([0-9]*\)/metrics$|\1|p' "$1"
}

# start_serve NAME ARGS...: memwatch serve on 127.0.0.1:0 (the kernel picks
# the port) with ARGS, in the background, stdout and stderr in
# $TMP/NAME.out and $TMP/NAME.err; sets SPID (killed at exit with PIDS) and
# PORT, read back from the "listening on" line. A server that does not start
# within 10 s is a failed check (and status 1).
start_serve() {
    local name=$1
    shift
    "$MEMWATCH" serve --listen 127.0.0.1:0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null &
    SPID=$!
    PIDS+=("$SPID")
    PORT=""
    for _ in $(seq 500); do
        PORT=$(serve_port "$TMP/$name.err")
        [ -n "$PORT" ] && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.02
    done
    if [ -z "$PORT" ]; then
        fail "memwatch serve $* did not start: $(cat "$TMP/$name.err")"
        return 1
    fi
}

# start_prometheus: a real Prometheus on a free loopback port ($PROM_PORT,
# its pid $PROM, killed at exit with PIDS) running $TMP/prometheus.yml with
# temporary storage, logging to $TMP/prometheus.log. Set PROM_PORT first
# when the configuration names it; otherwise a free one is taken.
start_prometheus() {
    PROM_PORT=${PROM_PORT:-$(free_port)}
    mkdir -p "$TMP/data"
    prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/data" \
        --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prometheus.log" 2>&1 </dev/null &
    PROM=$!
    PIDS+=("$PROM")
}

# prom_query EXPR: the Prometheus API's JSON answer to an instant query.
prom_query() {
    curl -s -m 2 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}
