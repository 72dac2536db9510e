#!/usr/bin/python3
"""Times psutil.process_iter(["memory_info"]) the way scan.lua times memwatch.

    /usr/bin/python3 tests/bench/psutil_scan.py REPS

The first scan creates a Process object per pid (cold); later scans reuse
psutil's process cache (warm: is_running() re-reads stat, memory_info reads
statm). REPS = 0 only imports psutil (the strace/callgrind baseline).
Prints: procs=N scans=R cold_us=.. median_us=.. mean_us=.. min_us=..
With MW_BENCH_MARK=1 each scan is bracketed by writes to fd 2.
"""
import os
import sys
import time

try:
    import psutil
except ImportError:
    sys.stderr.write("psutil_scan.py: psutil is missing for %s; on Debian: "
                     "apt-get install -y python3-psutil\n" % sys.executable)
    sys.exit(3)

reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
mark = os.environ.get("MW_BENCH_MARK") == "1"

if reps <= 0:
    print("procs=0 scans=0")
    sys.exit(0)

times = []
n = 0
cpu0 = None
for i in range(reps):
    if i == 1:
        cpu0 = time.process_time()
    if mark:
        os.write(2, b"@@scan-begin\n")
    t0 = time.perf_counter()
    procs = list(psutil.process_iter(["memory_info"]))
    t1 = time.perf_counter()
    if mark:
        os.write(2, b"@@scan-end\n")
    times.append((t1 - t0) * 1e6)
    n = len(procs)
    del procs

cpu = (time.process_time() - cpu0) * 1e6 / (reps - 1) if reps > 1 else 0
cold = times[0]
warm = sorted(times[1:]) or [cold]
print("procs=%d scans=%d cold_us=%.1f median_us=%.1f mean_us=%.1f min_us=%.1f cpu_us=%.1f" % (
    n, reps, cold, warm[len(warm) // 2], sum(warm) / len(warm), warm[0], cpu))
