#!/usr/bin/env bash
# The memwatch scan benchmark: cost per process of memwatch.processes() against
# a plain C loop over /proc/PID/status, `ps -eo pid,rss,comm` and psutil, at
# about 100, 1000 and 2000 processes (idle children fill the gap).
#
#   tests/bench/run.sh [SIZE...]            default: 100 1000 2000
#
# Environment: MEMWATCH_BUILD (build dir, default build-bench), MW_BENCH_ROUNDS
# (timing rounds per size, default 7), MW_BENCH_NO_COUNTS=1 (timing only: skip
# strace and callgrind), MW_BENCH_OUT (results file; default
# tests/bench/results-DATE.md). See tests/bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${MEMWATCH_BUILD:-$ROOT/build-bench}
BENCH_SRC=$ROOT/tests/bench
BIN=$BUILD/bench
ROUNDS=${MW_BENCH_ROUNDS:-7}
PY=/usr/bin/python3
DATE=$(date +%F)
OUT=${MW_BENCH_OUT:-$BENCH_SRC/results-$DATE.md}
if [ $# -gt 0 ]; then SIZES=("$@"); else SIZES=(100 1000 2000); fi

WORK=$(mktemp -d /tmp/memwatch-bench.XXXXXX)
cd "$WORK"
RAW=$WORK/raw.tsv
MIX=$WORK/mix.md
: >"$RAW"
: >"$MIX"
spawners=()

stop_children() {
    local pid
    for pid in "${spawners[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    spawners=()
}
cleanup() {
    stop_children
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM HUP

say() { printf '%s\n' "$*" >&2; }
die() {
    say "run.sh: $*"
    exit 1
}

# ---- tools ---------------------------------------------------------------------------
command -v cc >/dev/null || die "no C compiler (apt-get install -y build-essential)"
command -v cmake >/dev/null || die "no cmake (apt-get install -y cmake)"
command -v lua5.4 >/dev/null && have_lua=1 || {
    have_lua=0
    say "lua5.4 not found (apt-get install -y lua5.4): skipping the stock-interpreter rows"
}
[ -x "$PY" ] || die "$PY not found"
if "$PY" -c 'import psutil' 2>/dev/null; then
    have_psutil=1
else
    say "psutil is missing for $PY (the Debian package python3-psutil)"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing it: apt-get install -y python3-psutil"
        apt-get install -y python3-psutil >&2 || say "apt-get failed"
    else
        say "install it with: sudo apt-get install -y python3-psutil"
    fi
    "$PY" -c 'import psutil' 2>/dev/null && have_psutil=1 || {
        have_psutil=0
        say "skipping the psutil rows"
    }
fi
have_strace=0
have_valgrind=0
if [ "${MW_BENCH_NO_COUNTS:-0}" != 1 ]; then
    command -v strace >/dev/null && have_strace=1 || say "strace missing (apt-get install -y strace): no syscall counts"
    command -v valgrind >/dev/null && have_valgrind=1 || say "valgrind missing (apt-get install -y valgrind): no instruction counts"
fi

# ---- build ---------------------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMEMWATCH_TESTS=OFF >&2
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
[ "$build_type" = Release ] || say "warning: $BUILD is a '$build_type' build, not Release"
cmake --build "$BUILD" -j"$(nproc)" --target memwatch memwatch_core >&2
mkdir -p "$BIN"
for prog in plain_loop spawn_idle timeit syscost; do
    cc -std=c11 -O2 -Wall -Wextra -o "$BIN/$prog" "$BENCH_SRC/$prog.c"
done
MEMWATCH=$BUILD/memwatch
SCAN_LUA=$BENCH_SRC/scan.lua
PSUTIL_PY=$BENCH_SRC/psutil_scan.py
export MEMWATCH_BUILD=$BUILD
# The memwatch rows measure the /proc sampler unless asked otherwise (the BPF
# sampler has its own benchmark, bpf.sh).
export MEMWATCH_SAMPLER=${MEMWATCH_SAMPLER:-proc}

# memwatch keeps two descriptors per process between scans, up to half the soft
# limit; the executable raises its own limit, a stock lua5.4 inherits ours.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---- helpers -------------------------------------------------------------------------
nprocs() {
    local p=(/proc/[0-9]*)
    echo "${#p[@]}"
}
# kv "k1=v1 k2=v2" k2 -> v2
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
median() { sort -g | awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)]}'; }
clamp() { # value lo hi
    local v=$1
    ((v < $2)) && v=$2
    ((v > $3)) && v=$3
    echo "$v"
}
emit() { printf '%s\t%s\t%s\t%s\n' "$size" "$1" "$2" "$3" >>"$RAW"; }

spawn_to() { # bring the system to about $1 processes
    local target=$1 have need pid out try
    stop_children
    # Other work starts and ends processes meanwhile: top up a few times.
    for try in 1 2 3 4 5; do
        have=$(nprocs)
        need=$((target - have - 1))
        ((have * 100 < target * 97 && need > 0)) || break
        out=$WORK/spawn.$try
        "$BIN/spawn_idle" "$need" >"$out" &
        pid=$!
        spawners+=("$pid")
        for _ in $(seq 600); do
            grep -q '^ready' "$out" 2>/dev/null && break
            sleep 0.1
        done
        grep -q '^ready' "$out" || die "spawn_idle did not get ready"
        sleep 0.5
    done
    have=$(nprocs)
    ((have * 100 >= target * 97)) || say "note: only $have processes (asked for $target)"
    ((have * 100 <= target * 110)) || say "note: $have processes already run, more than the $target asked for"
}

# Syscalls inside marked scans of one traced run: prints "first_scan mean_of_rest".
strace_scans() { # label, command...
    local label=$1
    shift
    MW_BENCH_MARK=1 strace -f -qq -o "$WORK/st.log" "$@" >/dev/null 2>&1 || true
    awk -v mix="$WORK/mix.$label" '
        /@@scan-begin/ { scan++; on = 1; next }
        /@@scan-end/ { on = 0; next }
        on && !/resumed>/ && !/^[0-9]+ +(\+\+\+|---)/ {
            name = $2; sub(/\(.*/, "", name)
            count[scan]++
            if (scan == 1) first[name]++; else rest[name]++
        }
        END {
            r = 0
            for (i = 2; i <= scan; i++) r += count[i]
            printf "%d %.2f\n", count[1], (scan > 1 ? r / (scan - 1) : 0)
            line = "cold:"
            for (k in first) line = line " " k "=" first[k]
            print line > mix
            line = "warm (per scan):"
            for (k in rest) line = line " " k "=" sprintf("%.0f", rest[k] / (scan - 1))
            print line > mix
        }' "$WORK/st.log"
}

# User-space instructions of one run under callgrind.
instructions() {
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$@" >/dev/null 2>"$WORK/cg.err" ||
        {
            say "callgrind failed: $*"
            echo 0
            return
        }
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$WORK/cg.out"
}

# ---- one size ------------------------------------------------------------------------
measure() {
    local r reps preps out tool
    # Scans per timing run: about 40k process visits for the fast tools, 10k
    # for psutil and ps; at least enough for a median.
    reps=$(clamp $((40000 / size)) 20 400)
    preps=$(clamp $((10000 / size)) 5 100)
    say "== about $size processes (now $(nprocs)); $ROUNDS rounds, $reps scans/run, $preps for ps and psutil"

    # Warm-up: the kernel builds the /proc dentries of new pids on first access.
    "$BIN/plain_loop" -r 2 >/dev/null
    "$MEMWATCH" "$SCAN_LUA" 2 >/dev/null

    for tool in plain mw lua psutil ps mw1 py1; do : >"$WORK/t.$tool"; done
    for r in $(seq "$ROUNDS"); do
        echo "$("$BIN/plain_loop" -r "$reps")" >>"$WORK/t.plain"
        echo "$("$MEMWATCH" "$SCAN_LUA" "$reps")" >>"$WORK/t.mw"
        ((have_lua)) && echo "$(lua5.4 "$SCAN_LUA" "$reps")" >>"$WORK/t.lua"
        ((have_psutil)) && echo "$("$PY" "$PSUTIL_PY" "$preps")" >>"$WORK/t.psutil"
        echo "$("$BIN/timeit" "$preps" ps -eo pid,rss,comm) procs=$(ps -eo pid,rss,comm | tail -n +2 | wc -l)" >>"$WORK/t.ps"
        # One-shot commands, start-up and exit included, as ps is measured.
        echo "$("$BIN/timeit" "$preps" "$MEMWATCH" "$SCAN_LUA" 1) procs=$(nprocs)" >>"$WORK/t.mw1"
        ((have_psutil)) && echo "$("$BIN/timeit" "$preps" "$PY" "$PSUTIL_PY" 1) procs=$(nprocs)" >>"$WORK/t.py1"
        say "   round $r: $(tail -1 "$WORK/t.plain" | cut -d' ' -f1,4) | memwatch $(tail -1 "$WORK/t.mw" | cut -d' ' -f3,4)"
    done

    col() { while read -r line; do kv "$line" "$2"; done <"$WORK/t.$1" | median; }
    emit plain n "$(col plain procs)"
    emit plain t "$(col plain median_us)"
    for pair in mw:mw lua:lua psutil:psutil; do
        local src=${pair%%:*} dst=${pair##*:}
        [ -s "$WORK/t.$src" ] || continue
        emit "${dst}_cold" n "$(col "$src" procs)"
        emit "${dst}_cold" t "$(col "$src" cold_us)"
        emit "${dst}_warm" n "$(col "$src" procs)"
        emit "${dst}_warm" t "$(col "$src" median_us)"
    done
    emit ps n "$(col ps procs)"
    emit ps t "$(col ps median_us)"
    emit mw_oneshot n "$(col mw1 procs)"
    emit mw_oneshot t "$(col mw1 median_us)"
    if [ -s "$WORK/t.py1" ]; then
        emit psutil_oneshot n "$(col py1 procs)"
        emit psutil_oneshot t "$(col py1 median_us)"
    fi

    if ((have_strace)); then
        say "   strace"
        local cw n
        cw=$(strace_scans plain "$BIN/plain_loop" -r 3)
        emit plain s "$(echo "$cw" | cut -d' ' -f1)"
        { echo "- plain loop: $(head -1 "$WORK/mix.plain" | cut -d: -f2-)"; } >>"$MIX.$size"
        cw=$(strace_scans mw "$MEMWATCH" "$SCAN_LUA" 4)
        emit mw_cold s "${cw%% *}"
        emit mw_warm s "${cw##* }"
        { echo "- memwatch cold: $(sed -n 1p "$WORK/mix.mw" | cut -d: -f2-)"; echo "- memwatch warm, per scan: $(sed -n 2p "$WORK/mix.mw" | cut -d: -f2-)"; } >>"$MIX.$size"
        if ((have_lua)); then
            cw=$(strace_scans lua lua5.4 "$SCAN_LUA" 4)
            emit lua_cold s "${cw%% *}"
            emit lua_warm s "${cw##* }"
        fi
        if ((have_psutil)); then
            cw=$(strace_scans psutil "$PY" "$PSUTIL_PY" 3)
            emit psutil_cold s "${cw%% *}"
            emit psutil_warm s "${cw##* }"
            { echo "- psutil cold: $(sed -n 1p "$WORK/mix.psutil" | cut -d: -f2-)"; echo "- psutil warm, per scan: $(sed -n 2p "$WORK/mix.psutil" | cut -d: -f2-)"; } >>"$MIX.$size"
        fi
        # ps cannot mark its scan: count the whole command (start-up included).
        strace -f -qq -o "$WORK/st.log" ps -eo pid,rss,comm >/dev/null 2>&1
        n=$(grep -cv -e 'resumed>' -e '^[0-9]* *+++' -e '^[0-9]* *---' "$WORK/st.log")
        emit ps s "$n"
        echo "- ps (whole command): $(awk '!/resumed>/ && !/^[0-9]+ +(\+\+\+|---)/ {n=$2; sub(/\(.*/, "", n); c[n]++} END {for (k in c) printf " %s=%d", k, c[k]}' "$WORK/st.log")" >>"$MIX.$size"
        strace -f -qq -o "$WORK/st.log" "$MEMWATCH" "$SCAN_LUA" 1 >/dev/null 2>&1
        emit mw_oneshot s "$(grep -cv -e 'resumed>' -e '^[0-9]* *+++' -e '^[0-9]* *---' "$WORK/st.log")"
    fi

    if ((have_valgrind)); then
        say "   callgrind"
        local i0 i1 i3
        i0=$(instructions "$BIN/plain_loop" -r 0)
        i1=$(instructions "$BIN/plain_loop" -r 1)
        i3=$(instructions "$BIN/plain_loop" -r 3)
        emit plain i "$(((i3 - i1) / 2))"
        i0=$(instructions "$MEMWATCH" "$SCAN_LUA" 0)
        i1=$(instructions "$MEMWATCH" "$SCAN_LUA" 1)
        i3=$(instructions "$MEMWATCH" "$SCAN_LUA" 3)
        emit mw_cold i "$((i1 - i0))"
        emit mw_warm i "$(((i3 - i1) / 2))"
        if ((have_lua)); then
            i0=$(instructions lua5.4 "$SCAN_LUA" 0)
            i1=$(instructions lua5.4 "$SCAN_LUA" 1)
            i3=$(instructions lua5.4 "$SCAN_LUA" 3)
            emit lua_cold i "$((i1 - i0))"
            emit lua_warm i "$(((i3 - i1) / 2))"
        fi
        if ((have_psutil)); then
            i0=$(instructions "$PY" "$PSUTIL_PY" 0)
            i1=$(instructions "$PY" "$PSUTIL_PY" 1)
            i3=$(instructions "$PY" "$PSUTIL_PY" 2)
            emit psutil_cold i "$((i1 - i0))"
            emit psutil_warm i "$((i3 - i1))"
        fi
        emit ps i "$(instructions ps -eo pid,rss,comm)"
        emit mw_oneshot i "$(instructions "$MEMWATCH" "$SCAN_LUA" 1)"
    fi
}

start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for size in "${SIZES[@]}"; do
    spawn_to "$size"
    measure
    if [ "$size" = "${SIZES[-1]}" ]; then
        # Kernel cost of each way of reading the two files, at the largest size.
        "$BIN/syscost" -r 10 >"$WORK/syscost.txt"
    fi
    stop_children
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
virt=$(systemd-detect-virt 2>/dev/null || true)
os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- src scripts include CMakeLists.txt 2>/dev/null || commit="$commit + uncommitted changes"
psutil_v=$( ((have_psutil)) && "$PY" -c 'import psutil; print(psutil.__version__)' || echo missing)
{
    echo "## memwatch scan benchmark, $DATE"
    echo
    echo "- Machine: $(nproc) CPUs, $cpu, $mem RAM${virt:+, virtualization: $virt}; $os; kernel $(uname -r)"
    echo "- memwatch $commit, $build_type build ($(cc --version | head -1)); $($MEMWATCH --version 2>/dev/null | head -1)"
    echo "- Peers: $(ps --version), psutil $psutil_v ($($PY --version 2>&1)), $(lua5.4 -v 2>&1 | cut -d' ' -f1-2)"
    echo "- Counting: $( ((have_strace)) && strace -V | head -1 || echo 'no strace'); $( ((have_valgrind)) && valgrind --version || echo 'no valgrind') (callgrind); perf instructions:u $(perf stat -x, -e instructions:u true 2>&1 | grep -q 'not supported' && echo 'not supported here' || echo 'available (not used)')"
    echo "- Method: $ROUNDS timing rounds per size, median of per-run medians; idle children forked by spawn_idle; fd soft limit $(ulimit -n); whole suite took $(($(date +%s) - start)) s; load average $load_before before, $load_after after (other work on the machine adds noise)"
    echo
    echo "Time: scans timed in-process (plain loop, memwatch, lua5.4 + module, psutil); ps timed as a whole"
    echo "command (start-up included) by timeit. \"cold\" is the first scan in a fresh process (memwatch opens"
    echo "status and stat for every process and keeps them); \"warm\" the median of later scans (pread on the"
    echo "kept descriptors; psutil reuses its Process cache). Syscalls: strace -f, counted between markers the"
    echo "drivers write around each scan (ps: whole command). Instructions: callgrind totals of runs with 0, 1"
    echo "and 3 scans subtracted from each other (psutil: 0, 1, 2), so start-up is removed; \"one-shot\" rows and ps"
    echo "are whole commands (start-up, one scan, exit), divided by the process count; the marginal table"
    echo "(slope over the sizes) removes their fixed start-up cost."
} >"$WORK/meta.md"

"$PY" "$BENCH_SRC/report.py" "$RAW" "$WORK/meta.md" >"$WORK/report.md"
for size in "${SIZES[@]}"; do
    if [ -s "$MIX.$size" ]; then
        printf '\n### Syscalls of one scan at about %s processes (strace)\n\n' "$size"
        cat "$MIX.$size"
    fi
done >>"$WORK/report.md"
if [ -s "$WORK/syscost.txt" ]; then
    printf '\n### Kernel cost per process of each read, at about %s processes (syscost)\n\n```\n' "${SIZES[-1]}"
    cat "$WORK/syscost.txt"
    printf '```\n'
fi >>"$WORK/report.md"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
say "written to $OUT"
