/*
 * The Linux backend's normalising step (src/backend/linux/normalize.c): the
 * kernel's fields, as the parsers return them, into memwatch's records, and
 * the values derived from them (footprint, uss, flags, nanoseconds). Inputs
 * are built by hand, so each case states exactly which lines the kernel gave.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "backend/linux/normalize.h"
#include "backend/linux/parse.h"
#include "memwatch/memwatch.h"

#define KB(n) ((int64_t)(n)*1024)

static void field_is(const mw_proc *p, enum mw_field f, int64_t want)
{
    if (!mw_proc_has(p, f))
        fail_msg("field %s absent, want %lld", mw_field_get(f)->name, (long long)want);
    if (p->v[f] != want)
        fail_msg("field %s = %lld, want %lld", mw_field_get(f)->name, (long long)p->v[f],
                 (long long)want);
}

static void status_set(mw_status_info *si, enum mw_status_field f, int64_t v)
{
    si->v[f] = v;
    si->present |= (uint64_t)1 << f;
}

/* The status lines of an ordinary process (firefox, values in kB as shown). */
static void ordinary_status(mw_status_info *si)
{
    memset(si, 0, sizeof *si);
    strcpy(si->name, "firefox");
    si->state = 'S';
    status_set(si, MW_STATUS_PID, 4242);
    status_set(si, MW_STATUS_PPID, 1234);
    status_set(si, MW_STATUS_EUID, 1001);
    status_set(si, MW_STATUS_THREADS, 57);
    status_set(si, MW_STATUS_VM_SIZE, KB(800000));
    status_set(si, MW_STATUS_VM_LCK, KB(16));
    status_set(si, MW_STATUS_VM_HWM, KB(150000));
    status_set(si, MW_STATUS_VM_RSS, KB(120000));
    status_set(si, MW_STATUS_RSS_ANON, KB(90000));
    status_set(si, MW_STATUS_RSS_FILE, KB(25000));
    status_set(si, MW_STATUS_RSS_SHMEM, KB(5000));
    status_set(si, MW_STATUS_VM_PTE, KB(700));
    status_set(si, MW_STATUS_VM_SWAP, KB(3000));
}

/* ---- status ------------------------------------------------------------------ */

/* The record fields status gives: its lines and the footprint. */
static const enum mw_field from_status[] = {
    MW_F_PID,        MW_F_PPID,          MW_F_UID,      MW_F_THREADS,   MW_F_FOOTPRINT,
    MW_F_RESIDENT,   MW_F_RSS_ANON,      MW_F_RSS_FILE, MW_F_RSS_SHMEM, MW_F_SWAP,
    MW_F_PAGE_TABLE, MW_F_RESIDENT_PEAK, MW_F_VIRTUAL,  MW_F_LOCKED,
};

static void test_status_fields_and_footprint(void **state)
{
    mw_status_info si;
    mw_proc p;
    uint64_t want;
    (void)state;
    ordinary_status(&si);
    mw_proc_init(&p);
    mw_linux_from_status(&si, &p);
    assert_string_equal(p.name, "firefox");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.flags, 0);
    field_is(&p, MW_F_PID, 4242);
    field_is(&p, MW_F_PPID, 1234);
    field_is(&p, MW_F_UID, 1001);
    field_is(&p, MW_F_THREADS, 57);
    field_is(&p, MW_F_VIRTUAL, KB(800000));
    field_is(&p, MW_F_LOCKED, KB(16));
    field_is(&p, MW_F_RESIDENT_PEAK, KB(150000));
    field_is(&p, MW_F_RESIDENT, KB(120000));
    field_is(&p, MW_F_RSS_ANON, KB(90000));
    field_is(&p, MW_F_RSS_FILE, KB(25000));
    field_is(&p, MW_F_RSS_SHMEM, KB(5000));
    field_is(&p, MW_F_PAGE_TABLE, KB(700));
    field_is(&p, MW_F_SWAP, KB(3000));
    /* footprint = RssAnon + RssShmem + VmSwap + VmPTE; RssFile is external. */
    field_is(&p, MW_F_FOOTPRINT, KB(90000 + 5000 + 3000 + 700));
    /* Those fields and no others: smaps, stat and io fields are not status's. */
    want = 0;
    for (size_t i = 0; i < sizeof from_status / sizeof from_status[0]; i++)
        want |= (uint64_t)1 << from_status[i];
    assert_int_equal(p.present, want);
    assert_null(p.path);
    assert_null(p.cmdline);
}

static void test_footprint_needs_all_four_terms(void **state)
{
    static const enum mw_status_field terms[] = {MW_STATUS_RSS_ANON, MW_STATUS_RSS_SHMEM,
                                                 MW_STATUS_VM_SWAP, MW_STATUS_VM_PTE};
    (void)state;
    /* Without any one term (an old kernel without RssShmem, say): no
     * footprint rather than a partial sum. */
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++) {
        mw_status_info si;
        mw_proc p;
        int64_t bytes = -7;
        ordinary_status(&si);
        si.present &= ~((uint64_t)1 << terms[i]);
        assert_int_equal(mw_linux_footprint(&si, &bytes), -ENODATA);
        assert_int_equal(bytes, -7);
        mw_proc_init(&p);
        mw_linux_from_status(&si, &p);
        assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
        assert_true(mw_proc_has(&p, MW_F_RESIDENT));
    }
}

/* Found by fuzz_status: four terms near INT64_MAX overflowed the footprint
 * sum (signed overflow, undefined). Now a sum past INT64_MAX is no footprint. */
static void test_footprint_sum_overflow(void **state)
{
    mw_status_info si;
    int64_t bytes;
    (void)state;
    memset(&si, 0, sizeof si);
    status_set(&si, MW_STATUS_RSS_ANON, KB(9007199254740991LL));
    status_set(&si, MW_STATUS_RSS_SHMEM, KB(9007199254740991LL));
    status_set(&si, MW_STATUS_VM_SWAP, KB(1));
    status_set(&si, MW_STATUS_VM_PTE, KB(1));
    assert_int_equal(mw_linux_footprint(&si, &bytes), -ENODATA);
    /* The largest sum that fits is a footprint. */
    status_set(&si, MW_STATUS_RSS_ANON, KB(4503599627370495LL));
    status_set(&si, MW_STATUS_RSS_SHMEM, KB(4503599627370495LL));
    status_set(&si, MW_STATUS_VM_SWAP, KB(1));
    status_set(&si, MW_STATUS_VM_PTE, 0);
    assert_int_equal(mw_linux_footprint(&si, &bytes), 0);
    assert_int_equal(bytes, (int64_t)(2 * 4503599627370495LL + 1) * 1024);
    /* Exactly INT64_MAX fits; one more does not. */
    status_set(&si, MW_STATUS_RSS_ANON, INT64_MAX - 3);
    status_set(&si, MW_STATUS_RSS_SHMEM, 1);
    status_set(&si, MW_STATUS_VM_SWAP, 1);
    status_set(&si, MW_STATUS_VM_PTE, 1);
    assert_int_equal(mw_linux_footprint(&si, &bytes), 0);
    assert_int_equal(bytes, INT64_MAX);
    status_set(&si, MW_STATUS_VM_PTE, 2);
    assert_int_equal(mw_linux_footprint(&si, &bytes), -ENODATA);
}

static void test_status_kernel_thread_and_zombie(void **state)
{
    mw_status_info si;
    mw_proc p;
    (void)state;
    /* A kernel thread: no memory lines, so no memory fields, no footprint. */
    memset(&si, 0, sizeof si);
    strcpy(si.name, "kthreadd");
    si.state = 'S';
    si.kthread = 1;
    status_set(&si, MW_STATUS_PID, 2);
    status_set(&si, MW_STATUS_THREADS, 1);
    mw_proc_init(&p);
    mw_linux_from_status(&si, &p);
    assert_int_equal(p.flags, MW_PROC_KTHREAD);
    assert_int_equal(p.present, ((uint64_t)1 << MW_F_PID) | ((uint64_t)1 << MW_F_THREADS));
    /* A zombie is marked by its state letter. */
    si.kthread = 0;
    si.state = 'Z';
    mw_proc_init(&p);
    mw_linux_from_status(&si, &p);
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.flags, MW_PROC_ZOMBIE);
}

/* ---- stat --------------------------------------------------------------------- */

static void ordinary_stat(mw_stat_info *si)
{
    memset(si, 0, sizeof *si);
    si->pid = 4242;
    strcpy(si->comm, "a b) c");
    si->state = 'R';
    si->ppid = 1234;
    si->utime = 123;
    si->stime = 77;
    si->num_threads = 9;
    si->starttime = 250;
}

static void test_stat_times(void **state)
{
    mw_stat_info si;
    mw_proc p;
    (void)state;
    ordinary_stat(&si);
    mw_proc_init(&p);
    mw_linux_from_stat(&si, 1, 100, 1000, &p);
    /* 200 ticks of 1/100 s; boot at 1000 s plus 2.5 s. */
    field_is(&p, MW_F_CPU_TIME, 2000000000);
    field_is(&p, MW_F_START_TIME, 1002500000000);
    /* With status read, stat's identity is left to it. */
    assert_int_equal(p.present, ((uint64_t)1 << MW_F_CPU_TIME) | ((uint64_t)1 << MW_F_START_TIME));
    assert_string_equal(p.name, "");
    assert_int_equal(p.flags, 0);
    /* A tick rate that does not divide a second: whole seconds, then the rest. */
    si.utime = 5;
    si.stime = 2;
    si.starttime = 4;
    mw_proc_init(&p);
    mw_linux_from_stat(&si, 1, 3, 0, &p);
    field_is(&p, MW_F_CPU_TIME, 2333333333);
    field_is(&p, MW_F_START_TIME, 1333333333);
    /* An unknown boot time: no start time. */
    mw_proc_init(&p);
    mw_linux_from_stat(&si, 1, 100, -1, &p);
    assert_false(mw_proc_has(&p, MW_F_START_TIME));
    mw_linux_set_start(&p, 100, 100, -1);
    assert_false(mw_proc_has(&p, MW_F_START_TIME));
    mw_linux_set_start(&p, 150, 100, 7);
    field_is(&p, MW_F_START_TIME, 8500000000);
}

static void test_stat_identity_without_status(void **state)
{
    mw_stat_info si;
    mw_proc p;
    (void)state;
    ordinary_stat(&si);
    si.state = 'Z';
    si.flags = MW_PF_KTHREAD;
    mw_proc_init(&p);
    mw_linux_from_stat(&si, 0, 100, 1000, &p);
    assert_string_equal(p.name, "a b) c");
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.flags, MW_PROC_KTHREAD | MW_PROC_ZOMBIE);
    field_is(&p, MW_F_PID, 4242);
    field_is(&p, MW_F_PPID, 1234);
    field_is(&p, MW_F_THREADS, 9);
    assert_false(mw_proc_has(&p, MW_F_UID));
}

/* ---- smaps_rollup, io, system --------------------------------------------------- */

static void smaps_set(mw_smaps_info *sm, enum mw_smaps_field f, int64_t v)
{
    sm->v[f] = v;
    sm->present |= (uint64_t)1 << f;
}

static void test_smaps_uss_and_fields(void **state)
{
    mw_smaps_info sm;
    mw_proc p;
    int64_t uss;
    (void)state;
    memset(&sm, 0, sizeof sm);
    smaps_set(&sm, MW_SMAPS_RSS, KB(1596));
    smaps_set(&sm, MW_SMAPS_PSS, KB(303));
    smaps_set(&sm, MW_SMAPS_SHARED_CLEAN, KB(1440));
    smaps_set(&sm, MW_SMAPS_PRIVATE_CLEAN, KB(40));
    smaps_set(&sm, MW_SMAPS_PRIVATE_DIRTY, KB(116));
    smaps_set(&sm, MW_SMAPS_LAZY_FREE, KB(64));
    smaps_set(&sm, MW_SMAPS_SWAP, KB(12));
    smaps_set(&sm, MW_SMAPS_SWAP_PSS, KB(8));
    mw_proc_init(&p);
    mw_linux_from_smaps(&sm, &p);
    field_is(&p, MW_F_PSS, KB(303));
    /* uss = Private_Clean + Private_Dirty. */
    field_is(&p, MW_F_USS, KB(40 + 116));
    field_is(&p, MW_F_SWAP_PSS, KB(8));
    field_is(&p, MW_F_LAZY_FREE, KB(64));
    assert_int_equal(p.present, ((uint64_t)1 << MW_F_PSS) | ((uint64_t)1 << MW_F_USS) |
                                    ((uint64_t)1 << MW_F_SWAP_PSS) |
                                    ((uint64_t)1 << MW_F_LAZY_FREE));
    /* An older kernel without LazyFree or SwapPss: those stay absent. */
    sm.present &= ~(((uint64_t)1 << MW_SMAPS_LAZY_FREE) | ((uint64_t)1 << MW_SMAPS_SWAP_PSS));
    mw_proc_init(&p);
    mw_linux_from_smaps(&sm, &p);
    assert_false(mw_proc_has(&p, MW_F_LAZY_FREE));
    assert_false(mw_proc_has(&p, MW_F_SWAP_PSS));
    field_is(&p, MW_F_USS, KB(156));
    /* uss needs both private counts, and a sum that fits. */
    sm.present &= ~((uint64_t)1 << MW_SMAPS_PRIVATE_DIRTY);
    assert_int_equal(mw_linux_uss(&sm, &uss), -ENODATA);
    mw_proc_init(&p);
    mw_linux_from_smaps(&sm, &p);
    assert_false(mw_proc_has(&p, MW_F_USS));
    field_is(&p, MW_F_PSS, KB(303));
    smaps_set(&sm, MW_SMAPS_PRIVATE_CLEAN, INT64_MAX);
    smaps_set(&sm, MW_SMAPS_PRIVATE_DIRTY, 1);
    assert_int_equal(mw_linux_uss(&sm, &uss), -ENODATA);
    smaps_set(&sm, MW_SMAPS_PRIVATE_DIRTY, 0);
    assert_int_equal(mw_linux_uss(&sm, &uss), 0);
    assert_int_equal(uss, INT64_MAX);
}

static void test_io(void **state)
{
    mw_io_info io;
    mw_proc p;
    (void)state;
    memset(&io, 0, sizeof io);
    io.rchar = 1;
    io.read_bytes = 4096;
    io.write_bytes = 8192;
    mw_proc_init(&p);
    mw_linux_from_io(&io, &p);
    field_is(&p, MW_F_DISK_READ, 4096);
    field_is(&p, MW_F_DISK_WRITTEN, 8192);
    assert_int_equal(p.present,
                     ((uint64_t)1 << MW_F_DISK_READ) | ((uint64_t)1 << MW_F_DISK_WRITTEN));
}

static void test_system(void **state)
{
    mw_meminfo mi;
    mw_psi psi;
    mw_system s;
    (void)state;
    memset(&mi, 0, sizeof mi);
    mi.present = ((uint64_t)1 << MW_SYS_TOTAL) | ((uint64_t)1 << MW_SYS_AVAILABLE);
    mi.total = KB(8000000);
    mi.available = KB(6000000);
    memset(&s, 0, sizeof s);
    mw_linux_from_system(&mi, NULL, &s);
    assert_int_equal(s.present, mi.present);
    assert_int_equal(s.total, KB(8000000));
    assert_int_equal(s.available, KB(6000000));
    memset(&psi, 0, sizeof psi);
    psi.has_some = 1;
    psi.some_avg10 = 1.5;
    psi.some_avg60 = 0.25;
    psi.full_avg10 = 9; /* not shown without has_full */
    memset(&s, 0, sizeof s);
    mw_linux_from_system(&mi, &psi, &s);
    assert_int_equal(s.present, mi.present | ((uint64_t)1 << MW_SYS_PSI));
    assert_true(s.some_avg10 == 1.5 && s.some_avg60 == 0.25 && s.full_avg10 == 0);
    psi.has_full = 1;
    psi.full_avg60 = 2;
    memset(&s, 0, sizeof s);
    mw_linux_from_system(&mi, &psi, &s);
    assert_int_equal(s.present,
                     mi.present | ((uint64_t)1 << MW_SYS_PSI) | ((uint64_t)1 << MW_SYS_PSI_FULL));
    assert_true(s.full_avg10 == 9 && s.full_avg60 == 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_fields_and_footprint),
        cmocka_unit_test(test_footprint_needs_all_four_terms),
        cmocka_unit_test(test_footprint_sum_overflow),
        cmocka_unit_test(test_status_kernel_thread_and_zombie),
        cmocka_unit_test(test_stat_times),
        cmocka_unit_test(test_stat_identity_without_status),
        cmocka_unit_test(test_smaps_uss_and_fields),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
