/*
 * Where the kernel time of a scan goes: the cost per process of each way of
 * reading /proc/PID/status and /proc/PID/stat that memwatch and the plain loop
 * use, over every pid in /proc, timed separately (a diagnostic for run.sh's
 * numbers, not part of the table).
 *
 *   syscost [-r REPS]
 *
 * Prints one line per variant: the median over REPS passes of µs per process.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int npids, *pids, *fd_status, *fd_stat, procfd;
static char buf[8192];

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int open_rel(int pid, const char *file)
{
    char path[64];
    snprintf(path, sizeof path, "%d/%s", pid, file);
    return openat(procfd, path, O_RDONLY | O_CLOEXEC);
}

static void read_close(const char *file)
{
    for (int i = 0; i < npids; i++) {
        int fd = open_rel(pids[i], file);
        if (fd >= 0) {
            (void)!read(fd, buf, sizeof buf);
            close(fd);
        }
    }
}

static void v_status_open_read_close(void)
{
    read_close("status");
}

static void v_stat_open_read_close(void)
{
    read_close("stat");
}

static void v_statm_open_read_close(void)
{
    read_close("statm");
}

static void v_status_open_close(void)
{
    for (int i = 0; i < npids; i++) {
        int fd = open_rel(pids[i], "status");
        if (fd >= 0)
            close(fd);
    }
}

static void v_status_pread(void)
{
    for (int i = 0; i < npids; i++)
        if (fd_status[i] >= 0)
            (void)!pread(fd_status[i], buf, sizeof buf, 0);
}

static void v_stat_pread(void)
{
    for (int i = 0; i < npids; i++)
        if (fd_stat[i] >= 0)
            (void)!pread(fd_stat[i], buf, sizeof buf, 0);
}

static void v_both_pread(void)
{
    v_status_pread();
    v_stat_pread();
}

static void close_kept(void)
{
    for (int i = 0; i < npids; i++) {
        if (fd_status[i] >= 0)
            close(fd_status[i]);
        if (fd_stat[i] >= 0)
            close(fd_stat[i]);
        fd_status[i] = fd_stat[i] = -1;
    }
}

static void open_kept(void)
{
    for (int i = 0; i < npids; i++) {
        fd_status[i] = open_rel(pids[i], "status");
        if (fd_status[i] >= 0)
            (void)!pread(fd_status[i], buf, sizeof buf, 0);
        fd_stat[i] = open_rel(pids[i], "stat");
        if (fd_stat[i] >= 0)
            (void)!pread(fd_stat[i], buf, sizeof buf, 0);
    }
}

static void list_pids(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int cap = 1024;

    pids = malloc((size_t)cap * sizeof *pids);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        if (npids == cap)
            pids = realloc(pids, (size_t)(cap *= 2) * sizeof *pids);
        pids[npids++] = atoi(de->d_name);
    }
    closedir(d);
    fd_status = malloc((size_t)npids * sizeof *fd_status);
    fd_stat = malloc((size_t)npids * sizeof *fd_stat);
    for (int i = 0; i < npids; i++)
        fd_status[i] = fd_stat[i] = -1;
}

static void report(const char *name, void (*fn)(void), void (*setup)(void), void (*teardown)(void),
                   int reps)
{
    double *t = calloc((size_t)reps, sizeof *t);
    for (int r = 0; r < reps; r++) {
        double t0;
        if (setup)
            setup();
        t0 = now_us();
        fn();
        t[r] = now_us() - t0;
        if (teardown)
            teardown();
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("%-52s %7.2f us/process\n", name, t[reps / 2] / npids);
    free(t);
}

int main(int argc, char **argv)
{
    int reps = argc > 2 && strcmp(argv[1], "-r") == 0 ? atoi(argv[2]) : 20;

    procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    list_pids();
    printf("%d processes, %d passes each\n", npids, reps);
    report("openat+read+close status (the plain loop)", v_status_open_read_close, NULL, NULL, reps);
    report("openat+read+close stat", v_stat_open_read_close, NULL, NULL, reps);
    report("openat+read+close statm", v_statm_open_read_close, NULL, NULL, reps);
    report("openat+close status (no read)", v_status_open_close, NULL, NULL, reps);
    report("openat+pread status, openat+pread stat, keep (cold)", open_kept, NULL, close_kept,
           reps);
    report("close the two kept descriptors", close_kept, open_kept, NULL, reps);
    open_kept();
    report("pread status on a kept descriptor", v_status_pread, NULL, NULL, reps);
    report("pread stat on a kept descriptor", v_stat_pread, NULL, NULL, reps);
    report("pread status + pread stat (memwatch warm, kernel)", v_both_pread, NULL, NULL, reps);
    close_kept();
    return 0;
}
