#!/usr/bin/env bash
# The regions benchmark (tests/bench/regions.c): the cost of reading and
# parsing /proc/PID/smaps of a process with many mappings, and how long the
# target's own mmap waits meanwhile (smaps holds its mmap_lock).
#
#   tests/bench/regions.sh [MAPPINGS...]     default: 100 1000 10000 60000
#
# Needs a C compiler. Prints a markdown table with the machine and the load.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/memwatch-regions-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

cc -O2 -std=c11 -Wall -Wextra -I"$ROOT/src" -I"$ROOT/include" -o "$WORK/regions" \
    "$ROOT/tests/bench/regions.c" "$ROOT/src/backend/linux/smaps.c" "$ROOT/src/backend/linux/parse.c"

echo "machine: $(uname -sr), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$WORK/regions" "$@"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
