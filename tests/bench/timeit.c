/*
 * Wall time of a whole command, run REPS times (stdout to /dev/null, after one
 * untimed warm-up run). Prints one line:
 *
 *   runs=R median_us=.. mean_us=.. min_us=..
 *
 *   timeit REPS PROGRAM [ARGS...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static double children_cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int run(char **argv)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int main(int argc, char **argv)
{
    long reps = argc > 2 ? atol(argv[1]) : 0;
    double *t, sum = 0, cpu0;

    if (reps <= 0) {
        fprintf(stderr, "usage: timeit REPS PROGRAM [ARGS...]\n");
        return 2;
    }
    t = calloc((size_t)reps, sizeof *t);
    if (run(argv + 2) != 0) {
        fprintf(stderr, "timeit: %s failed\n", argv[2]);
        return 1;
    }
    cpu0 = children_cpu_us();
    for (long i = 0; i < reps; i++) {
        double t0 = now_us();
        run(argv + 2);
        t[i] = now_us() - t0;
        sum += t[i];
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    /* The runs' CPU time, user and system (their children included). */
    cpu0 = (children_cpu_us() - cpu0) / (double)reps;
    printf("runs=%ld median_us=%.1f mean_us=%.1f min_us=%.1f cpu_us=%.1f\n", reps, t[reps / 2],
           sum / (double)reps, t[0], cpu0);
    return 0;
}
