/*
 * Fork N idle children (each blocks in pause()) so a benchmark sees a given
 * number of processes. Prints "ready N" on stdout once all exist, then waits.
 * On SIGTERM, SIGINT or SIGHUP it kills and reaps every child; children also
 * die with their parent (PR_SET_PDEATHSIG), so nothing outlives a kill -9.
 *
 *   spawn_idle N
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : -1, made = 0;
    pid_t parent = getpid(), *kids;
    struct sigaction sa = {0};
    sigset_t block, old;

    if (n < 0) {
        fprintf(stderr, "usage: spawn_idle N\n");
        return 2;
    }
    kids = calloc((size_t)(n ? n : 1), sizeof *kids);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Block the stop signals while forking; sigsuspend lets them in later. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    for (; made < n; made++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "spawn_idle: fork #%ld: %s\n", made + 1, strerror(errno));
            break;
        }
        if (pid == 0) {
            sigset_t none;
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(0);
            signal(SIGTERM, SIG_DFL);
            signal(SIGINT, SIG_DFL);
            signal(SIGHUP, SIG_DFL);
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            for (;;)
                pause();
        }
        kids[made] = pid;
    }
    printf("ready %ld\n", made);
    fflush(stdout);
    while (!stop)
        sigsuspend(&old);
    for (long i = 0; i < made; i++)
        kill(kids[i], SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    return 0;
}
