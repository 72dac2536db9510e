/*
 * The darwin backend's real sources (darwin_backend.c, darwin_norm.c) against
 * the fake kernel (fake.c) replaying tests/fixtures/darwin.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/darwin/darwin.h"
#include "backend/darwin/darwin_norm.h"
#include "fake.h"
#include "memwatch/backend.h"

#define FIXTURE(name) MW_DARWIN_FIXTURES_DIR "/" name

static const mw_backend_ops *B = &mw_backend_native;

/* Load a fixture and open the backend on it. */
static void *open_on(const char *path)
{
    mw_backend_cfg cfg;
    void *st = NULL;

    assert_int_equal(mw_darwin_fake_load(path), 0);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(B->open(&cfg, &st), 0);
    assert_non_null(st);
    return st;
}

static void *open_on_text(const char *text)
{
    mw_backend_cfg cfg;
    void *st = NULL;

    assert_int_equal(mw_darwin_fake_load_string(text), 0);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(B->open(&cfg, &st), 0);
    return st;
}

static int teardown(void **state)
{
    (void)state;
    mw_darwin_fake_reset();
    return 0;
}

static void test_identity(void **state)
{
    (void)state;
    assert_string_equal(B->name, "darwin");
    assert_string_equal(B->platform, "darwin");
    assert_non_null(B->read_ledger);
    assert_non_null(B->app_key);
}

/* macOS keeps no OOM-kill count or log a user can read (jetsam kills are
 * another story): the core says "not supported", which memwatch.core turns
 * into nil, message, ENOTSUP. */
static void test_no_oom_evidence(void **state)
{
    mw_ctx_cfg cfg;
    mw_ctx *ctx = NULL;
    int64_t n = -1;
    uint64_t next = 7;
    (void)state;

    assert_null(B->oom_kill_count);
    assert_null(B->oom_kills);
    assert_int_equal(mw_darwin_fake_load(FIXTURE("m1-system.fixture")), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = B;
    assert_int_equal(mw_ctx_open(&cfg, &ctx), 0);
    assert_int_equal(mw_oom_kill_count(ctx, &n), MW_ENOTSUP);
    assert_int_equal(n, -1);
    assert_int_equal(mw_oom_kills_since(ctx, 0, NULL, NULL, &next), MW_ENOTSUP);
    assert_int_equal(next, 7);
    mw_ctx_close(ctx);
}

static void test_list_pids(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_pid_list l;
    static const int32_t want[] = {0, 1, 88, 4242, 4300, 4301, 4302};
    (void)state;

    memset(&l, 0, sizeof l);
    assert_int_equal(B->list_pids(st, &l), 0);
    assert_int_equal(l.count, 7);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(l.pids[i], want[i]);
    assert_int_equal(mw_darwin_fake_stats_get()->listallpids_calls, 1);
    mw_pid_list_release(&l);
    B->close(st);
}

static void test_list_pids_retry(void **state)
{
    /* The size hint undercounts (processes started after it): the first
     * buffers come back full and the backend must ask again. */
    char *text = malloc(300 * 16 + 64);
    size_t pos;
    void *st;
    mw_pid_list l;
    (void)state;

    pos = (size_t)sprintf(text, "listhint 10\n");
    for (int i = 0; i < 300; i++)
        pos += (size_t)sprintf(text + pos, "pid %d\n", 1000 + i);
    st = open_on_text(text);
    free(text);
    memset(&l, 0, sizeof l);
    assert_int_equal(B->list_pids(st, &l), 0);
    assert_int_equal(l.count, 300);
    assert_int_equal(l.pids[299], 1299);
    assert_true(mw_darwin_fake_stats_get()->listallpids_calls >= 2);
    mw_pid_list_release(&l);
    B->close(st);
}

static void test_read_own(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4242, MW_SRC_ALL, &p), 0);
    assert_string_equal(p.name, "zsh");
    assert_int_equal(p.v[MW_F_PID], 4242);
    assert_int_equal(p.v[MW_F_PPID], 4200);
    assert_int_equal(p.v[MW_F_UID], 501);
    assert_int_equal(p.state, 'R');
    assert_int_equal(p.v[MW_F_FOOTPRINT], 8783104);
    assert_int_equal(p.v[MW_F_RESIDENT], 8765440);
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 9830400);
    assert_int_equal(p.v[MW_F_FOOTPRINT_INTERVAL_PEAK], 8798208);
    /* 3000000 + 1881264 ticks at 125/3 */
    assert_int_equal(p.v[MW_F_CPU_TIME], 203386000);
    assert_int_equal(p.v[MW_F_DISK_READ], 7340032);
    assert_int_equal(p.v[MW_F_DISK_WRITTEN], 57344);
    assert_true(p.v[MW_F_START_TIME] == INT64_C(1751284800123456000));
    assert_int_equal(p.v[MW_F_UNIQUE_ID], 10931);
    assert_int_equal(p.v[MW_F_THREADS], 1);
    assert_string_equal(p.path, "/bin/zsh");
    assert_string_equal(p.cmdline, "-zsh");
    assert_int_equal(p.read, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT | MW_SRC_IO | MW_SRC_PATH |
                                 MW_SRC_CMDLINE);
    assert_int_equal(p.denied, 0);
    assert_int_equal(s->rusage_calls, 1);
    assert_int_equal(s->rusage_flavors[0], 6);
    mw_proc_release(&p);
    B->close(st);
}

static void test_read_subset(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    /* Like a Linux status read, memory alone still names the process. */
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4242, MW_SRC_STATUS, &p), 0);
    assert_string_equal(p.name, "zsh");
    assert_int_equal(p.v[MW_F_UID], 501);
    assert_int_equal(p.v[MW_F_PPID], 4200);
    assert_int_equal(p.v[MW_F_FOOTPRINT], 8783104);
    assert_false(mw_proc_has(&p, MW_F_START_TIME));
    assert_false(mw_proc_has(&p, MW_F_CPU_TIME));
    assert_null(p.path);
    assert_int_equal(s->pidinfo_calls[3], 0); /* no TBSDINFO */
    assert_int_equal(s->pidpath_calls, 0);
    assert_int_equal(s->procargs_calls, 0);
    mw_proc_release(&p);

    /* Nothing but the cheap identity. */
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4242, 0, &p), 0);
    assert_string_equal(p.name, "zsh");
    assert_int_equal(s->rusage_calls, 1);
    mw_proc_release(&p);
    B->close(st);
}

static void test_flavor_fallback_v4(void **state)
{
    void *st = open_on(FIXTURE("intel-monterey.fixture"));
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 300, MW_SRC_ALL, &p), 0);
    assert_int_equal(s->rusage_calls, 2);
    assert_int_equal(s->rusage_flavors[0], 6);
    assert_int_equal(s->rusage_flavors[1], 4);
    assert_int_equal(p.v[MW_F_FOOTPRINT], 52428800);
    assert_int_equal(p.v[MW_F_RESIDENT], 104857600);
    assert_int_equal(p.v[MW_F_WIRED], 16384);
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 73400320);
    assert_int_equal(p.v[MW_F_FOOTPRINT_INTERVAL_PEAK], 62914560);
    assert_int_equal(p.v[MW_F_CPU_TIME], 2000000000); /* Intel: ticks are ns */
    assert_int_equal(p.v[MW_F_DISK_READ], 20971520);
    mw_proc_release(&p);

    /* The rejected flavor is not asked for again. */
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 301, MW_SRC_STATUS, &p), 0);
    assert_int_equal(s->rusage_calls, 3);
    assert_int_equal(s->rusage_flavors[2], 4);
    assert_int_equal(p.v[MW_F_FOOTPRINT], 2097152);
    mw_proc_release(&p);
    B->close(st);
}

static void test_flavor_fallback_v2(void **state)
{
    void *st = open_on_text("rusage_maxflavor 2\n"
                            "pid 50\n"
                            "comm old\n"
                            "rusage phys_footprint=4096 resident_size=8192 "
                            "lifetime_max_phys_footprint=65536 diskio_bytesread=512\n");
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 50, MW_SRC_STATUS | MW_SRC_IO, &p), 0);
    assert_int_equal(s->rusage_calls, 3);
    assert_int_equal(s->rusage_flavors[2], 2);
    assert_int_equal(p.v[MW_F_FOOTPRINT], 4096);
    assert_int_equal(p.v[MW_F_RESIDENT], 8192);
    assert_int_equal(p.v[MW_F_DISK_READ], 512);
    /* V2 has no peaks: the kernel copied 160 bytes and nothing past them. */
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT_PEAK));
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT_INTERVAL_PEAK));
    mw_proc_release(&p);
    B->close(st);
}

static void test_foreign_eperm(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 88, MW_SRC_ALL, &p), 0);
    assert_string_equal(p.name, "WindowServer");
    assert_int_equal(p.v[MW_F_UID], 88);
    assert_int_equal(p.v[MW_F_PPID], 1);
    assert_int_equal(p.v[MW_F_UNIQUE_ID], 152);
    assert_string_equal(
        p.path, "/System/Library/PrivateFrameworks/SkyLight.framework/Resources/WindowServer");
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    assert_false(mw_proc_has(&p, MW_F_RESIDENT));
    assert_false(mw_proc_has(&p, MW_F_CPU_TIME));
    assert_false(mw_proc_has(&p, MW_F_START_TIME));
    assert_false(mw_proc_has(&p, MW_F_DISK_READ));
    assert_null(p.cmdline);
    assert_int_equal(p.denied,
                     MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT | MW_SRC_IO | MW_SRC_CMDLINE);
    assert_int_equal(p.read, MW_SRC_PATH);
    /* One refusal answers for the calls behind the same uid gate. */
    assert_int_equal(s->pidinfo_calls[3], 0);
    assert_int_equal(s->pidinfo_calls[4], 0);
    mw_proc_release(&p);

    /* kernel_task: foreign, no path, no arguments, still listed and named. */
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 0, MW_SRC_ALL, &p), 0);
    assert_string_equal(p.name, "kernel_task");
    assert_null(p.path);
    assert_int_equal(p.denied, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT | MW_SRC_IO);
    mw_proc_release(&p);
    B->close(st);
}

static void test_vanished(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_proc p;
    mw_ledger l;
    char key[64];
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4300, MW_SRC_ALL, &p), -ESRCH);
    assert_int_equal(p.present, 0);
    assert_null(p.path);
    assert_int_equal(B->read_proc(st, 99999, MW_SRC_STATUS, &p), -ESRCH);
    mw_ledger_init(&l);
    assert_int_equal(B->read_ledger(st, 4300, &l), -ESRCH);
    assert_int_equal(l.count, 0);
    mw_ledger_release(&l);
    assert_int_equal(B->app_key(st, 4300, key, sizeof key), -ESRCH);
    B->close(st);
}

static void test_zombie(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_proc p;
    mw_ledger l;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4301, MW_SRC_ALL, &p), 0);
    assert_true(p.flags & MW_PROC_ZOMBIE);
    assert_int_equal(p.state, 'Z');
    assert_string_equal(p.name, "sleep");
    assert_int_equal(p.v[MW_F_PPID], 4242);
    /* The BSD flavors reach a zombie because the backend passes arg 1. */
    assert_true(p.v[MW_F_START_TIME] == INT64_C(1751284900000000000));
    assert_int_equal(p.v[MW_F_UNIQUE_ID], 10990);
    /* Cumulative counters from the exit-time copy; no memory now. */
    assert_int_equal(p.v[MW_F_CPU_TIME], 3000000); /* 72000 ticks */
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 1114112);
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    assert_false(mw_proc_has(&p, MW_F_RESIDENT));
    assert_false(mw_proc_has(&p, MW_F_THREADS));
    assert_null(p.path);
    assert_null(p.cmdline);
    assert_int_equal(p.denied, 0);
    mw_proc_release(&p);

    mw_ledger_init(&l);
    assert_int_equal(B->read_ledger(st, 4301, &l), -ESRCH);
    mw_ledger_release(&l);
    B->close(st);
}

static void test_names_and_args(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_proc p;
    const char *exe = "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome "
                      "Framework.framework/Versions/131.0.6778.86/Helpers/Google Chrome Helper "
                      "(Renderer).app/Contents/MacOS/Google Chrome Helper (Renderer)";
    char want[512];
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4302, MW_SRC_ALL, &p), 0);
    /* The kernel keeps 15 bytes of comm; proc_name's pbi_name has more. */
    assert_string_equal(p.name, "Google Chrome Helper (Renderer)");
    assert_string_equal(p.comm, "Google Chrome H");
    assert_string_equal(p.path, exe);
    snprintf(want, sizeof want, "%s --type=renderer --lang=en-US", exe);
    assert_string_equal(p.cmdline, want);
    assert_int_equal(p.v[MW_F_THREADS], 17);
    mw_proc_release(&p);
    B->close(st);
}

/* proc_name (pbi_name) only for a comm at its limit, and only where the uid
 * gate lets us read it: other users' processes keep the short name. */
static void test_long_names(void **state)
{
    void *st =
        open_on_text("self_uid 501\n"
                     "pid 10\nshort ppid=1 uid=501 status=2\ncomm Short\n"
                     "name Short But Renamed\n"
                     "pid 11\nshort ppid=1 uid=501 status=2\ncomm my-leaky-service-long\n"
                     "name my-leaky-service-long\n"
                     "pid 12\nshort ppid=1 uid=0 status=2\ncomm com.apple.WebKit.Networking\n"
                     "name com.apple.WebKit.Networking\n"
                     "pid 13\nshort ppid=1 uid=501 status=2\ncomm renamed-by-itself\n"
                     "name something else\n");
    const mw_darwin_fake_stats *s = mw_darwin_fake_stats_get();
    mw_proc p;
    (void)state;

    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 10, MW_SRC_STATUS, &p), 0);
    assert_string_equal(p.name, "Short");
    assert_int_equal(s->pidinfo_calls[PROC_PIDTBSDINFO], 0);
    mw_proc_release(&p);
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 11, MW_SRC_STATUS, &p), 0);
    assert_string_equal(p.name, "my-leaky-service-long");
    assert_string_equal(p.comm, "my-leaky-servic");
    assert_int_equal(s->pidinfo_calls[PROC_PIDTBSDINFO], 1);
    mw_proc_release(&p);
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 12, MW_SRC_STATUS, &p), 0);
    assert_string_equal(p.name, "com.apple.WebKi");
    assert_string_equal(p.comm, "com.apple.WebKi");
    mw_proc_release(&p);
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 13, MW_SRC_STATUS, &p), 0);
    assert_string_equal(p.name, "renamed-by-itse");
    mw_proc_release(&p);
    B->close(st);
}

static void test_timebases(void **state)
{
    mw_ledger l;
    void *st;
    (void)state;

    /* The same raw ticks: identity on Intel, 125/3 on Apple Silicon. */
    st = open_on(FIXTURE("article.fixture"));
    mw_ledger_init(&l);
    assert_int_equal(B->read_ledger(st, 639, &l), 0);
    assert_int_equal(mw_ledger_find(&l, "sched", "cpu_time")->balance, 4881264);
    assert_int_equal(mw_ledger_find(&l, "sched", "cpu_time_billed_to_me")->balance, 24757);
    mw_ledger_release(&l);
    B->close(st);

    st = open_on(FIXTURE("m1-system.fixture"));
    mw_ledger_init(&l);
    assert_int_equal(B->read_ledger(st, 4242, &l), 0);
    assert_int_equal(mw_ledger_find(&l, "sched", "cpu_time")->balance, 203386000);
    assert_int_equal(mw_ledger_find(&l, "sched", "cpu_time")->credit, 203386000);
    assert_string_equal(mw_ledger_find(&l, "sched", "cpu_time")->unit, "ns");
    assert_int_equal(mw_ledger_find(&l, "sched", "cpu_time_billed_to_me")->balance, 1031541);
    /* Not time: untouched. */
    assert_int_equal(mw_ledger_find(&l, "physmem", "phys_mem")->credit, 68943872);
    mw_ledger_release(&l);
    B->close(st);

    /* Rosetta: mach_timebase_info says 1/1, the counters are 24 MHz ticks. */
    st = open_on_text("timebase 1 1\n"
                      "sysctl sysctl.proc_translated 1\n"
                      "sysctl hw.tbfrequency 24000000\n"
                      "pid 70\n"
                      "rusage user_time=24000000 system_time=3\n");
    {
        mw_proc p;
        mw_proc_init(&p);
        assert_int_equal(B->read_proc(st, 70, MW_SRC_STAT, &p), 0);
        assert_int_equal(p.v[MW_F_CPU_TIME], 1000000125);
        mw_proc_release(&p);
    }
    B->close(st);
}

static int64_t balance_of(const mw_ledger *l, const char *name)
{
    const mw_ledger_row *r = mw_ledger_find(l, NULL, name);
    assert_non_null(r);
    return r->balance;
}

static void test_ledger_by_name(void **state)
{
    mw_ledger a, b;
    void *st;
    int64_t fa, fb;
    (void)state;

    st = open_on(FIXTURE("article.fixture"));
    mw_ledger_init(&a);
    assert_int_equal(B->read_ledger(st, 639, &a), 0);
    /* The template is read once per backend, entries once per call. */
    mw_ledger_release(&a);
    mw_ledger_init(&a);
    assert_int_equal(B->read_ledger(st, 639, &a), 0);
    assert_int_equal(mw_darwin_fake_stats_get()->template_calls, 1);
    assert_int_equal(mw_darwin_fake_stats_get()->entry_calls, 2);
    B->close(st);

    st = open_on(FIXTURE("article-reordered.fixture"));
    mw_ledger_init(&b);
    assert_int_equal(B->read_ledger(st, 639, &b), 0);
    B->close(st);

    assert_int_equal(a.count, 66);
    assert_int_equal(b.count, 67); /* plus frozen_to_swap */
    assert_string_equal(a.rows[0].name, "cpu_time");
    assert_string_equal(b.rows[0].name, "swapins");
    for (size_t i = 0; i < a.count; i++) {
        const mw_ledger_row *ra = &a.rows[i];
        const mw_ledger_row *rb = mw_ledger_find(&b, ra->group, ra->name);
        assert_non_null(rb);
        assert_true(ra->balance == rb->balance);
        assert_true(ra->credit == rb->credit);
        assert_true(ra->debit == rb->debit);
        assert_string_equal(ra->unit, rb->unit);
    }
    assert_int_equal(balance_of(&b, "frozen_to_swap"), 0);
    assert_int_equal(balance_of(&b, "phys_mem"), 8765440);
    assert_int_equal(mw_ledger_find(&b, NULL, "phys_mem")->credit, 68943872);
    assert_int_equal(mw_ledger_find(&b, NULL, "phys_mem")->debit, 60178432);
    assert_int_equal(mw_darwin_footprint_from_ledger(&a, &fa), 0);
    assert_int_equal(mw_darwin_footprint_from_ledger(&b, &fb), 0);
    assert_int_equal(fa, 8783104);
    assert_int_equal(fb, 8783104);
    mw_ledger_release(&a);
    mw_ledger_release(&b);
}

static void test_footprint_formula(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_ledger l;
    mw_proc p;
    int64_t fp;
    (void)state;

    /* The kernel's formula over the ledger rows gives the phys_footprint
     * ledger, which is what rusage reports as Memory (gather_rusage_info in
     * xnu bsd/kern/kern_resource.c reads it: get_task_phys_footprint). */
    mw_ledger_init(&l);
    assert_int_equal(B->read_ledger(st, 4242, &l), 0);
    assert_int_equal(mw_darwin_footprint_from_ledger(&l, &fp), 0);
    assert_int_equal(fp, 8783104);
    assert_int_equal(fp, balance_of(&l, "phys_footprint"));
    mw_proc_init(&p);
    assert_int_equal(B->read_proc(st, 4242, MW_SRC_STATUS, &p), 0);
    assert_int_equal(p.v[MW_F_FOOTPRINT], fp);
    assert_int_equal(p.v[MW_F_RESIDENT], balance_of(&l, "phys_mem"));
    mw_proc_release(&p);
    mw_ledger_release(&l);
    B->close(st);
}

static void test_read_system(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_system s;
    (void)state;

    memset(&s, 0, sizeof s);
    assert_int_equal(B->read_system(st, &s), 0);
    assert_true(s.total == INT64_C(34359738368));
    assert_true(s.free == INT64_C(30720) * 16384);
    assert_true(s.available == INT64_C(442368) * 16384);
    assert_true(s.active == INT64_C(655360) * 16384);
    assert_true(s.inactive == INT64_C(614400) * 16384);
    assert_true(s.wired == INT64_C(196608) * 16384);
    assert_true(s.compressed == INT64_C(131072) * 16384);
    assert_true(s.swap_total == INT64_C(4294967296));
    assert_true(s.swap_free == INT64_C(1073741824));
    assert_int_equal(s.pressure_level, 2);
    B->close(st);

    /* A system that answers nothing. */
    st = open_on_text("pid 1\n");
    memset(&s, 0, sizeof s);
    assert_int_equal(B->read_system(st, &s), -EIO);
    B->close(st);
}

static void test_app_key(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    char key[64], tiny[6];
    mw_ledger l;
    uint64_t id = 0;
    (void)state;

    assert_int_equal(B->app_key(st, 4302, key, sizeof key), 0);
    assert_string_equal(key, "coalition:777");
    /* Across uids too (COALITIONINFO is exempt from the uid check). */
    assert_int_equal(B->app_key(st, 88, key, sizeof key), 0);
    assert_string_equal(key, "coalition:96");
    assert_int_equal(B->app_key(st, 0, key, sizeof key), -ENOENT);
    assert_int_equal(B->app_key(st, 4302, tiny, sizeof tiny), -ERANGE);
    assert_int_equal(mw_darwin_coalition_id(4242, &id), 0);
    assert_int_equal(id, 550);

    mw_ledger_init(&l);
    assert_int_equal(mw_darwin_coalition_usage(4302, &l), 0);
    assert_int_equal(balance_of(&l, "tasks_started"), 31);
    assert_true(balance_of(&l, "cpu_time") == INT64_C(100000000000)); /* 2.4e9 ticks */
    assert_true(balance_of(&l, "time_nonempty") == INT64_C(3600000000000));
    assert_int_equal(balance_of(&l, "phys_footprint"), 1073741824);
    mw_ledger_release(&l);
    mw_ledger_init(&l);
    assert_int_equal(mw_darwin_coalition_usage(4242, &l), -ESRCH); /* no such coalition */
    mw_ledger_release(&l);
    B->close(st);
}

static const mw_app *app_named(const mw_app_list *l, const char *key)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->apps[i].key, key) == 0)
            return &l->apps[i];
    }
    return NULL;
}

/* Apps are the kernel's coalitions: its member count (every user's), the
 * leader found by role (0 once it has exited), its own totals. */
static void test_apps(void **state)
{
    void *st = open_on(FIXTURE("coalitions.fixture"));
    mw_app_list l;
    const mw_app *a;
    mw_ledger t;
    (void)state;

    assert_int_equal(B->apps(st, &l), 0);
    assert_int_equal(l.count, 4);
    a = app_named(&l, "coalition:777");
    assert_non_null(a);
    assert_int_equal(a->leader, 4100);
    assert_int_equal(a->tasks, 3); /* root's crashpad counted too */
    assert_int_equal(balance_of(&a->totals, "phys_footprint"), 1073741824);
    assert_true(balance_of(&a->totals, "cpu_time") == INT64_C(100000000000));
    a = app_named(&l, "coalition:880");
    assert_non_null(a);
    assert_int_equal(a->leader, 0); /* the leader has exited */
    assert_int_equal(a->tasks, 2);
    assert_int_equal(balance_of(&a->totals, "phys_footprint"), 209715200);
    a = app_named(&l, "coalition:990");
    assert_non_null(a);
    assert_int_equal(a->leader, 0);
    assert_int_equal(a->tasks, 0);
    assert_int_equal(app_named(&l, "coalition:1")->leader, 1);
    mw_app_list_release(&l);

    mw_ledger_init(&t);
    assert_int_equal(B->app_totals(st, "coalition:880", &t), 0);
    assert_int_equal(balance_of(&t, "phys_footprint"), 209715200);
    mw_ledger_release(&t);
    assert_int_equal(B->app_totals(st, "coalition:12345", &t), -ESRCH);
    mw_ledger_release(&t);
    assert_int_equal(B->app_totals(st, "coalition:", &t), -ESRCH);
    assert_int_equal(B->app_totals(st, "coalition:07", &t), -ESRCH);
    assert_int_equal(B->app_totals(st, "app.slice/x.service", &t), -ESRCH);
    assert_int_equal(B->app_totals(st, "coalition:99999999999999999999", &t), -ESRCH);
    mw_ledger_release(&t);
    B->close(st);
}

/* No process marked as leader: every app is listed with leader 0. */
static void test_apps_no_leader(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_app_list l;
    (void)state;

    /* m1-system has one coalition_usage line (777) and no leader. */
    assert_int_equal(B->apps(st, &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.apps[0].key, "coalition:777");
    assert_int_equal(l.apps[0].leader, 0);
    assert_int_equal(l.apps[0].tasks, 1);
    mw_app_list_release(&l);
    B->close(st);
}

static void test_host_port_released(void **state)
{
    void *st = open_on(FIXTURE("m1-system.fixture"));
    mw_system s;
    (void)state;

    memset(&s, 0, sizeof s);
    assert_int_equal(B->read_system(st, &s), 0);
    assert_int_equal(B->read_system(st, &s), 0);
    B->close(st);
    assert_int_equal(mw_darwin_fake_stats_get()->host_self, 1);
    assert_int_equal(mw_darwin_fake_stats_get()->host_released, 1);
}

/* ---- regions (PROC_PIDREGIONPATHINFO) ---------------------------------------- */

static int64_t size_of(const mw_region *r, int field)
{
    assert_true((r->present >> field) & 1u);
    return r->v[field];
}

/* The walk: one call per region plus the one past the last (EINVAL), each
 * region's page counts in bytes of the kernel's 16 KiB pages, its tag, and
 * the file's path, inode and device. */
static void test_regions_walk(void **state)
{
    void *st = open_on(FIXTURE("regions.fixture"));
    mw_regions rs;
    const mw_region *r;
    (void)state;

    mw_regions_init(&rs);
    assert_int_equal(B->read_regions(st, 700, &rs), 0);
    assert_int_equal(rs.count, 13);
    assert_int_equal(rs.truncated, 0);
    assert_int_equal(mw_darwin_fake_stats_get()->pidinfo_calls[PROC_PIDREGIONPATHINFO], 14);

    r = &rs.rows[1]; /* the executable's __DATA: copy-on-write, one page written */
    assert_int_equal(r->start, 0x100008000);
    assert_int_equal(r->end, 0x10000c000);
    assert_int_equal(r->offset, 0x8000);
    assert_string_equal(r->perms, "rw-p");
    assert_string_equal(r->path, "/Applications/Notes.app/Contents/MacOS/Notes");
    assert_int_equal(r->inode, 4242);
    assert_int_equal(r->dev_major, 1);
    assert_int_equal(r->dev_minor, 0x12);
    assert_int_equal(r->flags, MW_REGION_TAGGED);
    assert_int_equal(r->user_tag, 0);
    assert_int_equal(size_of(r, MW_REGION_RSS), 16384);
    assert_int_equal(size_of(r, MW_REGION_PRIVATE_DIRTY), 16384);
    assert_int_equal(size_of(r, MW_REGION_SHARED_CLEAN), 0);
    assert_int_equal(size_of(r, MW_REGION_ANONYMOUS), 16384);
    assert_false((r->present >> MW_REGION_PSS) & 1u);

    r = &rs.rows[7]; /* MALLOC_SMALL: 256 resident (200 written), 64 compressed */
    assert_null(r->path);
    assert_int_equal(r->user_tag, 2);
    assert_int_equal(size_of(r, MW_REGION_SIZE), 8 << 20);
    assert_int_equal(size_of(r, MW_REGION_RSS), 256 * 16384);
    assert_int_equal(size_of(r, MW_REGION_ANONYMOUS), 256 * 16384);
    assert_int_equal(size_of(r, MW_REGION_PRIVATE_DIRTY), 200 * 16384);
    assert_int_equal(size_of(r, MW_REGION_PRIVATE_CLEAN), 56 * 16384);
    assert_int_equal(size_of(r, MW_REGION_SWAP), 64 * 16384);

    r = &rs.rows[9]; /* the stack guard: no access, nothing resident */
    assert_string_equal(r->perms, "---p");
    assert_int_equal(r->user_tag, 31);
    assert_int_equal(size_of(r, MW_REGION_RSS), 0);

    r = &rs.rows[11]; /* the shared cache: a shared submap, not shared memory */
    assert_string_equal(r->perms, "r-xs");
    assert_int_equal(r->flags, MW_REGION_TAGGED);
    assert_int_equal(size_of(r, MW_REGION_SHARED_CLEAN), 1000 * 16384);
    assert_int_equal(size_of(r, MW_REGION_ANONYMOUS), 0);

    r = &rs.rows[12]; /* IOKit: shared with the kernel, no file */
    assert_int_equal(r->flags, MW_REGION_TAGGED | MW_REGION_SHMEM);
    assert_int_equal(r->user_tag, 21);
    assert_int_equal(size_of(r, MW_REGION_SHARED_DIRTY), 2 << 20);
    assert_int_equal(size_of(r, MW_REGION_ANONYMOUS), 0);
    mw_regions_release(&rs);
    B->close(st);
}

/* Another user's process is refused, a zombie has no regions, one that
 * exits mid-walk keeps what was read (truncated), one with an empty map has
 * none, and a pid that never was is gone. */
static void test_regions_edges(void **state)
{
    void *st = open_on(FIXTURE("regions.fixture"));
    mw_regions rs;
    (void)state;

    mw_regions_init(&rs);
    assert_int_equal(B->read_regions(st, 701, &rs), -EPERM);
    mw_regions_release(&rs);
    assert_int_equal(B->read_regions(st, 702, &rs), 0);
    assert_int_equal(rs.count, 0);
    mw_regions_release(&rs);
    assert_int_equal(B->read_regions(st, 703, &rs), 0);
    assert_int_equal(rs.count, 2);
    assert_int_equal(rs.truncated, 1);
    assert_string_equal(rs.rows[0].path, "/usr/bin/exiting");
    mw_regions_release(&rs);
    assert_int_equal(B->read_regions(st, 704, &rs), 0);
    assert_int_equal(rs.count, 0);
    mw_regions_release(&rs);
    assert_int_equal(B->read_regions(st, 4242, &rs), -ESRCH);
    mw_regions_release(&rs);
    B->close(st);
}

/* Any other failure of the call ends the read with that error; as root the
 * same-user gate does not apply. */
static void test_regions_failures(void **state)
{
    void *st = open_on_text("self_uid 0\n"
                            "pid 10\nshort uid=88\n"
                            "region address=0x1000 size=0x4000 protection=1 share_mode=2\n"
                            "region address=0x8000 size=0x4000 protection=1 errno=EIO\n");
    mw_regions rs;
    (void)state;

    mw_regions_init(&rs);
    assert_int_equal(B->read_regions(st, 10, &rs), -EIO);
    mw_regions_release(&rs);
    B->close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_identity, teardown),
        cmocka_unit_test_teardown(test_no_oom_evidence, teardown),
        cmocka_unit_test_teardown(test_list_pids, teardown),
        cmocka_unit_test_teardown(test_apps, teardown),
        cmocka_unit_test_teardown(test_apps_no_leader, teardown),
        cmocka_unit_test_teardown(test_list_pids_retry, teardown),
        cmocka_unit_test_teardown(test_read_own, teardown),
        cmocka_unit_test_teardown(test_read_subset, teardown),
        cmocka_unit_test_teardown(test_flavor_fallback_v4, teardown),
        cmocka_unit_test_teardown(test_flavor_fallback_v2, teardown),
        cmocka_unit_test_teardown(test_foreign_eperm, teardown),
        cmocka_unit_test_teardown(test_vanished, teardown),
        cmocka_unit_test_teardown(test_zombie, teardown),
        cmocka_unit_test_teardown(test_names_and_args, teardown),
        cmocka_unit_test_teardown(test_long_names, teardown),
        cmocka_unit_test_teardown(test_timebases, teardown),
        cmocka_unit_test_teardown(test_ledger_by_name, teardown),
        cmocka_unit_test_teardown(test_footprint_formula, teardown),
        cmocka_unit_test_teardown(test_read_system, teardown),
        cmocka_unit_test_teardown(test_app_key, teardown),
        cmocka_unit_test_teardown(test_host_port_released, teardown),
        cmocka_unit_test_teardown(test_regions_walk, teardown),
        cmocka_unit_test_teardown(test_regions_edges, teardown),
        cmocka_unit_test_teardown(test_regions_failures, teardown),
    };
    return cmocka_run_group_tests_name("darwin_backend", tests, NULL, NULL);
}
