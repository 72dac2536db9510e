#!/usr/bin/env bash
# memwatch at 1 Hz over about 1000 processes (issue 14, "Targets"): side by
# side in one run, for each sampler (bpf, proc) and each case of hz1.lua
# (plain scans, a threshold rule over every process, a growth rule over
# every process), memwatch's CPU as a share of one core and its own
# footprint (RssAnon + RssShmem + VmSwap + VmPTE of /proc/PID/status, as
# memwatch.self().footprint counts it) sampled each minute. The six
# memwatch processes run at the same time, over the same idle children
# (spawn_idle), so they see the same system.
#
#   tests/bench/hz1.sh [SECONDS]        default 60 (the issue's soak: 600)
#
# CPU: utime + stime of /proc/PID/stat (clock ticks) from the end of a
# warm-up (MW_HZ1_WARMUP, default 5 s: the BPF program loads at the first
# scan) to the end, over the wall time between; also the scheduler's
# nanosecond count (/proc/PID/schedstat) where the kernel keeps it, since at
# 1 Hz a minute is only a few clock ticks of CPU.
# Needs root (or CAP_BPF with CAP_PERFMON) for the bpf rows; without it
# only the proc rows run. When the system has many more processes than
# asked for (other work), run it in a pid namespace of its own, where
# memwatch sees only the children:  unshare -fp --mount-proc tests/bench/hz1.sh
#
# Environment: MEMWATCH_BUILD (Release build dir, default build-bench),
# MEMWATCH (the binary to measure, default the build's: another version's
# memwatch runs the same hz1.lua),
# MW_HZ1_PROCS (processes, default 1000), MW_HZ1_SAMPLERS (default
# "bpf proc"), MW_HZ1_CASES (default "plain threshold growth"),
# MW_HZ1_OUT (also write the report to this file).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MEMWATCH_BUILD:-$ROOT/build-bench}
SRC=$ROOT/tests/bench
RUN_S=${1:-60}
case $RUN_S in '' | *[!0-9]*) echo "usage: hz1.sh [SECONDS]" >&2; exit 2 ;; esac
WARMUP=${MW_HZ1_WARMUP:-5}
PROCS=${MW_HZ1_PROCS:-1000}
SAMPLERS=${MW_HZ1_SAMPLERS:-bpf proc}
CASES=${MW_HZ1_CASES:-plain threshold growth}
say() { printf '%s\n' "$*" >&2; }

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMEMWATCH_TESTS=OFF >&2
fi
cmake --build "$BUILD" -j"$(nproc)" --target memwatch sampler_pass >&2
mkdir -p "$BUILD/bench"
cc -std=c11 -O2 -Wall -Wextra -o "$BUILD/bench/spawn_idle" "$SRC/spawn_idle.c"
MW=${MEMWATCH:-$BUILD/memwatch}
if [[ " $SAMPLERS " == *" bpf "* ]] && ! "$BUILD/sampler_pass" bpf 1 >/dev/null 2>&1; then
    say "hz1.sh: the BPF sampler does not load here (not root, or not built): proc rows only"
    SAMPLERS=${SAMPLERS//bpf/}
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-hz1.XXXXXX")
kids=()
stop() {
    local p
    for p in "${kids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${kids[@]}"; do wait "$p" 2>/dev/null || true; done
    kids=()
    rm -rf "$WORK"
}
trap stop EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

nprocs() {
    local p=(/proc/[0-9]*)
    echo "${#p[@]}"
}
have=$(nprocs)
if ((PROCS > have + 10)); then
    "$BUILD/bench/spawn_idle" $((PROCS - have)) >"$WORK/spawn" &
    kids+=($!)
    for _ in $(seq 600); do grep -q '^ready' "$WORK/spawn" 2>/dev/null && break; sleep 0.1; done
    grep -q '^ready' "$WORK/spawn" || { say "hz1.sh: spawn_idle did not get ready"; exit 1; }
elif ((have > PROCS * 3 / 2)); then
    say "hz1.sh: $have processes here, not about $PROCS (run it under unshare -fp --mount-proc)"
fi

# cpu_ticks PID -> utime + stime; cpu_ns PID -> schedstat's run time (or -)
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
cpu_ns() { if [ -r "/proc/$1/schedstat" ]; then cut -d' ' -f1 "/proc/$1/schedstat"; else echo -; fi; }
footprint_kib() {
    awk '/^(RssAnon|RssShmem|VmSwap|VmPTE):/ { s += $2 } END { print s + 0 }' "/proc/$1/status"
}

rows=()
for s in $SAMPLERS; do
    for c in $CASES; do
        MEMWATCH_SAMPLER=$s "$MW" "$SRC/hz1.lua" "$c" >"$WORK/$s-$c.out" 2>&1 &
        kids+=($!)
        rows+=("$s $c $!")
    done
done
sleep "$WARMUP"
for r in "${rows[@]}"; do
    read -r s c p <<<"$r"
    kill -0 "$p" 2>/dev/null || { say "hz1.sh: $s $c exited:"; cat "$WORK/$s-$c.out" >&2; exit 1; }
    echo "$(cpu_ticks "$p") $(cpu_ns "$p")" >"$WORK/$s-$c.start"
    footprint_kib "$p" >"$WORK/$s-$c.fp"
done
t0=$(date +%s.%N)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
n0=$(nprocs)
elapsed=0
while ((elapsed < RUN_S)); do
    step=$((RUN_S - elapsed < 60 ? RUN_S - elapsed : 60))
    sleep "$step"
    elapsed=$((elapsed + step))
    for r in "${rows[@]}"; do
        read -r s c p <<<"$r"
        footprint_kib "$p" >>"$WORK/$s-$c.fp"
    done
done
t1=$(date +%s.%N)
for r in "${rows[@]}"; do
    read -r s c p <<<"$r"
    echo "$(cpu_ticks "$p") $(cpu_ns "$p")" >"$WORK/$s-$c.end"
done
hz=$(getconf CLK_TCK)
n1=$(nprocs)

{
    printf '### memwatch at 1 Hz, %s s (%s, kernel %s, %s CPUs, %s-%s processes, load average %s at the start, %s at the end)\n\n' \
        "$RUN_S" "$(date +%F)" "$(uname -r)" "$(nproc)" "$n0" "$n1" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '| sampler | case | CPU, %% of a core (stat) | CPU, %% of a core (schedstat) | footprint KiB, each minute |\n'
    printf '|---|---|---:|---:|---|\n'
    for r in "${rows[@]}"; do
        read -r s c p <<<"$r"
        read -r a ans <"$WORK/$s-$c.start"
        read -r b bns <"$WORK/$s-$c.end"
        awk -v s="$s" -v c="$c" -v a="$a" -v b="$b" -v ans="$ans" -v bns="$bns" -v hz="$hz" \
            -v t0="$t0" -v t1="$t1" -v fp="$(paste -sd' ' "$WORK/$s-$c.fp")" 'BEGIN {
            wall = t1 - t0
            ns = (ans == "-" || bns == "-") ? "n/a" : sprintf("%.3f", (bns - ans) / 1e9 / wall * 100)
            gsub(/ /, " → ", fp)
            printf "| %s | %s | %.3f | %s | %s |\n", s, c, (b - a) / hz / wall * 100, ns, fp }'
    done
} | tee "${MW_HZ1_OUT:-/dev/null}"
