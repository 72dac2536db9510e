/*
 * Integration test of the BPF sampler (src/backend/linux/bpf) against the
 * /proc one on the running kernel:
 *  - every field the pass gives, for processes held still by SIGSTOP (one
 *    child per kind of memory of memkinds_child, a zombie, kthreadd), is
 *    what status and stat say: memory, ids, threads, state, start time
 *    exactly; cpu_time within one clock tick (stat's utime + stime are
 *    cputime_adjust's split of the same run time, each rounded down);
 *  - passes taken while processes start and exit (churn) give records whose
 *    numbers belong together, and never crash;
 *  - a load the kernel refuses, or a kernel without BTF (both injected
 *    through the mw_sys table), leaves no descriptor open and says why;
 *  - the program loaded is the one asked for (MEMWATCH_BPF_PROGRAM), or
 *    the walker where the kernel has it; a pass given a filter (comm, uid)
 *    returns the matching processes and their threads only, and a walker
 *    whose array is too small makes it bigger and returns every task.
 * The test runs once per program (ctest: integration_bpf_equal for the
 * default, integration_bpf_equal_iterator for the task iterator).
 * SKIPPED (77) where the BPF sampler cannot load (not root, no BTF, a kernel
 * without the program asked for, ...).
 *
 * Environment: MW_MEMKINDS_CHILD (the memkinds_child program), MW_CHURN
 * (tests/bench/churn, for the churn case), MEMWATCH_BPF_PROGRAM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "child_step.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memwatch/backend.h"
#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include "backend/linux/bpf/loader.h"

#define MAX_KIDS 16

/* A child: memkinds_child made to hold one kind of memory, then stopped. */
typedef struct kid {
    pid_t pid;
    int to, from;
    const char *kind;
    int skipped;
} kid;

static kid kids[MAX_KIDS];
static int nkids;
static pid_t zombie = -1;
static char skip_why[256];

static void say(kid *k, const char *step, char *reply, size_t len)
{
    child_step(k->to, k->from, step, reply, len);
}

/* Start a child and run its steps (NULL-terminated); a "skip" reply marks
 * the kind as one this machine cannot make. */
static void start_kid(const char *kind, const char *const *steps)
{
    const char *child = getenv("MW_MEMKINDS_CHILD");
    kid *k = &kids[nkids++];
    int down[2], up[2];
    char reply[256];

    assert_non_null(child);
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    k->kind = kind;
    k->pid = fork();
    assert_true(k->pid >= 0);
    if (k->pid == 0) {
        char name[] = "memkinds_child", dirs[] = "/var/tmp:/tmp";
        char *argv[] = {name, dirs, NULL};
        if (dup2(down[0], STDIN_FILENO) < 0 || dup2(up[1], STDOUT_FILENO) < 0)
            _exit(126);
        execv(child, argv);
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    k->to = down[1];
    k->from = up[0];
    say(k, "ping", reply, sizeof reply);
    for (; *steps; steps++) {
        say(k, *steps, reply, sizeof reply);
        if (strncmp(reply, "skip", 4) == 0) {
            k->skipped = 1;
            break;
        }
        if (strncmp(reply, "ok", 2) != 0)
            fail_msg("%s: %s: %s", kind, *steps, reply);
    }
}

/* The one-letter state /proc/PID/stat shows. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    ssize_t n;
    int fd;
    const char *p;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

static void wait_state(pid_t pid, char want)
{
    for (int i = 0; i < 500; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (proc_state(pid) == want)
            return;
        nanosleep(&ts, NULL);
    }
    fail_msg("pid %d never reached state %c", (int)pid, want);
}

static int bpf_usable(void)
{
    mw_ctx *ctx = NULL;
    int rc;

    if (!&mw_backend_bpf) {
        snprintf(skip_why, sizeof skip_why, "built without the BPF sampler");
        return 0;
    }
    rc = mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf,
                                   .max_cached_fds = -1,
                                   .why = skip_why,
                                   .whylen = sizeof skip_why},
                     &ctx);
    mw_ctx_close(ctx);
    return rc == 0;
}

static int setup_kids(void **state)
{
    static const char *const heap[] = {"heap_alloc", NULL};
    static const char *const stack[] = {"stack_grow", NULL};
    static const char *const shared_file[] = {"file_create", "shared_file_read",
                                              "shared_file_write", NULL};
    static const char *const private_file[] = {"file_create", "private_file_read",
                                               "private_file_write", NULL};
    static const char *const shared_anon[] = {"shared_anon_touch", NULL};
    static const char *const memfd[] = {"memfd_touch", NULL};
    static const char *const madv_free[] = {"anon_touch", "anon_madv_free", NULL};
    static const char *const mlock[] = {"mlock_touch", NULL};
    static const char *const swap[] = {"anon_touch", "anon_madv_pageout", NULL};

    (void)state;
    start_kid("heap", heap);
    start_kid("stack", stack);
    start_kid("shared_file", shared_file);
    start_kid("private_file", private_file);
    start_kid("shared_anon", shared_anon);
    start_kid("memfd", memfd);
    start_kid("madv_free", madv_free);
    start_kid("mlock", mlock);
    start_kid("swap", swap);
    for (int i = 0; i < nkids; i++)
        kill(kids[i].pid, SIGSTOP);
    for (int i = 0; i < nkids; i++)
        wait_state(kids[i].pid, 'T');
    zombie = fork();
    assert_true(zombie >= 0);
    if (zombie == 0)
        _exit(0);
    wait_state(zombie, 'Z');
    return 0;
}

static int teardown_kids(void **state)
{
    (void)state;
    for (int i = 0; i < nkids; i++) {
        kill(kids[i].pid, SIGKILL);
        waitpid(kids[i].pid, NULL, 0);
        close(kids[i].to);
        close(kids[i].from);
    }
    if (zombie > 0)
        waitpid(zombie, NULL, 0);
    nkids = 0;
    return 0;
}

struct found {
    mw_proc p[MAX_KIDS + 2];
    int32_t want[MAX_KIDS + 2];
    int n;
};

static int keep(void *ud, const mw_proc *p)
{
    struct found *f = ud;
    for (int i = 0; i < f->n; i++) {
        if (f->want[i] == p->pid) {
            f->p[i] = *p;
            f->p[i].path = f->p[i].cmdline = NULL;
        }
    }
    return 0;
}

static void compare(const char *what, const mw_proc *b, const mw_proc *p)
{
    int64_t tick = 1000000000 / sysconf(_SC_CLK_TCK);

    assert_int_equal(b->pid, p->pid);
    if (strcmp(b->name, p->name) != 0 || strcmp(b->comm, p->comm) != 0)
        fail_msg("%s: name %s/%s, /proc %s/%s", what, b->name, b->comm, p->name, p->comm);
    if (b->state != p->state)
        fail_msg("%s: state %c, /proc %c", what, b->state, p->state);
    assert_int_equal(b->flags, p->flags);
    for (int f = 0; f < MW_F_COUNT; f++) {
        const char *name = mw_field_get((enum mw_field)f)->name;
        if (mw_proc_has(b, (enum mw_field)f) != mw_proc_has(p, (enum mw_field)f))
            fail_msg("%s: %s %s by the BPF sampler, %s by /proc", what, name,
                     mw_proc_has(b, (enum mw_field)f) ? "given" : "not given",
                     mw_proc_has(p, (enum mw_field)f) ? "given" : "not given");
        if (!mw_proc_has(b, (enum mw_field)f))
            continue;
        if (f == MW_F_CPU_TIME) {
            if (llabs(b->v[f] - p->v[f]) > tick)
                fail_msg("%s: cpu_time %lld ns, /proc %lld ns: more than one tick apart", what,
                         (long long)b->v[f], (long long)p->v[f]);
        } else if (b->v[f] != p->v[f]) {
            fail_msg("%s: %s %lld, /proc %lld", what, name, (long long)b->v[f], (long long)p->v[f]);
        }
    }
}

static void test_equal_stopped(void **state)
{
    const unsigned want = MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT;
    mw_ctx *bpf = NULL, *proc = NULL;
    struct found f;
    mw_scan_opts opts;
    int compared = 0;

    (void)state;
    memset(&f, 0, sizeof f);
    for (int i = 0; i < nkids; i++)
        f.want[f.n++] = kids[i].pid;
    f.want[f.n++] = zombie;
    f.want[f.n++] = 2; /* kthreadd: a kernel thread, no memory */
    assert_int_equal(
        mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf, .max_cached_fds = -1}, &bpf), 0);
    assert_int_equal(
        mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_native, .max_cached_fds = -1}, &proc), 0);
    memset(&opts, 0, sizeof opts);
    opts.want = want;
    opts.uid = -1;
    assert_int_equal(mw_scan(bpf, &opts, keep, &f), 0);
    for (int i = 0; i < f.n; i++) {
        mw_proc p;
        char what[64];
        const char *kind = i < nkids ? kids[i].kind : f.want[i] == zombie ? "zombie" : "kthreadd";
        if (i < nkids && kids[i].skipped) {
            printf("bpf_equal: %s: not on this machine\n", kind);
            continue;
        }
        snprintf(what, sizeof what, "%s (pid %d)", kind, (int)f.want[i]);
        if (f.p[i].pid != f.want[i])
            fail_msg("%s: not in the BPF sampler's pass", what);
        assert_int_equal(mw_proc_read(proc, f.want[i], want, &p), 0);
        if (f.want[i] == 2)
            mw_proc_unset(&p, MW_F_CPU_TIME), mw_proc_unset(&f.p[i], MW_F_CPU_TIME);
        compare(what, &f.p[i], &p);
        printf("bpf_equal: %s: equal (resident %lld, footprint %lld)\n", what,
               (long long)p.v[MW_F_RESIDENT], (long long)p.v[MW_F_FOOTPRINT]);
        mw_proc_release(&p);
        compared++;
    }
    assert_true(compared >= 8);
    mw_ctx_close(bpf);
    mw_ctx_close(proc);
}

/* A mw_scan callback checking one record's numbers against each other. */
static int consistent(void *ud, const mw_proc *p)
{
    int *n = ud;
    (*n)++;
    if (p->pid <= 0)
        fail_msg("pid %d", (int)p->pid);
    if (!mw_proc_has(p, MW_F_RESIDENT))
        return 0;
    if (p->v[MW_F_RESIDENT] != p->v[MW_F_RSS_ANON] + p->v[MW_F_RSS_FILE] + p->v[MW_F_RSS_SHMEM])
        fail_msg("pid %d: resident is not anon + file + shmem", (int)p->pid);
    if (p->v[MW_F_RESIDENT_PEAK] < p->v[MW_F_RESIDENT])
        fail_msg("pid %d: resident_peak below resident", (int)p->pid);
    if (p->v[MW_F_FOOTPRINT] !=
        p->v[MW_F_RSS_ANON] + p->v[MW_F_RSS_SHMEM] + p->v[MW_F_SWAP] + p->v[MW_F_PAGE_TABLE])
        fail_msg("pid %d: footprint is not anon + shmem + swap + page tables", (int)p->pid);
    if (p->v[MW_F_VIRTUAL] < p->v[MW_F_RESIDENT] - p->v[MW_F_RSS_SHMEM])
        fail_msg("pid %d: virtual below resident", (int)p->pid);
    return 0;
}

/* Passes while processes start and exit (churn.c at 400 a second, living
 * 1-30 ms): every record's numbers belong together, nothing crashes. */
static void test_churn_consistent(void **state)
{
    const char *churn = getenv("MW_CHURN");
    mw_ctx *bpf = NULL;
    pid_t cp;
    int status, seen = 0;

    (void)state;
    if (!churn || access(churn, X_OK) != 0)
        fail_msg("MW_CHURN (the churn helper the build makes) is not set or not a program: %s",
                 churn ? churn : "unset");
    cp = fork();
    assert_true(cp >= 0);
    if (cp == 0) {
        char name[] = "churn", rate[] = "400", lo[] = "1", hi[] = "30";
        char *argv[] = {name, rate, lo, hi, NULL};
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        execv(churn, argv);
        _exit(127);
    }
    assert_int_equal(
        mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf, .max_cached_fds = -1}, &bpf), 0);
    for (int pass = 0; pass < 300; pass++) {
        mw_scan_opts opts;
        memset(&opts, 0, sizeof opts);
        opts.want = MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT;
        opts.uid = -1;
        assert_int_equal(mw_scan(bpf, &opts, consistent, &seen), 0);
    }
    kill(cp, SIGTERM);
    waitpid(cp, &status, 0);
    mw_ctx_close(bpf);
    printf("bpf_equal: churn: %d records over 300 passes, each consistent\n", seen);
}

/* ---- a load the kernel refuses --------------------------------------------------- */

static int refuse_load(struct bpf_object *obj)
{
    (void)obj;
    return -EPERM;
}

/* The kernel's BTF missing: its openat fails. */
static int no_btf_openat(int dirfd, const char *path, int flags)
{
    if (strcmp(path, "/sys/kernel/btf/vmlinux") == 0) {
        errno = ENOENT;
        return -1;
    }
    return mw_sys_default.openat(dirfd, path, flags);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *de;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_refused_load(void **state)
{
    mw_sys sys = mw_sys_default;
    mw_ctx *ctx = NULL;
    char why[256] = "";
    int before, rc;

    (void)state;
    sys.bpf_object_load = refuse_load;
    before = open_fds();
    for (int i = 0; i < 3; i++) {
        rc = mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf,
                                       .sys = &sys,
                                       .max_cached_fds = -1,
                                       .why = why,
                                       .whylen = sizeof why},
                         &ctx);
        assert_int_equal(rc, -EPERM);
        assert_null(ctx);
    }
    assert_string_equal(why, "the kernel refused the BPF program: Operation not permitted");
    assert_int_equal(open_fds(), before);
    sys = mw_sys_default;
    sys.openat = no_btf_openat;
    rc = mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf,
                                   .sys = &sys,
                                   .max_cached_fds = -1,
                                   .why = why,
                                   .whylen = sizeof why},
                     &ctx);
    assert_int_equal(rc, -ENOENT);
    assert_string_equal(why, "no kernel BTF (/sys/kernel/btf/vmlinux: No such file or directory)");
    assert_int_equal(open_fds(), before);
    /* The /proc sampler opens as before. */
    assert_int_equal(
        mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_native, .max_cached_fds = -1}, &ctx), 0);
    mw_ctx_close(ctx);
    assert_int_equal(open_fds(), before);
}

/* ---- which program, and what a pass is given -------------------------------------- */

/* Does the running kernel have the open-coded task iterator the walker
 * needs? Its BTF names every kfunc: look for the name's bytes. */
static int kernel_has_walker(void)
{
    static const char name[] = "bpf_iter_task_new";
    FILE *f = fopen("/sys/kernel/btf/vmlinux", "rb");
    size_t have = 0, n;
    char *buf = NULL;
    int yes = 0;

    assert_non_null(f);
    for (;;) {
        char *more = realloc(buf, have + 65536);
        assert_non_null(more);
        buf = more;
        n = fread(buf + have, 1, 65536, f);
        have += n;
        if (n == 0)
            break;
    }
    fclose(f);
    for (size_t i = 0; i + sizeof name <= have && !yes; i++)
        yes = memcmp(buf + i, name, sizeof name) == 0; /* with its NUL */
    free(buf);
    return yes;
}

/* The program this run should load: the one asked for, else the walker
 * where the kernel has it. */
static int walker_expected(void)
{
    const char *asked = getenv("MEMWATCH_BPF_PROGRAM");

    if (asked && strcmp(asked, "iterator") == 0)
        return 0;
    if (asked && strcmp(asked, "walker") == 0)
        return 1;
    return kernel_has_walker();
}

static void test_program(void **state)
{
    mw_bpf_loader *l = NULL;
    char why[256] = "";
    int walker = walker_expected();

    (void)state;
    assert_int_equal(mw_bpf_load(&mw_sys_default, &l, why, sizeof why), 0);
    assert_int_equal(mw_bpf_is_walker(l), walker);
    assert_non_null(strstr(mw_bpf_counters(l), walker ? "; task walker" : "; task iterator"));
    printf("bpf_equal: program: %s\n", mw_bpf_counters(l));
    mw_bpf_unload(l);
}

/* Children called `comm` (prctl), each paused; the second with a thread of
 * another name. */
#define FILTER_KIDS 3
static pid_t fkids[FILTER_KIDS];
static char fcomm[16];

static void *idle_thread(void *arg)
{
    (void)arg;
    prctl(PR_SET_NAME, "not-the-leader", 0, 0, 0);
    for (;;)
        pause();
    return NULL;
}

static int setup_filter_kids(void **state)
{
    int up[2];
    char c;

    (void)state;
    snprintf(fcomm, sizeof fcomm, "mwfilt%d", (int)getpid());
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    for (int i = 0; i < FILTER_KIDS; i++) {
        fkids[i] = fork();
        assert_true(fkids[i] >= 0);
        if (fkids[i] == 0) {
            pthread_t th;
            prctl(PR_SET_NAME, fcomm, 0, 0, 0);
            if (i == 1 && pthread_create(&th, NULL, idle_thread, NULL) != 0)
                _exit(1);
            if (write(up[1], "r", 1) != 1)
                _exit(1);
            for (;;)
                pause();
        }
    }
    close(up[1]);
    for (int i = 0; i < FILTER_KIDS; i++)
        assert_int_equal(read(up[0], &c, 1), 1);
    close(up[0]);
    /* The thread has renamed itself once its leader has written: wait for
     * it to show two threads. */
    for (int i = 0; i < 500; i++) {
        char path[64], buf[4096];
        int fd;
        ssize_t n;
        struct timespec ts = {0, 10 * 1000 * 1000};
        snprintf(path, sizeof path, "/proc/%d/status", (int)fkids[1]);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        if (strstr(buf, "\nThreads:\t2\n"))
            break;
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int teardown_filter_kids(void **state)
{
    (void)state;
    for (int i = 0; i < FILTER_KIDS; i++) {
        kill(fkids[i], SIGKILL);
        waitpid(fkids[i], NULL, 0);
    }
    return 0;
}

static int is_fkid(int32_t pid)
{
    for (int i = 0; i < FILTER_KIDS; i++)
        if (fkids[i] == pid)
            return 1;
    return 0;
}

static int count_fkids(void *ud, const mw_proc *p)
{
    if (!is_fkid(p->pid))
        fail_msg("pid %d (%s) visited by a scan for %s", (int)p->pid, p->name, fcomm);
    ++*(int *)ud;
    return 0;
}

static void test_filtered_pass(void **state)
{
    mw_bpf_loader *l = NULL;
    mw_bpf_filter f;
    const struct mw_bpf_rec *r;
    const void *recs;
    size_t len;
    int procs = 0, threads = 0, visited = 0;
    char why[256] = "";
    mw_ctx *ctx = NULL;
    mw_scan_opts opts;

    (void)state;
    assert_int_equal(mw_bpf_load(&mw_sys_default, &l, why, sizeof why), 0);
    /* comm: the children, and the thread of one of them (named otherwise) */
    memset(&f, 0, sizeof f);
    f.flags = MW_BPF_WANT_COMM;
    memcpy(f.comm, fcomm, strlen(fcomm));
    assert_int_equal(mw_bpf_pass(l, &f, &recs, &len), 0);
    assert_int_equal(len % sizeof *r, 0);
    r = recs;
    for (size_t i = 0; i < len / sizeof *r; i++) {
        if (!is_fkid(r[i].pid))
            fail_msg("pid %d (%.16s) in a pass for %s", (int)r[i].pid, r[i].comm, fcomm);
        if (r[i].kind == MW_BPF_PROC) {
            assert_string_equal(r[i].comm, fcomm);
            procs++;
        } else {
            assert_int_equal(r[i].pid, fkids[1]);
            threads++;
        }
    }
    assert_int_equal(procs, FILTER_KIDS);
    assert_int_equal(threads, 1);
    /* uid: ours, then one nobody here has */
    memset(&f, 0, sizeof f);
    f.flags = MW_BPF_WANT_UID;
    f.uid = (uint32_t)geteuid();
    assert_int_equal(mw_bpf_pass(l, &f, &recs, &len), 0);
    r = recs;
    procs = 0;
    for (size_t i = 0; i < len / sizeof *r; i++) {
        if (r[i].kind == MW_BPF_PROC && r[i].euid != f.uid)
            fail_msg("pid %d of uid %u in a pass for uid %u", (int)r[i].pid, r[i].euid, f.uid);
        procs += r[i].kind == MW_BPF_PROC && is_fkid(r[i].pid);
    }
    assert_int_equal(procs, FILTER_KIDS);
    f.uid = 4242424u;
    assert_int_equal(mw_bpf_pass(l, &f, &recs, &len), 0);
    assert_int_equal(len, 0);
    mw_bpf_unload(l);
    /* Through a scan: the name filter reaches the program, and the scan
     * visits the children only. */
    assert_int_equal(
        mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_bpf, .max_cached_fds = -1}, &ctx), 0);
    memset(&opts, 0, sizeof opts);
    opts.want = MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT;
    opts.uid = -1;
    opts.name = fcomm;
    assert_int_equal(mw_scan(ctx, &opts, count_fkids, &visited), 0);
    assert_int_equal(visited, FILTER_KIDS);
    mw_ctx_close(ctx);
}

/* A walker made with room for 16 records grows, and its pass has them all:
 * ourselves, kthreadd, and as many processes as a default one sees. */
static void test_walker_grows(void **state)
{
    mw_bpf_loader *small = NULL;
    const struct mw_bpf_rec *r;
    const void *recs;
    size_t len;
    char why[256] = "";
    int procs = 0, me = 0, kthreadd = 0;

    (void)state;
    assert_int_equal(mw_bpf_load_sized(&mw_sys_default, 16, &small, why, sizeof why), 0);
    assert_true(mw_bpf_is_walker(small));
    assert_int_equal(mw_bpf_pass(small, NULL, &recs, &len), 0);
    r = recs;
    for (size_t i = 0; i < len / sizeof *r; i++) {
        procs += r[i].kind == MW_BPF_PROC;
        me |= r[i].kind == MW_BPF_PROC && r[i].pid == getpid();
        kthreadd |= r[i].kind == MW_BPF_PROC && r[i].pid == 2;
    }
    assert_true(procs > 16);
    assert_true(me);
    assert_true(kthreadd);
    printf("bpf_equal: a walker made for 16 records returned %d processes\n", procs);
    mw_bpf_unload(small);
}

/* The second load (the bigger walker) refused: the pass still has every
 * task, through the task iterator from then on. */
static int loads;
static int refuse_second_load(struct bpf_object *obj)
{
    (void)obj;
    return ++loads == 2 ? -EPERM : 0;
}

/* The walker refused (a kernel without the open-coded task iterator): the
 * task iterator is loaded instead. */
static int refuse_first_load(struct bpf_object *obj)
{
    (void)obj;
    return ++loads == 1 ? -ENOENT : 0;
}

static void test_walker_refused(void **state)
{
    mw_sys sys = mw_sys_default;
    mw_bpf_loader *l = NULL;
    const void *recs;
    size_t len;
    char why[256] = "";

    (void)state;
    loads = 0;
    sys.bpf_object_load = refuse_first_load;
    assert_int_equal(mw_bpf_load(&sys, &l, why, sizeof why), 0);
    assert_int_equal(loads, 2);
    assert_false(mw_bpf_is_walker(l));
    assert_non_null(strstr(mw_bpf_counters(l), "; task iterator"));
    assert_int_equal(mw_bpf_pass(l, NULL, &recs, &len), 0);
    assert_true(len / sizeof(struct mw_bpf_rec) > 16);
    mw_bpf_unload(l);
}

static void test_walker_falls_back(void **state)
{
    mw_sys sys = mw_sys_default;
    mw_bpf_loader *small = NULL;
    const struct mw_bpf_rec *r;
    const void *recs;
    size_t len;
    char why[256] = "";
    int procs = 0;

    (void)state;
    loads = 0;
    sys.bpf_object_load = refuse_second_load;
    assert_int_equal(mw_bpf_load_sized(&sys, 16, &small, why, sizeof why), 0);
    assert_true(mw_bpf_is_walker(small));
    assert_int_equal(mw_bpf_pass(small, NULL, &recs, &len), 0);
    assert_int_equal(loads, 3); /* the walker, the bigger one refused, the iterator */
    assert_false(mw_bpf_is_walker(small));
    assert_non_null(strstr(mw_bpf_counters(small), "; task iterator"));
    r = recs;
    for (size_t i = 0; i < len / sizeof *r; i++)
        procs += r[i].kind == MW_BPF_PROC;
    assert_true(procs > 16);
    assert_int_equal(mw_bpf_pass(small, NULL, &recs, &len), 0);
    assert_true(len / sizeof *r > 16);
    mw_bpf_unload(small);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_equal_stopped, setup_kids, teardown_kids),
        cmocka_unit_test(test_churn_consistent),
        cmocka_unit_test(test_refused_load),
        cmocka_unit_test(test_program),
        cmocka_unit_test_setup_teardown(test_filtered_pass, setup_filter_kids,
                                        teardown_filter_kids),
        /* the walker's runs only: last */
        cmocka_unit_test(test_walker_grows),
        cmocka_unit_test(test_walker_falls_back),
        cmocka_unit_test(test_walker_refused),
    };
    size_t n = sizeof tests / sizeof tests[0];

    if (!bpf_usable()) {
        printf("SKIP: the BPF sampler cannot load here: %s\n", skip_why);
        return 77;
    }
    if (!walker_expected())
        n -= 3; /* the task iterator has no array to grow */
    return _cmocka_run_group_tests("bpf_equal", tests, n, NULL, NULL);
}
