#!/usr/bin/env bash
# The soak benchmark (issue 7 "Soak"): memwatch watches every process at
# 10 Hz for SECONDS while a churn helper starts and reaps about 50 short-lived
# children a second; memwatch's own footprint (RssAnon + RssShmem + VmSwap +
# VmPTE from /proc/PID/status) and open descriptors are sampled every second.
# After a warm-up it reports the footprint growth (last minus first, and the
# least-squares slope), the descriptor range, and the engine's ticks against
# the expected 10 a second, with every gap over 0.2 s (a lost sample).
#
#   tests/bench/soak.sh [SECONDS]        default 600; not a ctest test
#
# tests/cli/test_soak_short.sh runs it for 30 s in CI.
# Environment:
#   MEMWATCH              the binary to soak (default: a Release build made in
#                         MEMWATCH_BUILD, default build-soakrel)
#   MW_SOAK_WARMUP        warm-up seconds (default: 20% of SECONDS, at most 60)
#   MW_SOAK_RATE          children started per second (default 50)
#   MW_SOAK_MAX_GROWTH_KIB  pass limit on the footprint growth after warm-up (1024)
#   MW_SOAK_FD_SLACK      descriptors may differ from the first after warm-up by this (4)
#   MW_SOAK_MIN_TICKS     percent of the expected ticks that must happen (90)
#   MW_SOAK_OUT           also write the report to this file
#   MW_SOAK_KEEP          keep the raw samples (samples.tsv, ticks, logs) in this directory
# Exit status: 0 when every criterion holds, 1 when one fails, 2 on misuse.
# shellcheck disable=SC2154 # the statistics are set by eval "$STATS"
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_RUN=${1:-600}
case $SECONDS_RUN in '' | *[!0-9]*) echo "usage: soak.sh [SECONDS]" >&2; exit 2 ;; esac
[ "$SECONDS_RUN" -ge 10 ] || { echo "soak.sh: SECONDS must be at least 10" >&2; exit 2; }
WARMUP=${MW_SOAK_WARMUP:-$((SECONDS_RUN / 5 < 60 ? SECONDS_RUN / 5 : 60))}
RATE=${MW_SOAK_RATE:-50}
MAX_GROWTH_KIB=${MW_SOAK_MAX_GROWTH_KIB:-1024}
FD_SLACK=${MW_SOAK_FD_SLACK:-4}
MIN_TICKS=${MW_SOAK_MIN_TICKS:-90}

say() { printf '%s\n' "$*" >&2; }
die() {
    say "soak.sh: $*"
    exit 2
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/memwatch-soak.XXXXXX")
CHURN_PID=""
MW_PID=""
cleanup() {
    [ -n "$MW_PID" ] && kill -TERM "$MW_PID" 2>/dev/null
    [ -n "$CHURN_PID" ] && kill -TERM "$CHURN_PID" 2>/dev/null
    wait 2>/dev/null
    if [ -n "${MW_SOAK_KEEP:-}" ]; then
        mkdir -p "$MW_SOAK_KEEP" && cp -r "$WORK"/. "$MW_SOAK_KEEP"/
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM HUP

# ---- the binary and the churn helper -------------------------------------------------
command -v cc >/dev/null || die "no C compiler for the churn helper (apt-get install -y build-essential)"
if [ -z "${MEMWATCH:-}" ]; then
    BUILD=${MEMWATCH_BUILD:-$ROOT/build-soakrel}
    say "building memwatch (Release) in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$WORK/build.log" 2>&1 &&
        cmake --build "$BUILD" -j2 --target memwatch >>"$WORK/build.log" 2>&1 ||
        die "the build failed: $(tail -5 "$WORK/build.log")"
    MEMWATCH=$BUILD/memwatch
fi
[ -x "$MEMWATCH" ] || die "MEMWATCH=$MEMWATCH is not executable"
cc -std=c11 -O2 -Wall -Wextra -o "$WORK/churn" "$ROOT/tests/bench/churn.c" || die "cannot compile churn.c"

# ---- run ------------------------------------------------------------------------------
# footprint_kib FILE: footprint in KiB from a status file; sets FP (empty if
# unreadable or a zombie).
footprint_kib() {
    local k v _ sum=0 any=0
    FP=""
    { while read -r k v _; do
        case $k in
        State:) [ "$v" = Z ] && return 0 ;;
        RssAnon: | RssShmem: | VmSwap: | VmPTE:) sum=$((sum + v)) any=1 ;;
        esac
    done <"$1"; } 2>/dev/null || return 0
    [ "$any" -eq 1 ] && FP=$sum
    return 0
}
# cpu_ticks PID: utime + stime in clock ticks; sets CPU.
cpu_ticks() {
    local line rest
    CPU=""
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 0
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    CPU=$((${12} + ${13}))
}

"$WORK/churn" "$RATE" >"$WORK/churn.out" 2>&1 &
CHURN_PID=$!
for _ in $(seq 100); do grep -q '^ready' "$WORK/churn.out" 2>/dev/null && break; sleep 0.02; done
grep -q '^ready' "$WORK/churn.out" || die "the churn helper did not start: $(cat "$WORK/churn.out")"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
START_DATE=$(date '+%F %T %z')
"$MEMWATCH" "$ROOT/tests/bench/soak_rules.lua" "$WORK/ticks" "$SECONDS_RUN" \
    >"$WORK/memwatch.out" 2>"$WORK/memwatch.err" </dev/null &
MW_PID=$!
T0=${EPOCHREALTIME/./}
CLK_TCK=$(getconf CLK_TCK)
say "soak: memwatch $MW_PID for $SECONDS_RUN s at 10 Hz, churn $RATE/s, warm-up $WARMUP s"

# One sample a second (a few forks: ls, grep, sleep): time since start,
# footprint KiB, open descriptors, memwatch CPU ticks, processes on the
# system, kept /proc status descriptors.
printf 't\tfootprint_kib\tfds\tcpu_ticks\tprocs\tfds_cached\n' >"$WORK/samples.tsv"
n=0
# done_yet: the script has finished (its last write says "done"); samples
# stop there, before memwatch closes its descriptors on the way out.
done_yet() {
    local k _
    { while read -r k _; do [ "$k" = "done" ] && return 0; done <"$WORK/ticks"; } 2>/dev/null
    return 1
}
while kill -0 "$MW_PID" 2>/dev/null && ! done_yet; do
    now=${EPOCHREALTIME/./}
    footprint_kib "/proc/$MW_PID/status"
    # Descriptors: the sampler keeps one on /proc/PID/status per live
    # process (more when the scan churns), the rest should never change.
    fd_list=$(ls -l "/proc/$MW_PID/fd" 2>/dev/null) || fd_list=""
    fds_all=$(printf '%s\n' "$fd_list" | grep -c -- ' -> ') || true
    fds_cached=$(printf '%s\n' "$fd_list" | grep -cE -- ' -> /proc/[0-9]+/(status|stat)$') || true
    cpu_ticks "$MW_PID"
    procs=(/proc/[1-9]*)
    if [ -n "$FP" ] && [ -n "$CPU" ] && [ "$fds_all" -gt 0 ] && ! done_yet; then
        printf '%d.%06d\t%s\t%d\t%s\t%d\t%d\n' $(((now - T0) / 1000000)) $(((now - T0) % 1000000)) "$FP" \
            "$fds_all" "$CPU" "${#procs[@]}" "$fds_cached" >>"$WORK/samples.tsv"
    fi
    n=$((n + 1))
    # Sleep to the next whole second after the start, so samples do not drift.
    next=$((T0 + n * 1000000))
    now=${EPOCHREALTIME/./}
    if [ "$next" -gt "$now" ]; then
        sleep "$(printf '%d.%06d' $(((next - now) / 1000000)) $(((next - now) % 1000000)))"
    fi
done
set +e
wait "$MW_PID"
MW_RC=$?
set -e
MW_PID=""
T1=${EPOCHREALTIME/./}
kill -TERM "$CHURN_PID" 2>/dev/null || true
wait "$CHURN_PID" 2>/dev/null || true
CHURN_PID=""
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')

# ---- analysis ---------------------------------------------------------------------------
# The script's counters: "KEY VALUE" pairs on its first line, then one per line.
read_tick() { awk -v k="$1" '{ for (i = 1; i < NF; i += 2) if ($i == k) { print $(i + 1); exit } }' "$WORK/ticks" 2>/dev/null; }
TICKS=$(read_tick ticks)
TICK_SPAN=$(read_tick elapsed)
GAPS=$(read_tick gaps)
MAX_GAP=$(read_tick max_gap)
ALERTS=$(read_tick alerts)
RESOLVES=$(read_tick resolves)
LUA_KIB=$(read_tick lua_kib)
DONE=$(read_tick "done")
EXPECTED=$((SECONDS_RUN * 10))
# Processes that exited since the last scan keep their descriptor until the
# next scan's sweep: at RATE a second, about RATE/10 per tick; allow two ticks.
EXCESS_MAX=$((RATE / 5 + FD_SLACK))

# Footprint and descriptors after the warm-up: first, last, min, max, slope.
# Descriptors: "other" (all but the kept status/stat descriptors) must stay
# put; "excess" (kept descriptors minus processes on the system) shows kept
# descriptors outliving their processes (only until the next scan's sweep).
STATS=$(awk -F'\t' -v w="$WARMUP" -v tck="$CLK_TCK" '
NR == 1 { next }
{ all++ }
$1 + 0 >= w {
    n++; t = $1 / 60; y = $2; other = $3 - $6; excess = $6 - $5
    if (n == 1) { fp0 = y; t0 = $1; cpu0 = $4; ot0 = other }
    fp1 = y; t1 = $1; cpu1 = $4
    if (n == 1 || y < fpmin) fpmin = y
    if (n == 1 || y > fpmax) fpmax = y
    if (n == 1 || $3 < fdmin) fdmin = $3
    if (n == 1 || $3 > fdmax) fdmax = $3
    if (n == 1 || other < otmin) otmin = other
    if (n == 1 || other > otmax) otmax = other
    if (n == 1 || excess < exmin) exmin = excess
    if (n == 1 || excess > exmax) exmax = excess
    d = other - ot0; if (d < 0) d = -d; if (d > otdev) otdev = d
    st += t; sy += y; stt += t * t; sty += t * y
    psum += $5
}
END {
    slope = "nan"
    if (n >= 2 && n * stt - st * st > 0) slope = sprintf("%.2f", (n * sty - st * sy) / (n * stt - st * st))
    cpu = (t1 > t0) ? (cpu1 - cpu0) / tck / (t1 - t0) * 100 : 0
    printf "samples=%d after=%d fp_first=%d fp_last=%d fp_min=%d fp_max=%d growth=%d slope=%s ", all, n, fp0, fp1, fpmin, fpmax, fp1 - fp0, slope
    printf "fd_min=%d fd_max=%d other_first=%d other_min=%d other_max=%d other_dev=%d excess_min=%d excess_max=%d cpu=%.1f procs_avg=%.0f\n",
        fdmin, fdmax, ot0, otmin, otmax, otdev + 0, exmin, exmax, cpu, n ? psum / n : 0
}' "$WORK/samples.tsv")
eval "$STATS"

CHURN_LINE=$(grep '^churn:' "$WORK/churn.out" || echo "churn: no summary")
ERR_LINES=$(wc -l <"$WORK/memwatch.err")

FAILS=()
check() { # condition-text ok?
    if [ "$2" -eq 1 ]; then echo "- PASS: $1"; else echo "- FAIL: $1"; FAILS+=("$1"); fi
}
report() {
    echo "## memwatch soak, $START_DATE"
    echo
    echo "- Machine: $(uname -srm), $(nproc) cores, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "- memwatch: $MEMWATCH ($("$MEMWATCH" --version 2>/dev/null | head -1)); commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- Run: $SECONDS_RUN s requested, ${WALL} s wall; warm-up $WARMUP s; samples every 1 s: $samples ($after after warm-up); load average $load_before before, $load_after after"
    echo "- Watching: every process (about ${procs_avg} on the system after warm-up), 2 rules every 0.1 s, footprint and start_time; memwatch exit status $MW_RC, $ERR_LINES lines on its stderr"
    echo "- Churn: $CHURN_LINE"
    echo "- Rule events: $ALERTS alerts, $RESOLVES resolves; Lua heap at the end ${LUA_KIB} KiB"
    echo "- Footprint after warm-up: first $fp_first KiB, last $fp_last KiB, min $fp_min, max $fp_max; growth **$growth KiB**, least-squares slope **$slope KiB/min**"
    echo "- Descriptors after warm-up: $fd_min to $fd_max in all; besides the kept /proc status descriptors (one per live process) $other_min to $other_max; kept descriptors minus processes on the system $excess_min to $excess_max"
    echo "- Ticks: **$TICKS of $EXPECTED expected** (first to last tick ${TICK_SPAN} s); gaps over 0.2 s: **$GAPS**, longest gap ${MAX_GAP} s; memwatch CPU ${cpu}% of one core after warm-up"
    if [ "${GAPS:-0}" -gt 0 ]; then
        echo "- Gaps (seconds after the first tick, duration):$(awk '$1 == "gap" { printf " %s s (%s s);", $2, $3 }' "$WORK/ticks")"
    fi
    echo
    check "memwatch ran to the end and exited 0" "$([ "$MW_RC" -eq 0 ] && [ "$DONE" = 1 ] && echo 1 || echo 0)"
    check "footprint growth after warm-up $growth KiB < $MAX_GROWTH_KIB KiB" "$([ "$growth" -lt "$MAX_GROWTH_KIB" ] && echo 1 || echo 0)"
    check "descriptors other than the kept status ones within +-$FD_SLACK of $other_first after warm-up (max deviation $other_dev)" "$([ "$other_dev" -le "$FD_SLACK" ] && echo 1 || echo 0)"
    check "kept descriptors at most $EXCESS_MAX more than the processes on the system (max $excess_max)" "$([ "$excess_max" -le "$EXCESS_MAX" ] && echo 1 || echo 0)"
    check "ticks $TICKS >= $MIN_TICKS% of $EXPECTED" "$([ "${TICKS:-0}" -ge $((EXPECTED * MIN_TICKS / 100)) ] && echo 1 || echo 0)"
    check "the churn helper started children ($CHURN_LINE)" "$(echo "$CHURN_LINE" | grep -Eq 'spawned [1-9]' && echo 1 || echo 0)"
}
REPORT=$(report)
printf '%s\n' "$REPORT"
[ -n "${MW_SOAK_OUT:-}" ] && printf '%s\n' "$REPORT" >"$MW_SOAK_OUT"
if [ "$ERR_LINES" -gt 0 ]; then
    say "memwatch's stderr (first lines):"
    head -n 20 "$WORK/memwatch.err" >&2
fi
case $REPORT in *"- FAIL:"*) exit 1 ;; esac
exit 0
