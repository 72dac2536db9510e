/*
 * The cost of memwatch.regions on a large process: reading /proc/PID/smaps
 * (kernel time: a page-table walk per mapping, under the target's
 * mmap_lock), parsing it (src/backend/linux/smaps.c), and what the reading
 * does to the target: the longest an mmap+munmap in the target waits while
 * smaps is read, against the same loop with nobody reading.
 *
 *     regions [MAPPINGS...]       default: 100 1000 10000 60000
 *
 * For each size a child makes that many mappings (4 KiB each, touched,
 * alternately read-only and read-write so the kernel cannot merge them;
 * vm.max_map_count caps it, 65530 by default), then the parent reads its
 * smaps and smaps_rollup MW_BENCH_ROUNDS times (default 9) and prints medians
 * as a markdown table. Built and run by tests/bench/regions.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/linux/smaps.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* The whole file through read(2), as the backend reads it. */
static size_t read_whole(const char *path, char **buf, size_t *cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t used = 0;
    ssize_t n;

    if (fd < 0) {
        perror(path);
        exit(1);
    }
    for (;;) {
        if (used == *cap) {
            *cap = *cap ? *cap * 2 : 1 << 16;
            *buf = realloc(*buf, *cap);
            if (!*buf)
                exit(1);
        }
        n = read(fd, *buf + used, *cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    return used;
}

static int count_row(void *ud, const mw_smaps_row *row)
{
    (void)row;
    ++*(size_t *)ud;
    return 0;
}

/* ---- the target ----------------------------------------------------------------- */

/* The worst mmap+munmap of one page, in seconds, over the time the loop runs;
 * reported through a pipe when the parent says stop (SIGUSR1). */
static volatile sig_atomic_t stop_loop;
static void on_usr1(int sig)
{
    (void)sig;
    stop_loop = 1;
}

static void target(size_t mappings, int ready_fd, int result_fd, int go_fd)
{
    long page = sysconf(_SC_PAGESIZE);
    char c;
    double worst = 0;

    for (size_t i = 0; i < mappings; i++) {
        int prot = (i % 2) ? PROT_READ : PROT_READ | PROT_WRITE;
        char *p =
            mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            dprintf(ready_fd, "fail %zu %s\n", i, strerror(errno));
            _exit(1);
        }
        p[0] = 1;
        mprotect(p, (size_t)page, prot);
    }
    dprintf(ready_fd, "ready\n");
    signal(SIGUSR1, on_usr1);
    /* Each measurement: wait for a byte, loop mmap+munmap until SIGUSR1,
     * report the worst latency. */
    while (read(go_fd, &c, 1) == 1) {
        stop_loop = 0;
        worst = 0;
        while (!stop_loop) {
            double t0 = now(), dt;
            void *q = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            munmap(q, (size_t)page);
            dt = now() - t0;
            if (dt > worst)
                worst = dt;
        }
        if (write(result_fd, &worst, sizeof worst) != sizeof worst)
            _exit(1);
    }
    _exit(0);
}

/* ---- the measurements ----------------------------------------------------------- */

int main(int argc, char **argv)
{
    static const size_t defaults[] = {100, 1000, 10000, 60000};
    const char *env = getenv("MW_BENCH_ROUNDS");
    int rounds = env ? atoi(env) : 9;
    int nsizes = argc > 1 ? argc - 1 : (int)(sizeof defaults / sizeof defaults[0]);
    char *buf = NULL;
    size_t cap = 0;

    if (rounds < 1 || rounds > 1000)
        rounds = 9;
    printf("| mappings | smaps bytes | read smaps (ms) | parse (ms) | per mapping (us) | "
           "smaps_rollup (ms) | target's worst mmap, idle (ms) | while smaps is read (ms) |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int s = 0; s < nsizes; s++) {
        size_t mappings = argc > 1 ? (size_t)strtoul(argv[s + 1], NULL, 10) : defaults[s];
        int ready[2], result[2], go[2];
        char line[128] = {0}, path[64], rpath[64];
        double t_read[1000], t_parse[1000], t_roll[1000], idle_worst, busy_worst;
        size_t len = 0, rows = 0;
        pid_t pid;

        if (pipe(ready) || pipe(result) || pipe(go))
            return 1;
        pid = fork();
        if (pid == 0) {
            close(ready[0]);
            close(result[0]);
            close(go[1]);
            target(mappings, ready[1], result[1], go[0]);
        }
        close(ready[1]);
        close(result[1]);
        close(go[0]);
        if (read(ready[0], line, sizeof line - 1) <= 0 || strncmp(line, "ready", 5) != 0) {
            fprintf(stderr, "regions: the target could not map %zu regions: %s", mappings, line);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            continue;
        }
        snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
        snprintf(rpath, sizeof rpath, "/proc/%d/smaps_rollup", (int)pid);
        for (int r = 0; r < rounds; r++) {
            double t0 = now();
            len = read_whole(path, &buf, &cap);
            t_read[r] = now() - t0;
            rows = 0;
            t0 = now();
            mw_parse_smaps(buf, len, count_row, &rows);
            t_parse[r] = now() - t0;
            t0 = now();
            read_whole(rpath, &buf, &cap);
            t_roll[r] = now() - t0;
        }
        /* The target's mmap latency: 0.3 s idle, then 0.3 s of smaps reads. */
        if (write(go[1], "g", 1) != 1)
            return 1;
        usleep(300000);
        kill(pid, SIGUSR1);
        if (read(result[0], &idle_worst, sizeof idle_worst) != sizeof idle_worst)
            return 1;
        if (write(go[1], "g", 1) != 1)
            return 1;
        for (double end = now() + 0.3; now() < end;)
            read_whole(path, &buf, &cap);
        kill(pid, SIGUSR1);
        if (read(result[0], &busy_worst, sizeof busy_worst) != sizeof busy_worst)
            return 1;
        close(go[1]);
        waitpid(pid, NULL, 0);
        close(ready[0]);
        close(result[0]);
        {
            double mr = median(t_read, rounds), mp = median(t_parse, rounds);
            printf("| %zu | %zu | %.2f | %.2f | %.2f | %.3f | %.3f | %.3f |\n", rows, len, mr * 1e3,
                   mp * 1e3, (mr + mp) / (double)(rows ? rows : 1) * 1e6,
                   median(t_roll, rounds) * 1e3, idle_worst * 1e3, busy_worst * 1e3);
        }
        fflush(stdout);
    }
    free(buf);
    return 0;
}
