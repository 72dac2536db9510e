/*
 * Process churn for the soak benchmark: starts RATE short-lived children per
 * second (each runs `sleep` for a random LIFE_MIN..LIFE_MAX ms, so it is
 * exec'd, has its own name and memory, and lives through a few 10 Hz scans)
 * and reaps them as they exit. Paced on an absolute clock so the rate holds
 * when a spawn is slow. On SIGTERM, SIGINT or SIGHUP it stops starting new
 * children, waits for the running ones and prints one line:
 *
 *   churn: spawned N reaped M failed F in S s (R per second)
 *
 *   churn [RATE [LIFE_MIN_MS [LIFE_MAX_MS]]]    default 50 50 400
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long reap(int block)
{
    long n = 0;
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0)
        n++;
    return n;
}

int main(int argc, char **argv)
{
    double rate = argc > 1 ? atof(argv[1]) : 50;
    long life_min = argc > 2 ? atol(argv[2]) : 50, life_max = argc > 3 ? atol(argv[3]) : 400;
    long spawned = 0, reaped = 0, failed = 0;
    struct sigaction sa;
    struct timespec next;
    double start, period;
    unsigned seed = (unsigned)getpid();

    if (rate <= 0 || rate > 10000 || life_min < 0 || life_max < life_min) {
        fprintf(stderr, "usage: churn [RATE [LIFE_MIN_MS [LIFE_MAX_MS]]]\n");
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    period = 1.0 / rate;
    clock_gettime(CLOCK_MONOTONIC, &next);
    start = now_s();
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        long ms =
            life_min +
            (life_max > life_min ? (long)(rand_r(&seed) % (unsigned)(life_max - life_min + 1)) : 0);
        char arg[32];
        char *child_argv[] = {"sleep", arg, NULL};
        pid_t pid;
        int rc;

        snprintf(arg, sizeof arg, "%ld.%03ld", ms / 1000, ms % 1000);
        rc = posix_spawnp(&pid, "sleep", NULL, NULL, child_argv, environ);
        if (rc == 0)
            spawned++;
        else
            failed++;
        reaped += reap(0);

        next.tv_nsec += (long)(period * 1e9);
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
            ;
    }
    {
        double s = now_s() - start; /* the spawning time, before the drain */
        reaped += reap(1);
        printf("churn: spawned %ld reaped %ld failed %ld in %.1f s (%.1f per second)\n", spawned,
               reaped, failed, s, s > 0 ? (double)spawned / s : 0.0);
    }
    return failed > 0 && spawned == 0 ? 1 : 0;
}
