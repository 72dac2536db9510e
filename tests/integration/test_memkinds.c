/*
 * Integration test: a child process makes each kind of memory of the
 * article's table, one step at a time (memkinds_child.c), and the test reads
 * the child through the public API (mw_proc_read, status + smaps_rollup)
 * before and after every step. The expected deltas follow from the status
 * counter each kind of page lands in (RssAnon, RssFile, RssShmem: mm_counter()
 * in the kernel's include/linux/mm.h, task_mem() in fs/proc/task_mmu.c), and
 * footprint = RssAnon + RssShmem + VmSwap + VmPTE.
 *
 * Every step's observed deltas are printed as a "memkinds:" line (run ctest
 * with -V to see them), so the table in the README can be regenerated.
 *
 * Usage: test_memkinds [ROW]: every row, or the one test named ROW (a cmocka
 * filter such as test_swap; ctest runs each row as a test of its own). A row
 * this machine cannot make (no swap area, a low RLIMIT_MEMLOCK, ...) is
 * skipped with the reason, and the run then exits 77, ctest's SKIP_RETURN_CODE,
 * instead of passing.
 *
 * Environment: MW_MEMKINDS_CHILD, the child program;
 * MW_MEMKINDS_DIRS, colon-separated candidate directories for the file behind
 * the file mappings (default /var/tmp, then $MW_BUILD_DIR, then /tmp; the
 * child takes the first that is not tmpfs/ramfs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "child_step.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

#define KIB INT64_C(1024)
#define MIB (KIB * 1024)
/* Sizes made by the child (memkinds_child.c KIND_SIZE and STACK_SIZE). */
#define N (64 * MIB)
#define S (4 * MIB)

/*
 * Tolerances. The expected values are for the N (or S) bytes the step makes;
 * around them the child's counters move by a little more:
 *  - page tables: VmPTE is a term of footprint, and mapping 64 MiB of 4 KiB
 *    pages costs 128 KiB of PTEs. Every check adds |delta VmPTE| to its
 *    tolerance, as xnu's tests/vm_phys_footprint.c does for phys_footprint;
 *  - the child's incidental memory during a step: code and libc pages it
 *    runs for the first time (RssFile), the 64 KiB buffer that writes the
 *    temporary file, a new thread's descriptor and TLS, pages mapped by
 *    fault-around. Observed here: at most about 200 KiB (RssFile +192 KiB
 *    when the stack thread exits and runs libc code for the first time);
 *  - counter slack: kernels before 6.2 kept per-thread RSS counters synced
 *    every 64 faults (up to 256 KiB per thread off), and until about 6.16
 *    status read the per-CPU counters without summing them (off by up to
 *    the batch, 32+ pages, on each CPU the child ran on); MADV_FREE marks pages
 *    lazy through a per-CPU batch of up to 15 pages not yet drained when
 *    the call returns (observed: LazyFree 65472 of 65536 kB).
 * So 2 MiB for the 64 MiB rows (3%: a missing or doubled N is far outside)
 * and 512 KiB for the 4 MiB stack rows (1/8 of S, for the same reason).
 */
#define TOL_N (2 * MIB)
#define TOL_S (512 * KIB)

/* An expectation that is not checked. */
#define ANY INT64_MIN

/*
 * What one step should do to the child's counters, in bytes. A counter left
 * out is expected not to move (0 within the tolerance): that is part of what
 * each row says (a file read adds nothing to RssAnon, and so on).
 */
typedef struct expect {
    const char *step; /* the command for the child */
    int64_t footprint, resident, anon, file, shmem, lazy_free, locked;
    int64_t tol; /* 0: TOL_N */
} expect;

typedef struct memkinds {
    pid_t pid;
    int to_child, from_child;
    mw_ctx *ctx;
} memkinds;

static const char *child_path;
/* Rows skipped: cmocka counts them neither failed nor apart from passed. */
static int rows_skipped;

/* ---- the child ------------------------------------------------------------ */

/* The candidate directories for the child's temporary file, into buf. */
static void file_dirs(char *buf, size_t len)
{
    const char *env = getenv("MW_MEMKINDS_DIRS");
    const char *build = getenv("MW_BUILD_DIR");

    if (env && *env)
        snprintf(buf, len, "%s", env);
    else
        snprintf(buf, len, "/var/tmp%s%s:/tmp", build ? ":" : "", build ? build : "");
}

/* Send a step and wait (at most 30 s) for the child's one-line answer. */
static void command(memkinds *mk, const char *step, char *reply, size_t len)
{
    child_step(mk->to_child, mk->from_child, step, reply, len);
}

static int setup_child(void **state)
{
    memkinds *mk = calloc(1, sizeof *mk);
    int down[2], up[2];
    char dirs[4096], reply[512];
    int rc;

    assert_non_null(mk);
    if (!child_path)
        fail_msg("set MW_MEMKINDS_CHILD (or argv[1]) to the memkinds_child program");
    file_dirs(dirs, sizeof dirs);
    assert_int_equal(pipe2(down, O_CLOEXEC), 0);
    assert_int_equal(pipe2(up, O_CLOEXEC), 0);
    mk->pid = fork();
    assert_true(mk->pid >= 0);
    if (mk->pid == 0) {
        char name[] = "memkinds_child";
        char *argv[3];
        argv[0] = name;
        argv[1] = dirs;
        argv[2] = NULL;
        if (dup2(down[0], STDIN_FILENO) < 0 || dup2(up[1], STDOUT_FILENO) < 0)
            _exit(126);
        execv(child_path, argv);
        fprintf(stderr, "exec %s: %s\n", child_path, strerror(errno));
        _exit(127);
    }
    close(down[0]);
    close(up[1]);
    mk->to_child = down[1];
    mk->from_child = up[0];
    rc = mw_ctx_open(&(mw_ctx_cfg){.backend = &mw_backend_native, .max_cached_fds = -1}, &mk->ctx);
    if (rc != 0)
        fail_msg("mw_ctx_open: %s", mw_strerror(rc));
    *state = mk;
    /* Until the child answers, /proc shows the forked copy of this process
     * (or exec half done), not the child program. */
    command(mk, "ping", reply, sizeof reply);
    if (strcmp(reply, "ok") != 0)
        fail_msg("the child did not start: %s", reply);
    return 0;
}

static int teardown_child(void **state)
{
    memkinds *mk = *state;
    int status = 0, i;
    pid_t got = 0;

    if (!mk)
        return 0;
    /* "quit"; closing the pipe is an end of input the child also obeys. */
    if (write(mk->to_child, "quit\n", 5) != 5) {
        /* the child is gone already; waitpid below reaps it */
    }
    close(mk->to_child);
    close(mk->from_child);
    for (i = 0; i < 500 && got == 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        got = waitpid(mk->pid, &status, WNOHANG);
        if (got == 0)
            nanosleep(&ts, NULL);
    }
    if (got == 0) {
        kill(mk->pid, SIGKILL);
        waitpid(mk->pid, &status, 0);
    }
    mw_ctx_close(mk->ctx);
    free(mk);
    *state = NULL;
    return 0;
}

static void read_child(memkinds *mk, mw_proc *p)
{
    int rc = mw_proc_read(mk->ctx, (int32_t)mk->pid, MW_SRC_STATUS | MW_SRC_SMAPS, p);

    if (rc != 0)
        fail_msg("mw_proc_read(%d): %s (%s)", (int)mk->pid, mw_strerror(rc),
                 mw_ctx_errmsg(mk->ctx));
}

/* Run a step, with its before and after samples. A "skip" answer skips the
 * test with the child's reason; "err" fails it. */
static void sample_step(memkinds *mk, const char *step, mw_proc *before, mw_proc *after)
{
    char reply[512];

    read_child(mk, before);
    command(mk, step, reply, sizeof reply);
    if (strncmp(reply, "skip", 4) == 0) {
        print_message("memkinds: %s skipped: %s\n", step, reply + 4 + (reply[4] == ' '));
        mw_proc_release(before);
        rows_skipped++;
        skip();
    }
    if (strncmp(reply, "ok", 2) != 0) {
        mw_proc_release(before);
        fail_msg("%s: the child says: %s", step, reply);
    }
    if (reply[2] == ' ')
        print_message("memkinds: %s: %s\n", step, reply + 3);
    read_child(mk, after);
}

/* ---- checking ------------------------------------------------------------- */

static int64_t delta(const mw_proc *before, const mw_proc *after, enum mw_field f)
{
    if (!mw_proc_has(before, f) || !mw_proc_has(after, f))
        fail_msg("field %s missing from a sample of the child", mw_field_get(f)->name);
    return after->v[f] - before->v[f];
}

static int64_t abs64(int64_t v)
{
    return v < 0 ? -v : v;
}

/* One counter against its expectation; prints and counts a miss. */
static void check(const char *step, const char *what, int64_t got, int64_t want, int64_t tol,
                  int *misses)
{
    if (want == ANY || abs64(got - want) <= tol)
        return;
    print_error("%s: %s moved by %+" PRId64 " kB, expected %+" PRId64 " kB +/- %" PRId64 " kB\n",
                step, what, got / KIB, want / KIB, tol / KIB);
    (*misses)++;
}

/* Run one step and check it against its expected row; the observed
 * deltas go to deltas[MW_F_COUNT] when it is not NULL. */
static void step(memkinds *mk, const expect *e, int64_t *deltas)
{
    mw_proc b, a;
    int64_t tol, pte, d[MW_F_COUNT] = {0};
    int misses = 0;

    sample_step(mk, e->step, &b, &a);
    /* The smaps_rollup part: a same-uid child must never be denied. */
    assert_int_equal(a.denied, 0);
    assert_true(a.read & MW_SRC_SMAPS);
    pte = d[MW_F_PAGE_TABLE] = delta(&b, &a, MW_F_PAGE_TABLE);
    tol = (e->tol ? e->tol : TOL_N) + abs64(pte);
    d[MW_F_FOOTPRINT] = delta(&b, &a, MW_F_FOOTPRINT);
    d[MW_F_RESIDENT] = delta(&b, &a, MW_F_RESIDENT);
    d[MW_F_RSS_ANON] = delta(&b, &a, MW_F_RSS_ANON);
    d[MW_F_RSS_FILE] = delta(&b, &a, MW_F_RSS_FILE);
    d[MW_F_RSS_SHMEM] = delta(&b, &a, MW_F_RSS_SHMEM);
    d[MW_F_LAZY_FREE] = delta(&b, &a, MW_F_LAZY_FREE);
    d[MW_F_LOCKED] = delta(&b, &a, MW_F_LOCKED);
    d[MW_F_SWAP] = delta(&b, &a, MW_F_SWAP);
    d[MW_F_USS] = delta(&b, &a, MW_F_USS);
    d[MW_F_PSS] = delta(&b, &a, MW_F_PSS);
    print_message("memkinds: %-20s footprint %+7" PRId64 " kB (expected %+7" PRId64
                  ")  resident %+7" PRId64 " kB (expected %+7" PRId64 ")  anon %+" PRId64
                  " file %+" PRId64 " shmem %+" PRId64 " lazy_free %+" PRId64 " locked %+" PRId64
                  " pte %+" PRId64 " uss %+" PRId64 " pss %+" PRId64 "\n",
                  e->step, d[MW_F_FOOTPRINT] / KIB, e->footprint / KIB, d[MW_F_RESIDENT] / KIB,
                  e->resident / KIB, d[MW_F_RSS_ANON] / KIB, d[MW_F_RSS_FILE] / KIB,
                  d[MW_F_RSS_SHMEM] / KIB, d[MW_F_LAZY_FREE] / KIB, d[MW_F_LOCKED] / KIB, pte / KIB,
                  d[MW_F_USS] / KIB, d[MW_F_PSS] / KIB);

    check(e->step, "footprint", d[MW_F_FOOTPRINT], e->footprint, tol, &misses);
    check(e->step, "resident", d[MW_F_RESIDENT], e->resident, tol, &misses);
    check(e->step, "rss_anon", d[MW_F_RSS_ANON], e->anon, tol, &misses);
    check(e->step, "rss_file", d[MW_F_RSS_FILE], e->file, tol, &misses);
    check(e->step, "rss_shmem", d[MW_F_RSS_SHMEM], e->shmem, tol, &misses);
    check(e->step, "lazy_free", d[MW_F_LAZY_FREE], e->lazy_free, tol, &misses);
    check(e->step, "locked", d[MW_F_LOCKED], e->locked, tol, &misses);
    /* No swap moves outside the swap test (and there is none without swap). */
    check(e->step, "swap", d[MW_F_SWAP], 0, tol, &misses);
    /* The child is the only process that maps anything it makes, so every
     * page it adds or drops is private to it: uss and pss move with resident
     * (shared library pages it touches for the first time are within tol). */
    check(e->step, "uss", d[MW_F_USS], d[MW_F_RESIDENT], tol, &misses);
    check(e->step, "pss", d[MW_F_PSS], d[MW_F_RESIDENT], tol, &misses);
    /* The formula itself, RssAnon + RssShmem + VmSwap + VmPTE, on the after sample. */
    assert_int_equal(a.v[MW_F_FOOTPRINT], a.v[MW_F_RSS_ANON] + a.v[MW_F_RSS_SHMEM] +
                                              a.v[MW_F_SWAP] + a.v[MW_F_PAGE_TABLE]);
    mw_proc_release(&b);
    mw_proc_release(&a);
    if (deltas)
        memcpy(deltas, d, sizeof d);
    if (misses)
        fail_msg("%s: %d counter(s) off the expected deltas", e->step, misses);
}

static void steps(void **state, const expect *rows, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        step(*state, &rows[i], NULL);
}

#define STEPS(state, rows) steps(state, rows, sizeof rows / sizeof rows[0])

/* ---- the rows: one kind of memory each ---------------------------------------- */

/* heap: malloc(N) + touch is +N everywhere; glibc munmaps it on free. */
static void test_heap(void **state)
{
    static const expect rows[] = {
        {.step = "heap_alloc", .footprint = N, .resident = N, .anon = N},
        {.step = "heap_free", .footprint = -N, .resident = -N, .anon = -N},
    };
    STEPS(state, rows);
}

/* stack: 4 MiB of alloca in a thread with an 8 MiB stack. The pages stay
 * resident after the function returns (the thread is still alive); glibc
 * hands them back with MADV_DONTNEED when the thread exits. */
static void test_stack(void **state)
{
    static const expect rows[] = {
        {.step = "stack_grow", .footprint = S, .resident = S, .anon = S, .tol = TOL_S},
        {.step = "stack_return", .tol = TOL_S},
        {.step = "stack_exit", .footprint = -S, .resident = -S, .anon = -S, .tol = TOL_S},
    };
    STEPS(state, rows);
}

/* MAP_SHARED file: resident (RssFile) but never footprint, read or written.
 * Writing the file with write(2) beforehand charges nothing: page cache that
 * is not mapped belongs to no process. */
static void test_shared_file(void **state)
{
    static const expect rows[] = {
        {.step = "file_create"},       {.step = "shared_file_read", .resident = N, .file = N},
        {.step = "shared_file_write"}, {.step = "shared_file_unmap", .resident = -N, .file = -N},
        {.step = "file_close"},
    };
    STEPS(state, rows);
}

/* MAP_PRIVATE file: reading maps the page cache (RssFile, no footprint);
 * writing replaces each file page by a private anonymous copy (COW), so the
 * footprint grows by N while resident stays where it was. */
static void test_private_file(void **state)
{
    static const expect rows[] = {
        {.step = "file_create"},
        {.step = "private_file_read", .resident = N, .file = N},
        {.step = "private_file_write", .footprint = N, .anon = N, .file = -N},
        {.step = "private_file_unmap", .footprint = -N, .resident = -N, .anon = -N},
        {.step = "file_close"},
    };
    STEPS(state, rows);
}

/* Shared anonymous memory is shmem: RssShmem, in the footprint. */
static void test_shared_anon(void **state)
{
    static const expect rows[] = {
        {.step = "shared_anon_touch", .footprint = N, .resident = N, .shmem = N},
        {.step = "shared_anon_unmap", .footprint = -N, .resident = -N, .shmem = -N},
    };
    STEPS(state, rows);
}

/* memfd: like shared anonymous memory while mapped. After munmap the pages
 * still exist in the open memfd but are charged to nobody's footprint (only
 * to the cgroup's shmem counter, Documentation/admin-guide/cgroup-v2.rst
 * memory.stat), and closing it changes nothing more. */
static void test_memfd(void **state)
{
    static const expect rows[] = {
        {.step = "memfd_touch", .footprint = N, .resident = N, .shmem = N},
        {.step = "memfd_unmap", .footprint = -N, .resident = -N, .shmem = -N},
        {.step = "memfd_close"},
    };
    STEPS(state, rows);
}

/*
 * MADV_FREE ("reclaimed" memory, purgeable volatile): without memory pressure
 * the pages stay resident and in RssAnon, so footprint does not move;
 * smaps_rollup LazyFree rises by N. Re-dirtying half takes that half out of
 * LazyFree again; MADV_DONTNEED then drops everything at once.
 */
static void test_madv_free(void **state)
{
    static const expect touch = {.step = "anon_touch", .footprint = N, .resident = N, .anon = N};
    static const expect lazy = {.step = "anon_madv_free", .lazy_free = N};
    static const expect rest[] = {
        {.step = "anon_redirty_half", .lazy_free = -N / 2},
        {.step = "anon_madv_dontneed",
         .footprint = -N,
         .resident = -N,
         .anon = -N,
         .lazy_free = -N / 2},
        {.step = "anon_unmap"},
    };
    int64_t d[MW_F_COUNT], precise;

    step(*state, &touch, NULL);
    step(*state, &lazy, d);
    /* footprint minus lazy_free drops by N, as macOS's footprint does for
     * reusable pages (vm_map_reusable_pages, xnu osfmk/vm/vm_map.c). */
    precise = d[MW_F_FOOTPRINT] - d[MW_F_LAZY_FREE];
    print_message("memkinds: %-20s footprint - lazy_free %+" PRId64 " kB (expected %+" PRId64 ")\n",
                  lazy.step, precise / KIB, -N / KIB);
    assert_true(abs64(precise + N) <= TOL_N + abs64(d[MW_F_PAGE_TABLE]));
    STEPS(state, rest);
}

/* mlock: ordinary anonymous memory that is also VmLck. */
static void test_mlock(void **state)
{
    static const expect rows[] = {
        {.step = "mlock_touch", .footprint = N, .resident = N, .anon = N, .locked = N},
        {.step = "mlock_unmap", .footprint = -N, .resident = -N, .anon = -N, .locked = -N},
    };
    STEPS(state, rows);
}

/* The number of swap areas in /proc/swaps (its first line is a header). */
static int swap_areas(void)
{
    FILE *f = fopen("/proc/swaps", "r");
    char line[512];
    int n = -1;

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    return n < 0 ? 0 : n;
}

/*
 * Swapped anon: MADV_PAGEOUT moves k of the N touched pages to swap. They
 * leave resident and RssAnon and enter VmSwap; footprint, which counts
 * VmSwap, does not move. k depends on the kernel's reclaim, so only k > 0 is
 * asked, and the other counters are checked against the observed k.
 */
static void test_swap(void **state)
{
    static const expect touch = {.step = "anon_touch", .footprint = N, .resident = N, .anon = N};
    memkinds *mk = *state;
    mw_proc b, a;
    int64_t k, tol;

    if (swap_areas() == 0) {
        print_message("memkinds: swapped anon skipped: /proc/swaps lists no swap area, so "
                      "no page can move to VmSwap on this machine\n");
        rows_skipped++;
        skip();
    }
    step(mk, &touch, NULL);
    sample_step(mk, "anon_madv_pageout", &b, &a);
    k = delta(&b, &a, MW_F_SWAP);
    tol = TOL_N + abs64(delta(&b, &a, MW_F_PAGE_TABLE));
    print_message("memkinds: %-20s footprint %+7" PRId64 " kB (expected +0)  resident %+7" PRId64
                  " kB (expected %+" PRId64 ")  anon %+" PRId64 " swap %+" PRId64 "\n",
                  "anon_madv_pageout", delta(&b, &a, MW_F_FOOTPRINT) / KIB,
                  delta(&b, &a, MW_F_RESIDENT) / KIB, -k / KIB, delta(&b, &a, MW_F_RSS_ANON) / KIB,
                  k / KIB);
    assert_true(k > 0);
    assert_true(abs64(delta(&b, &a, MW_F_FOOTPRINT)) <= tol);
    assert_true(abs64(delta(&b, &a, MW_F_RESIDENT) + k) <= tol);
    assert_true(abs64(delta(&b, &a, MW_F_RSS_ANON) + k) <= tol);
    mw_proc_release(&b);
    mw_proc_release(&a);
    sample_step(mk, "anon_unmap", &b, &a);
    assert_true(abs64(delta(&b, &a, MW_F_FOOTPRINT) + N) <= tol);
    assert_true(abs64(delta(&b, &a, MW_F_SWAP) + k) <= tol);
    mw_proc_release(&b);
    mw_proc_release(&a);
}

/* smaps_rollup of a same-uid child: every field is there and consistent. */
static void test_smaps_fields(void **state)
{
    memkinds *mk = *state;
    mw_proc p;

    read_child(mk, &p);
    assert_int_equal(p.denied, 0);
    assert_true(p.read & MW_SRC_STATUS);
    assert_true(p.read & MW_SRC_SMAPS);
    assert_true(mw_proc_has(&p, MW_F_UID));
    assert_int_equal(p.v[MW_F_UID], (int64_t)geteuid());
    assert_true(mw_proc_has(&p, MW_F_PSS));
    assert_true(mw_proc_has(&p, MW_F_USS));
    assert_true(mw_proc_has(&p, MW_F_LAZY_FREE));
    assert_true(mw_proc_has(&p, MW_F_SWAP_PSS));
    assert_true(p.v[MW_F_PSS] > 0);
    assert_true(p.v[MW_F_USS] > 0);
    assert_true(p.v[MW_F_USS] <= p.v[MW_F_PSS]);
    /* pss is at most Rss (smaps_rollup), which VmRSS matches up to the
     * counter slack. */
    assert_true(p.v[MW_F_PSS] <= p.v[MW_F_RESIDENT] + TOL_N);
    assert_int_equal(p.v[MW_F_LAZY_FREE], 0);
    mw_proc_release(&p);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_smaps_fields, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_heap, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_stack, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_shared_file, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_private_file, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_shared_anon, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_memfd, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_madv_free, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_mlock, setup_child, teardown_child),
        cmocka_unit_test_setup_teardown(test_swap, setup_child, teardown_child),
    };

    int failed;

    child_path = getenv("MW_MEMKINDS_CHILD");
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    /* A child that dies must fail a test, not kill the runner on write(). */
    signal(SIGPIPE, SIG_IGN);
    failed = cmocka_run_group_tests_name("memkinds", tests, NULL, NULL);
    if (failed != 0)
        return failed;
    return rows_skipped != 0 ? 77 : 0;
}
