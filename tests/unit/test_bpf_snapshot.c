/*
 * The BPF sampler's pure part (src/backend/linux/bpf/snapshot.c): iterator
 * records to a snapshot (leaders sorted by pid, threads' CPU time added to
 * their leader's, full names kept for the same process only, bad buffers
 * refused) and one record to an mw_proc in the units and roundings of
 * /proc/PID/status and stat.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"

#include "backend/linux/bpf/snapshot.h"

static struct mw_bpf_rec leader(int32_t pid, uint64_t start, uint64_t runtime, const char *comm)
{
    struct mw_bpf_rec r;
    memset(&r, 0, sizeof r);
    r.kind = MW_BPF_PROC;
    r.pid = pid;
    r.start_boottime = start;
    r.runtime = runtime;
    r.state = 'S';
    strncpy(r.comm, comm, sizeof r.comm - 1);
    return r;
}

static struct mw_bpf_rec thread(int32_t tgid, uint64_t runtime)
{
    struct mw_bpf_rec r;
    memset(&r, 0, sizeof r);
    r.kind = MW_BPF_THREAD;
    r.pid = tgid;
    r.runtime = runtime;
    return r;
}

static void test_build_sorts_and_sums(void **state)
{
    struct mw_bpf_rec recs[] = {
        thread(30, 5),           leader(30, 100, 1000, "c"),
        leader(10, 200, 7, "a"), thread(10, 3),
        thread(99, 1000), /* its leader exited before the pass reached it */
        leader(20, 300, 0, "b"), thread(30, 6),
    };
    mw_bpf_snapshot s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs), 0);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.e[0].rec.pid, 10);
    assert_int_equal(s.e[1].rec.pid, 20);
    assert_int_equal(s.e[2].rec.pid, 30);
    assert_int_equal(s.e[0].rec.runtime, 10);
    assert_int_equal(s.e[2].rec.runtime, 1011);
    assert_ptr_equal(mw_bpf_snapshot_find(&s, 20), &s.e[1]);
    assert_null(mw_bpf_snapshot_find(&s, 99));
    assert_null(mw_bpf_snapshot_find(&s, 15));
    mw_bpf_snapshot_release(&s);
}

/* Many leaders in the walker's order: runs of rising pids broken where pids
 * wrapped, the largest pids a kernel allows among them, each thread right
 * after its leader. Sorted by pid, every thread's time on its leader. */
static void test_build_sorts_wrapped_runs(void **state)
{
    enum { N = 5000 };
    struct mw_bpf_rec *recs = calloc(2 * N, sizeof *recs);
    size_t n = 0;
    mw_bpf_snapshot s;

    (void)state;
    assert_non_null(recs);
    for (int i = 0; i < N; i++) {
        /* 3000..4194303 (pid_max's top), then 2..., then a few far apart */
        int32_t pid = i < 2000   ? 4194304 - 2000 + i
                      : i < 4990 ? 2 + (i - 2000) * 3
                                 : 2147483647 - (N - i);
        recs[n++] = leader(pid, (uint64_t)i, 1, "p");
        if (i % 7 == 0)
            recs[n++] = thread(pid, 10);
    }
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, n * sizeof *recs), 0);
    assert_int_equal(s.count, N);
    for (size_t i = 1; i < s.count; i++)
        assert_true(s.e[i - 1].rec.pid < s.e[i].rec.pid);
    for (size_t i = 0; i < s.count; i++) {
        int idx = (int)s.e[i].rec.start_boottime; /* where it came from */
        assert_int_equal(s.e[i].rec.runtime, idx % 7 == 0 ? 11 : 1);
    }
    assert_int_equal(mw_bpf_snapshot_find(&s, 4194303)->rec.start_boottime, 1999);
    assert_int_equal(mw_bpf_snapshot_find(&s, 2147483646)->rec.start_boottime, N - 1);
    assert_null(mw_bpf_snapshot_find(&s, 3));
    mw_bpf_snapshot_release(&s);
    free(recs);
}

static void test_build_refuses_bad_buffers(void **state)
{
    struct mw_bpf_rec recs[2] = {leader(1, 1, 1, "x"), leader(2, 1, 1, "y")};
    mw_bpf_snapshot s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs), 0);
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs - 1), MW_EPARSE);
    assert_int_equal(s.count, 0);
    recs[1].kind = 7;
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs), MW_EPARSE);
    assert_int_equal(s.count, 0);
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, 0), 0);
    assert_int_equal(s.count, 0);
    recs[1] = leader(0, 1, 1, "idle"); /* no process has pid 0 */
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs), MW_EPARSE);
    recs[1] = leader(-3, 1, 1, "neg");
    assert_int_equal(mw_bpf_snapshot_build(&s, recs, sizeof recs), MW_EPARSE);
    mw_bpf_snapshot_release(&s);
}

static void test_names_stay_with_their_process(void **state)
{
    struct mw_bpf_rec first[] = {leader(5, 100, 0, "my-long-servic"), leader(6, 100, 0, "other")};
    struct mw_bpf_rec again[] = {leader(5, 100, 0, "my-long-servic"), leader(6, 999, 0, "other")};
    mw_bpf_snapshot s;

    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_bpf_snapshot_build(&s, first, sizeof first), 0);
    s.e[0].full_name = mw_strdup("my-long-service");
    s.e[0].have_name = 1;
    s.e[1].full_name = mw_strdup("other-name");
    s.e[1].have_name = 1;
    assert_int_equal(mw_bpf_snapshot_build(&s, again, sizeof again), 0);
    assert_true(s.e[0].have_name);
    assert_string_equal(s.e[0].full_name, "my-long-service");
    /* pid 6 now started at another time: another process, no name yet. */
    assert_false(s.e[1].have_name);
    assert_null(s.e[1].full_name);
    mw_bpf_snapshot_release(&s);
}

static void test_to_proc_units(void **state)
{
    const mw_bpf_units u = {4096, 100, 1700000000};
    struct mw_bpf_rec r = leader(42, 1234567890123ULL, 2999999999ULL, "svc");
    mw_proc p;

    (void)state;
    r.ppid = 1;
    r.euid = 1000;
    r.threads = 3;
    r.flags = MW_BPF_HAS_MM;
    r.anon = 10;
    r.file = 20;
    r.shmem = 5;
    r.swapents = 2;
    r.hiwater_rss = 30; /* below rss: status shows the larger */
    r.total_vm = 1000;
    r.locked_vm = 4;
    r.pgtables_bytes = 12345; /* status: 12 kB */
    mw_proc_init(&p);
    mw_bpf_to_proc(&r, &u, &p);
    assert_string_equal(p.name, "svc");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.v[MW_F_PID], 42);
    assert_int_equal(p.v[MW_F_PPID], 1);
    assert_int_equal(p.v[MW_F_UID], 1000);
    assert_int_equal(p.v[MW_F_THREADS], 3);
    assert_int_equal(p.v[MW_F_RSS_ANON], 40960);
    assert_int_equal(p.v[MW_F_RESIDENT], 35 * 4096);
    assert_int_equal(p.v[MW_F_RESIDENT_PEAK], 35 * 4096);
    assert_int_equal(p.v[MW_F_PAGE_TABLE], 12 * 1024);
    assert_int_equal(p.v[MW_F_SWAP], 8192);
    assert_int_equal(p.v[MW_F_VIRTUAL], 4096000);
    assert_int_equal(p.v[MW_F_LOCKED], 16384);
    assert_int_equal(p.v[MW_F_FOOTPRINT], (10 + 5 + 2) * 4096 + 12 * 1024);
    /* 2.999999999 s on CPU: 299 ticks, as stat would round it down. */
    assert_int_equal(p.v[MW_F_CPU_TIME], 2990000000LL);
    /* 1234.567890123 s after boot: 123456 ticks. */
    assert_int_equal(p.v[MW_F_START_TIME], (1700000000LL + 1234) * 1000000000LL + 560000000LL);
    assert_int_equal(p.read, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IDENT);
    assert_int_equal(p.flags, 0);
    mw_proc_release(&p);
}

/* The BPF sampler's footprint is normalize.c's sum (mw_linux_footprint_of),
 * so a sum past INT64_MAX is no footprint there either, not a wrapped one. */
static void test_to_proc_footprint_overflow(void **state)
{
    const mw_bpf_units u = {4096, 100, 1700000000};
    struct mw_bpf_rec r = leader(43, 1, 1, "huge");
    mw_proc p;

    (void)state;
    r.flags = MW_BPF_HAS_MM;
    r.anon = 1ULL << 50; /* 2^62 bytes, and 2^61 each for shmem and swap: 2^63 */
    r.shmem = 1ULL << 49;
    r.swapents = 1ULL << 49;
    mw_proc_init(&p);
    mw_bpf_to_proc(&r, &u, &p);
    assert_int_equal(p.v[MW_F_RSS_ANON], 1LL << 62);
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    mw_proc_release(&p);
    r.swapents = (1ULL << 49) - 1; /* 2^63 - 4096: fits */
    mw_proc_init(&p);
    mw_bpf_to_proc(&r, &u, &p);
    assert_int_equal(p.v[MW_F_FOOTPRINT], INT64_MAX - 4095);
    mw_proc_release(&p);
}

static void test_to_proc_kernel_thread_and_zombie(void **state)
{
    const mw_bpf_units u = {4096, 100, 1700000000};
    struct mw_bpf_rec k = leader(2, 1, 1, "kthreadd"), z = leader(9, 1, 1, "gone");
    mw_proc p;

    (void)state;
    k.flags = MW_BPF_KTHREAD;
    k.anon = 5; /* not to be shown without MW_BPF_HAS_MM */
    mw_proc_init(&p);
    mw_bpf_to_proc(&k, &u, &p);
    assert_int_equal(p.flags, MW_PROC_KTHREAD);
    assert_false(mw_proc_has(&p, MW_F_RESIDENT));
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    mw_proc_release(&p);
    z.state = 'Z';
    mw_proc_init(&p);
    mw_bpf_to_proc(&z, &u, &p);
    assert_int_equal(p.flags, MW_PROC_ZOMBIE);
    assert_false(mw_proc_has(&p, MW_F_VIRTUAL));
    mw_proc_release(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_sorts_and_sums),
        cmocka_unit_test(test_build_sorts_wrapped_runs),
        cmocka_unit_test(test_build_refuses_bad_buffers),
        cmocka_unit_test(test_names_stay_with_their_process),
        cmocka_unit_test(test_to_proc_units),
        cmocka_unit_test(test_to_proc_footprint_overflow),
        cmocka_unit_test(test_to_proc_kernel_thread_and_zombie),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
