/*
 * The floor memwatch is measured against: for every pid in /proc, open
 * PID/status, read it once, close it (3 syscalls per process) and pull VmRSS
 * out of it. No caching, no records, nothing kept between scans.
 *
 *   plain_loop [-r REPS] [-p PROC]
 *
 * Scans REPS times (default 100; 0 only starts and exits, the baseline for
 * strace and callgrind) and prints one line:
 *
 *   procs=N scans=R first_us=.. median_us=.. mean_us=.. min_us=.. rss_kb=.. cpu_us=..
 *
 * cpu_us: this process's CPU time (user and system) per scan after the
 * first, the measure that holds on a loaded machine, where wall time
 * includes waiting for a CPU.
 *
 * Each scan is bracketed by writes of "@@scan-begin" / "@@scan-end" to fd 2
 * when MW_BENCH_MARK=1, so an strace log can count the syscalls inside scans.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* VmRSS in kB, or -1 (kernel threads and zombies have no Vm lines). */
static long parse_vmrss(const char *buf, size_t n)
{
    const char *p = buf, *end = buf + n;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        if (nl - p > 6 && memcmp(p, "VmRSS:", 6) == 0) {
            long v = 0;
            for (p += 6; p < nl && (*p == ' ' || *p == '\t'); p++)
                ;
            for (; p < nl && *p >= '0' && *p <= '9'; p++)
                v = v * 10 + (*p - '0');
            return v;
        }
        p = nl + 1;
    }
    return -1;
}

static long scan(int procfd, long *rss_total)
{
    char path[300], buf[4096];
    struct dirent *de;
    long count = 0;
    int dfd = openat(procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;

    if (!dir) {
        perror("plain_loop: /proc");
        exit(1);
    }
    *rss_total = 0;
    while ((de = readdir(dir)) != NULL) {
        ssize_t n;
        long rss;
        int fd;
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "%s/status", de->d_name);
        fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* vanished */
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        rss = parse_vmrss(buf, (size_t)n);
        if (rss > 0)
            *rss_total += rss;
        count++;
    }
    closedir(dir);
    return count;
}

int main(int argc, char **argv)
{
    const char *root = "/proc";
    long reps = 100, procs = 0, rss = 0;
    int opt, procfd, mark = getenv("MW_BENCH_MARK") && strcmp(getenv("MW_BENCH_MARK"), "1") == 0;
    double *t, sum = 0, cpu0;

    while ((opt = getopt(argc, argv, "r:p:")) != -1) {
        if (opt == 'r')
            reps = atol(optarg);
        else if (opt == 'p')
            root = optarg;
        else {
            fprintf(stderr, "usage: plain_loop [-r REPS] [-p PROC]\n");
            return 2;
        }
    }
    procfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (procfd < 0) {
        perror(root);
        return 1;
    }
    if (reps <= 0) {
        printf("procs=0 scans=0\n");
        return 0;
    }
    t = calloc((size_t)reps, sizeof *t);
    cpu0 = 0;
    for (long i = 0; i < reps; i++) {
        if (i == 1)
            cpu0 = cpu_us(); /* after the first scan: cold caches, dentries */
        double t0;
        if (mark)
            (void)!write(2, "@@scan-begin\n", 13);
        t0 = now_us();
        procs = scan(procfd, &rss);
        t[i] = now_us() - t0;
        if (mark)
            (void)!write(2, "@@scan-end\n", 11);
        sum += t[i];
    }
    cpu0 = reps > 1 ? (cpu_us() - cpu0) / (double)(reps - 1) : 0;
    printf("procs=%ld scans=%ld first_us=%.1f", procs, reps, t[0]);
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf(" median_us=%.1f mean_us=%.1f min_us=%.1f rss_kb=%ld cpu_us=%.1f\n", t[reps / 2],
           sum / (double)reps, t[0], rss, cpu0);
    free(t);
    return 0;
}
