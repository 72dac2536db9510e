/*
 * Allocation failure in the core and the Linux backend (memwatch/alloc.h):
 * for N = 1, 2, 3, ... the Nth allocation fails (once, then from there on)
 * while a context is opened over the basic fixture tree and used for a full
 * scan of every source, a scan of chosen pids, a process read, three ledgers,
 * the system, an app key and a user name. Every call either works, or fails
 * with -ENOMEM and says so through mw_ctx_errmsg; what works is the
 * allocation-free answer or less of it; and once the context is closed and the
 * records released, no block is left (a counting allocator wraps libc; LSan
 * checks the rest at exit).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

#define BASIC MW_FIXTURES_DIR "/linux/basic"

/* ---- a counting allocator over libc ----------------------------------------------- */

static long live_blocks;
static long total_allocs;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    if (p) {
        live_blocks++;
        total_allocs++;
    }
    return p;
}

static void *count_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p) {
        live_blocks++;
        total_allocs++;
    }
    return p;
}

static void *count_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (p) {
        total_allocs++;
        if (!old)
            live_blocks++;
    }
    return p;
}

static void count_free(void *p)
{
    if (p)
        live_blocks--;
    free(p);
}

static const mw_allocator counting = {
    .malloc = count_malloc,
    .calloc = count_calloc,
    .realloc = count_realloc,
    .free = count_free,
};

/* ---- the workload ---------------------------------------------------------------------- */

typedef struct result {
    int open_rc;
    int scan_all_rc, scan_pids_rc;
    int visits_all, visits_pids;
    int read_rc;
    int64_t read_footprint;
    int has_cmdline, has_path;
    int ledger_rc[3];
    size_t ledger_rows[3];
    int sys_rc;
    int64_t total;
    int app_rc;
    int enomem; /* calls that returned -ENOMEM */
    int calls;  /* calls that failed at all */
} result;

static int count_visit(void *ud, const mw_proc *p)
{
    (void)p;
    (*(int *)ud)++;
    return 0;
}

/* A failed call must be -ENOMEM and named so in the error text. */
static void failed(mw_ctx *ctx, result *r, int rc, int has_errmsg)
{
    r->calls++;
    if (rc != -ENOMEM)
        fail_msg("a call failed with %d (%s), not -ENOMEM", rc, mw_strerror(rc));
    r->enomem++;
    if (has_errmsg && !strstr(mw_ctx_errmsg(ctx), mw_strerror(-ENOMEM)))
        fail_msg("-ENOMEM but mw_ctx_errmsg says \"%s\"", mw_ctx_errmsg(ctx));
}

static void workload(result *r)
{
    static const int32_t pids[] = {100, 2, 700, 12345};
    static const int32_t ledger_pids[] = {100, 600, 2};
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;
    mw_scan_opts opts;
    mw_proc p;
    mw_system sys;
    char app[128];

    memset(r, 0, sizeof *r);
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = BASIC;
    cfg.max_cached_fds = 64;
    r->open_rc = mw_ctx_open(&cfg, &ctx);
    if (r->open_rc < 0) {
        assert_null(ctx);
        failed(NULL, r, r->open_rc, 0);
        return;
    }

    memset(&opts, 0, sizeof opts);
    opts.want = MW_SRC_ALL;
    opts.uid = -1;
    r->scan_all_rc = mw_scan(ctx, &opts, count_visit, &r->visits_all);
    if (r->scan_all_rc < 0)
        failed(ctx, r, r->scan_all_rc, 1);
    opts.pids = pids;
    opts.npids = sizeof pids / sizeof pids[0];
    r->scan_pids_rc = mw_scan(ctx, &opts, count_visit, &r->visits_pids);
    if (r->scan_pids_rc < 0)
        failed(ctx, r, r->scan_pids_rc, 1);

    r->read_rc = mw_proc_read(ctx, 100, MW_SRC_ALL, &p);
    if (r->read_rc < 0) {
        failed(ctx, r, r->read_rc, 1);
    } else {
        r->read_footprint = p.v[MW_F_FOOTPRINT];
        r->has_cmdline = p.cmdline != NULL;
        r->has_path = p.path != NULL;
        mw_proc_release(&p);
    }
    for (int i = 0; i < 3; i++) {
        mw_ledger l;
        r->ledger_rc[i] = mw_ledger_read(ctx, ledger_pids[i], &l);
        if (r->ledger_rc[i] < 0)
            failed(ctx, r, r->ledger_rc[i], 1);
        r->ledger_rows[i] = l.count;
        mw_ledger_release(&l);
    }
    r->sys_rc = mw_system_read(ctx, &sys);
    if (r->sys_rc < 0)
        failed(ctx, r, r->sys_rc, 1);
    r->total = sys.total;
    r->app_rc = mw_app_key(ctx, 100, app, sizeof app);
    /* A user name that could not be stored reads as no name: not an error. */
    (void)mw_user_name(ctx, 0);
    (void)mw_user_name(ctx, 1000);
    mw_ctx_close(ctx);
}

static result base;

static int setup(void **state)
{
    (void)state;
    mw_alloc_set(&counting);
    mw_alloc_set_failure(0, 0);
    live_blocks = total_allocs = 0;
    workload(&base);
    assert_int_equal(base.open_rc, 0);
    assert_int_equal(base.calls, 0);
    assert_int_equal(live_blocks, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mw_alloc_set_failure(0, 0);
    mw_alloc_set(NULL);
    return 0;
}

/* What worked under failure equals the failure-free answer. */
static void within_base(const result *r)
{
    if (r->open_rc < 0)
        return;
    assert_true(r->visits_all <= base.visits_all);
    assert_true(r->visits_pids <= base.visits_pids);
    if (r->scan_all_rc == 0)
        assert_int_equal(r->visits_all, base.visits_all);
    if (r->scan_pids_rc == 0)
        assert_int_equal(r->visits_pids, base.visits_pids);
    if (r->read_rc == 0) {
        assert_int_equal(r->read_footprint, base.read_footprint);
        assert_int_equal(r->has_cmdline, base.has_cmdline);
        assert_int_equal(r->has_path, base.has_path);
    }
    for (int i = 0; i < 3; i++) {
        if (r->ledger_rc[i] == 0)
            assert_int_equal(r->ledger_rows[i], base.ledger_rows[i]);
    }
    if (r->sys_rc == 0)
        assert_int_equal(r->total, base.total);
    assert_int_equal(r->app_rc, base.app_rc); /* app_key allocates nothing */
}

static void sweep(int persistent)
{
    long runs = 0, enomem_runs = 0, absorbed = 0;

    for (long nth = 1;; nth++) {
        result r;
        long hits;

        live_blocks = 0;
        mw_alloc_set_failure(nth, persistent);
        workload(&r);
        hits = mw_alloc_failures();
        mw_alloc_set_failure(0, 0);
        if (live_blocks != 0)
            fail_msg("allocation #%ld failing%s: %ld block(s) leaked", nth,
                     persistent ? " (and after)" : "", live_blocks);
        within_base(&r);
        runs++;
        if (hits == 0) {
            /* The run got through without reaching N: the sweep is done. */
            assert_int_equal(r.calls, 0);
            break;
        }
        if (r.enomem > 0)
            enomem_runs++;
        else
            absorbed++; /* e.g. the descriptor cache could not grow: it just
                         * keeps fewer descriptors */
        assert_true(nth < 100000);
    }
    print_message("%s: %ld runs, %ld reported -ENOMEM, %ld absorbed the failure\n",
                  persistent ? "persistent" : "one-shot", runs, enomem_runs, absorbed);
    /* Most failures must surface: only caches may swallow one. */
    assert_true(enomem_runs > 0);
}

static void test_alloc_fail_once(void **state)
{
    (void)state;
    sweep(0);
}

static void test_alloc_fail_from_n_on(void **state)
{
    (void)state;
    sweep(1);
}

/* The first allocation is the context itself. */
static void test_ctx_open_enomem(void **state)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;
    (void)state;

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = &mw_backend_native;
    cfg.root = BASIC;
    mw_alloc_set_failure(1, 0);
    assert_int_equal(mw_ctx_open(&cfg, &ctx), -ENOMEM);
    assert_null(ctx);
    assert_int_equal(mw_alloc_failures(), 1);
    mw_alloc_set_failure(0, 0);
}

/* strdup/strndup copies, and their failure. */
static void test_grow(void **state)
{
    size_t cap = 0;
    int *a, *b;
    (void)state;

    a = mw_grow(NULL, &cap, 1, sizeof *a, 4);
    assert_non_null(a);
    assert_int_equal(cap, 4);
    a[3] = 7;
    assert_ptr_equal(mw_grow(a, &cap, 4, sizeof *a, 4), a); /* room enough: as it was */
    assert_int_equal(cap, 4);
    a = mw_grow(a, &cap, 9, sizeof *a, 4); /* doubled until it holds 9 */
    assert_non_null(a);
    assert_int_equal(cap, 16);
    assert_int_equal(a[3], 7);
    mw_alloc_set_failure(1, 0);
    assert_null(mw_grow(a, &cap, 17, sizeof *a, 4)); /* out of memory: unchanged */
    assert_int_equal(cap, 16);
    mw_alloc_set_failure(0, 0);
    assert_null(mw_grow(a, &cap, SIZE_MAX / 2, sizeof *a, 4)); /* past SIZE_MAX */
    assert_null(mw_grow(a, &cap, SIZE_MAX, 1, 4));
    assert_int_equal(cap, 16);
    b = mw_grow(a, &cap, 17, sizeof *a, 4);
    assert_non_null(b);
    assert_int_equal(cap, 32);
    assert_int_equal(b[3], 7);
    mw_free(b);
}

static void test_strdup(void **state)
{
    char *s;
    (void)state;

    s = mw_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    mw_free(s);
    s = mw_strndup("ab", 10);
    assert_string_equal(s, "ab");
    mw_free(s);
    s = mw_strdup("");
    assert_string_equal(s, "");
    mw_free(s);
    mw_alloc_set_failure(1, 0);
    errno = 0;
    assert_null(mw_strdup("x"));
    assert_int_equal(errno, ENOMEM);
    assert_non_null(s = mw_strdup("x")); /* one-shot: the next one works */
    mw_free(s);
    mw_alloc_set_failure(0, 0);
    assert_int_equal(live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_fail_once),
        cmocka_unit_test(test_alloc_fail_from_n_on),
        cmocka_unit_test(test_ctx_open_enomem),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_grow),
    };
    return cmocka_run_group_tests_name("alloc", tests, setup, teardown);
}
