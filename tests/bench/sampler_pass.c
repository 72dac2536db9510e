/*
 * One sampler's scans in C, no Lua: memwatch's /proc sampler (status read
 * through kept descriptors, parsed into records) or its BPF sampler (one
 * pass of the task iterator, records converted in place), through the
 * public API (mw_scan with a callback that counts). With NAME, only the
 * processes called NAME are visited, as processes{name = NAME} asks.
 *
 *   sampler_pass proc|bpf REPS [NAME]
 *
 * Prints: procs=N scans=R first_us=.. median_us=.. mean_us=.. min_us=.. cpu_us=..
 * (cpu_us: CPU time, user and system, per scan, as plain_loop's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int count(void *ud, const mw_proc *p)
{
    (void)p;
    ++*(long *)ud;
    return 0;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const mw_backend_ops *ops;
    char why[256] = "";
    mw_scan_opts opts;
    mw_ctx *ctx = NULL;
    long reps, procs = 0;
    double *t, sum = 0, cpu0;
    struct rlimit rl;
    int rc;

    if (argc < 3 || (strcmp(argv[1], "proc") != 0 && strcmp(argv[1], "bpf") != 0) ||
        (reps = strtol(argv[2], NULL, 10)) < 1) {
        fprintf(stderr, "usage: sampler_pass proc|bpf REPS [NAME]\n");
        return 2;
    }
    /* As the executable does: room for two kept descriptors per process. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ops = strcmp(argv[1], "bpf") == 0 ? &mw_backend_bpf : &mw_backend_native;
    if (!ops) {
        fprintf(stderr, "sampler_pass: built without the BPF sampler\n");
        return 1;
    }
    rc = mw_ctx_open(
        &(mw_ctx_cfg){.backend = ops, .max_cached_fds = -1, .why = why, .whylen = sizeof why},
        &ctx);
    if (rc < 0) {
        fprintf(stderr, "sampler_pass: %s: %s\n", argv[1], why[0] ? why : mw_strerror(rc));
        return 1;
    }
    memset(&opts, 0, sizeof opts);
    opts.want = MW_SRC_STATUS;
    opts.uid = -1;
    opts.name = argc > 3 ? argv[3] : NULL;
    t = calloc((size_t)reps, sizeof *t);
    if (!t)
        return 1;
    cpu0 = 0;
    for (long i = 0; i < reps; i++) {
        if (i == 1)
            cpu0 = cpu_us(); /* after the first scan: cold caches, dentries */
        double t0 = now_us();
        procs = 0;
        mw_scan(ctx, &opts, count, &procs);
        t[i] = now_us() - t0;
    }
    cpu0 = reps > 1 ? (cpu_us() - cpu0) / (double)(reps - 1) : 0;
    printf("procs=%ld scans=%ld first_us=%.1f", procs, reps, t[0]);
    for (long i = 0; i < reps; i++)
        sum += t[i];
    qsort(t, (size_t)reps, sizeof *t, by_value);
    printf(" median_us=%.1f mean_us=%.1f min_us=%.1f cpu_us=%.1f\n", t[reps / 2],
           sum / (double)reps, t[0], cpu0);
    free(t);
    mw_ctx_close(ctx);
    return 0;
}
