#!/usr/bin/env bash
# The BPF sampler against the /proc floor (issue 14): per scan and per
# process, side by side in one run, at about 1000 processes (and more when
# asked) made of idle children (spawn_idle):
#   bpf pass      memwatch's BPF sampler in C: one pass, records, with each
#                 of its two programs (the task walker, Linux 6.7 on; the
#                 task iterator, 5.8 on)
#   proc sampler  memwatch's /proc sampler in C: status through kept descriptors
#   /proc floor   plain_loop: open, read, close PID/status for every pid
#   ... filtered  the same with a name filter matching one process (sleep)
#   Lua           memwatch.processes() to Lua records, each sampler
#   ps, psutil    ps -eo pid,rss,comm (whole command), psutil.process_iter
# Needs root (or CAP_BPF with CAP_PERFMON) for the BPF rows.
#
#   tests/bench/bpf.sh [SIZE...]        default: 1000
#
# Environment: MEMWATCH_BUILD (Release build dir, default build-bench),
# MW_BENCH_ROUNDS (timing runs per row, median taken; default 5).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MEMWATCH_BUILD:-$ROOT/build-bench}
SRC=$ROOT/tests/bench
BIN=$BUILD/bench
ROUNDS=${MW_BENCH_ROUNDS:-5}
if [ $# -gt 0 ]; then SIZES=("$@"); else SIZES=(1000); fi
say() { printf '%s\n' "$*" >&2; }

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMEMWATCH_TESTS=OFF >&2
fi
cmake --build "$BUILD" -j"$(nproc)" --target memwatch sampler_pass >&2
mkdir -p "$BIN"
for prog in plain_loop spawn_idle timeit; do
    cc -std=c11 -O2 -Wall -Wextra -o "$BIN/$prog" "$SRC/$prog.c"
done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
PASS=$BUILD/sampler_pass
MW=$BUILD/memwatch
"$PASS" bpf 1 >/dev/null || {
    say "bpf.sh: the BPF sampler does not load here"
    exit 1
}
python3 -c 'import psutil' 2>/dev/null && have_psutil=1 || have_psutil=0
# The walker needs the open-coded task iterator (Linux 6.7 on).
grep -q bpf_iter_task_new /sys/kernel/btf/vmlinux 2>/dev/null && have_walker=1 || have_walker=0

kids=()
stop() {
    local p
    for p in "${kids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    kids=()
}
trap stop EXIT
nprocs() {
    local p=(/proc/[0-9]*)
    echo "${#p[@]}"
}
median() { sort -g | awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }
# row NAME COMMAND...: the median over ROUNDS runs of CPU time per scan
# (cpu_us: user and system time, which holds on a loaded machine where wall
# time includes waiting for a CPU) and of the median wall time per scan
row() {
    local name=$1 r out c=() w=()
    shift
    for r in $(seq "$ROUNDS"); do
        out=$("$@")
        c+=("$(field cpu_us "$out")")
        w+=("$(field median_us "$out")")
    done
    printf '%s\t%s\t%s\n' "$name" "$(printf '%s\n' "${c[@]}" | median)" \
        "$(printf '%s\n' "${w[@]}" | median)" >>"$RAW"
}

RAW=$(mktemp)
sleep 600 &
kids+=($!)
for size in "${SIZES[@]}"; do
    have=$(nprocs)
    if ((size > have + 10)); then
        "$BIN/spawn_idle" $((size - have)) >"$RAW.spawn" &
        kids+=($!)
        for _ in $(seq 600); do grep -q '^ready' "$RAW.spawn" 2>/dev/null && break; sleep 0.1; done
        sleep 1
    fi
    n=$(nprocs)
    reps=$((20000 / n))
    ((reps < 10)) && reps=10
    preps=$((reps / 5))
    ((preps < 3)) && preps=3
    say "== $n processes: $reps scans a run, $ROUNDS runs a row"
    : >"$RAW"
    "$BIN/plain_loop" -r 2 >/dev/null
    row "/proc floor (plain_loop)" "$BIN/plain_loop" -r "$reps"
    row "proc sampler (C)" "$PASS" proc "$reps"
    if ((have_walker)); then
        row "bpf pass, walker (C)" env MEMWATCH_BPF_PROGRAM=walker "$PASS" bpf "$reps"
    fi
    row "bpf pass, iterator (C)" env MEMWATCH_BPF_PROGRAM=iterator "$PASS" bpf "$reps"
    row "proc sampler, filtered (C)" "$PASS" proc "$reps" sleep
    if ((have_walker)); then
        row "bpf pass, walker, filtered (C)" env MEMWATCH_BPF_PROGRAM=walker "$PASS" bpf "$reps" sleep
    fi
    row "bpf pass, iterator, filtered (C)" env MEMWATCH_BPF_PROGRAM=iterator "$PASS" bpf "$reps" sleep
    row "Lua records, bpf" env MEMWATCH_SAMPLER=bpf "$MW" "$SRC/scan.lua" "$reps"
    row "Lua records, proc" env MEMWATCH_SAMPLER=proc "$MW" "$SRC/scan.lua" "$reps"
    row "Lua filtered, bpf" env MEMWATCH_SAMPLER=bpf "$MW" "$SRC/scan.lua" "$reps" sleep
    row "Lua filtered, proc" env MEMWATCH_SAMPLER=proc "$MW" "$SRC/scan.lua" "$reps" sleep
    row "ps -eo pid,rss,comm (whole command)" "$BIN/timeit" "$preps" ps -eo pid,rss,comm
    ((have_psutil)) && row "psutil" python3 "$SRC/psutil_scan.py" "$preps"
    floor=$(awk -F'\t' '$1 == "/proc floor (plain_loop)" { print $2 }' "$RAW")
    printf '\n### %s processes (%s, kernel %s, %s CPUs, load average %s)\n\n' "$n" "$(date +%F)" \
        "$(uname -r)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)"
    printf '| what | CPU per scan | per process | /proc floor ÷ this | wall per scan |\n|---|---:|---:|---:|---:|\n'
    awk -F'\t' -v n="$n" -v floor="$floor" '{
        printf "| %s | %.0f µs | %.2f µs | %.1f× | %.0f µs |\n", $1, $2, $2 / n, floor / $2, $3 }' "$RAW"
done
rm -f "$RAW" "$RAW.spawn"
