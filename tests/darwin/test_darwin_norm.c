/*
 * The pure half of the darwin backend (darwin_norm.c), fed hand-made kernel
 * rows: no fake, no fixture files except the article's ledger table.
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
#include <sys/proc.h>

#include "backend/darwin/darwin_norm.h"

static const mw_darwin_timebase intel = {1, 1};
static const mw_darwin_timebase apple = {125, 3};

/* ---- time ---------------------------------------------------------------------- */

static void test_timebase_choose(void **state)
{
    mw_darwin_timebase tb;
    (void)state;

    assert_int_equal(mw_darwin_timebase_choose(1, 1, 0, 1000000000, &tb), 0);
    assert_int_equal(tb.numer, 1);
    assert_int_equal(tb.denom, 1);
    assert_int_equal(mw_darwin_timebase_choose(125, 3, 0, 24000000, &tb), 0);
    assert_int_equal(tb.numer, 125);
    assert_int_equal(tb.denom, 3);
    /* Rosetta: mach_timebase_info lies (1/1); hw.tbfrequency does not. */
    assert_int_equal(mw_darwin_timebase_choose(1, 1, 1, 24000000, &tb), 0);
    assert_int_equal(tb.numer, 125);
    assert_int_equal(tb.denom, 3);
    /* Rosetta without hw.tbfrequency: only Apple Silicon runs Rosetta. */
    assert_int_equal(mw_darwin_timebase_choose(1, 1, 1, 0, &tb), 0);
    assert_int_equal(tb.numer, 125);
    assert_int_equal(tb.denom, 3);
    /* Unreduced ratios are reduced. */
    assert_int_equal(mw_darwin_timebase_choose(1000000000, 24000000, 0, 0, &tb), 0);
    assert_int_equal(tb.numer, 125);
    assert_int_equal(tb.denom, 3);
    assert_int_equal(mw_darwin_timebase_choose(0, 0, 0, 1000000000, &tb), 0);
    assert_int_equal(tb.numer, 1);
    assert_int_equal(mw_darwin_timebase_choose(0, 0, 0, 0, &tb), MW_EINVAL);
}

static void test_mach_to_ns(void **state)
{
    (void)state;
    assert_int_equal(mw_darwin_mach_to_ns(&intel, 4881264), 4881264);
    /* The article's cpu_time read as Apple Silicon ticks. */
    assert_int_equal(mw_darwin_mach_to_ns(&apple, 4881264), 203386000);
    assert_int_equal(mw_darwin_mach_to_ns(&apple, 3), 125);
    assert_int_equal(mw_darwin_mach_to_ns(&apple, 1), 41);
    assert_int_equal(mw_darwin_mach_to_ns(&apple, 24000000), 1000000000);
    assert_true(mw_darwin_mach_to_ns(&apple, UINT64_MAX) == INT64_MAX);
    assert_true(mw_darwin_mach_to_ns(&intel, UINT64_MAX) == INT64_MAX);
    /* Near the top, without overflowing on the way. */
    assert_true(mw_darwin_mach_to_ns(&apple, (uint64_t)INT64_MAX / 125 * 3) ==
                (int64_t)((uint64_t)INT64_MAX / 125 * 125));
}

/* ---- one process ------------------------------------------------------------------ */

static void own_raw(mw_darwin_raw *raw)
{
    mw_darwin_raw_init(raw, 4242);
    raw->short_err = 0;
    raw->sbi.pbsi_pid = 4242;
    raw->sbi.pbsi_ppid = 4200;
    raw->sbi.pbsi_uid = 501;
    raw->sbi.pbsi_status = SRUN;
    strcpy(raw->sbi.pbsi_comm, "zsh");
    raw->bsd_err = 0;
    raw->bi.pbi_pid = 4242;
    raw->bi.pbi_status = SRUN;
    raw->bi.pbi_start_tvsec = 1751284800;
    raw->bi.pbi_start_tvusec = 123456;
    strcpy(raw->bi.pbi_name, "a longer registered name");
    raw->uniq_err = 0;
    raw->uniq.p_uniqueid = 10931;
    raw->task_err = 0;
    raw->ti.pti_threadnum = 3;
    raw->ti.pti_virtual_size = 420906401792;
    raw->rusage_err = 0;
    raw->rusage_flavor = RUSAGE_INFO_V6;
    raw->ru.ri_phys_footprint = 8783104;
    raw->ru.ri_resident_size = 8765440;
    raw->ru.ri_wired_size = 16384;
    raw->ru.ri_lifetime_max_phys_footprint = 9830400;
    raw->ru.ri_interval_max_phys_footprint = 8798208;
    raw->ru.ri_user_time = 3000000;
    raw->ru.ri_system_time = 1881264;
    raw->ru.ri_diskio_bytesread = 7340032;
    raw->ru.ri_diskio_byteswritten = 57344;
}

static void test_proc_own(void **state)
{
    mw_darwin_raw raw;
    mw_proc p;
    (void)state;

    own_raw(&raw);
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_ALL, &p), 0);
    assert_int_equal(p.pid, 4242);
    /* p_comm, the one name every uid can read; not pbi_name. */
    assert_string_equal(p.name, "zsh");
    assert_int_equal(p.state, 'R');
    assert_int_equal(p.v[MW_F_PPID], 4200);
    assert_int_equal(p.v[MW_F_UID], 501);
    assert_int_equal(p.v[MW_F_FOOTPRINT], 8783104);
    assert_int_equal(p.v[MW_F_RESIDENT], 8765440);
    assert_int_equal(p.v[MW_F_WIRED], 16384);
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 9830400);
    assert_int_equal(p.v[MW_F_FOOTPRINT_INTERVAL_PEAK], 8798208);
    assert_int_equal(p.v[MW_F_CPU_TIME], 203386000);
    assert_int_equal(p.v[MW_F_DISK_READ], 7340032);
    assert_int_equal(p.v[MW_F_DISK_WRITTEN], 57344);
    assert_true(p.v[MW_F_START_TIME] == INT64_C(1751284800123456000));
    assert_int_equal(p.v[MW_F_UNIQUE_ID], 10931);
    assert_int_equal(p.v[MW_F_THREADS], 3);
    assert_true(p.v[MW_F_VIRTUAL] == INT64_C(420906401792));
    assert_int_equal(p.read, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IO);
    assert_int_equal(p.denied, 0);
    /* Linux-only fields stay absent rather than zero. */
    assert_false(mw_proc_has(&p, MW_F_PSS));
    assert_false(mw_proc_has(&p, MW_F_RSS_ANON));
    mw_proc_release(&p);
    mw_darwin_raw_release(&raw);
}

static void test_proc_flavor_prefix(void **state)
{
    mw_darwin_raw raw;
    mw_proc p;
    (void)state;

    /* V2: the kernel copied 160 bytes; whatever lies past them is not data. */
    own_raw(&raw);
    raw.rusage_flavor = RUSAGE_INFO_V2;
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &intel, MW_SRC_ALL, &p), 0);
    assert_true(mw_proc_has(&p, MW_F_FOOTPRINT));
    assert_true(mw_proc_has(&p, MW_F_RESIDENT));
    assert_true(mw_proc_has(&p, MW_F_DISK_READ));
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT_PEAK));
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT_INTERVAL_PEAK));
    mw_proc_release(&p);

    raw.rusage_flavor = RUSAGE_INFO_V4;
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &intel, MW_SRC_ALL, &p), 0);
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 9830400);
    assert_int_equal(p.v[MW_F_FOOTPRINT_INTERVAL_PEAK], 8798208);
    mw_proc_release(&p);
}

static void foreign_raw(mw_darwin_raw *raw)
{
    mw_darwin_raw_init(raw, 88);
    raw->short_err = 0;
    raw->sbi.pbsi_pid = 88;
    raw->sbi.pbsi_ppid = 1;
    raw->sbi.pbsi_uid = 88;
    raw->sbi.pbsi_status = SRUN;
    strcpy(raw->sbi.pbsi_comm, "WindowServer");
    raw->rusage_err = EPERM;
    raw->bsd_err = EPERM;
    raw->task_err = EPERM;
    raw->uniq_err = 0;
    raw->uniq.p_uniqueid = 152;
    raw->path_err = 0;
    raw->path =
        strdup("/System/Library/PrivateFrameworks/SkyLight.framework/Resources/WindowServer");
    raw->args_err = EINVAL;
}

static void test_proc_foreign(void **state)
{
    mw_darwin_raw raw;
    mw_proc p;
    (void)state;

    foreign_raw(&raw);
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_ALL, &p), 0);
    assert_string_equal(p.name, "WindowServer");
    assert_int_equal(p.v[MW_F_UID], 88);
    assert_int_equal(p.v[MW_F_PPID], 1);
    assert_int_equal(p.v[MW_F_UNIQUE_ID], 152);
    assert_non_null(p.path);
    assert_null(raw.path); /* moved, not copied */
    /* Refused, so absent: never zero, never guessed. */
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    assert_false(mw_proc_has(&p, MW_F_RESIDENT));
    assert_false(mw_proc_has(&p, MW_F_CPU_TIME));
    assert_false(mw_proc_has(&p, MW_F_START_TIME));
    assert_false(mw_proc_has(&p, MW_F_THREADS));
    assert_int_equal(p.denied, MW_SRC_STATUS | MW_SRC_STAT | MW_SRC_IO | MW_SRC_CMDLINE);
    assert_int_equal(p.read, MW_SRC_PATH);
    mw_proc_release(&p);
    mw_darwin_raw_release(&raw);
}

static void test_proc_gone(void **state)
{
    mw_darwin_raw raw;
    mw_proc p;
    (void)state;

    mw_darwin_raw_init(&raw, 4300);
    raw.short_err = ESRCH;
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_ALL, &p), -ESRCH);

    /* Found by the first call, reaped before the next. */
    own_raw(&raw);
    raw.rusage_err = ESRCH;
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_ALL, &p), -ESRCH);
    mw_proc_release(&p);

    /* A sandbox refusing even the identity: nothing to show. */
    mw_darwin_raw_init(&raw, 77);
    raw.short_err = EPERM;
    raw.rusage_err = EPERM;
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_STATUS, &p), -EPERM);
    mw_proc_release(&p);
}

static void test_proc_zombie(void **state)
{
    mw_darwin_raw raw;
    mw_proc p;
    (void)state;

    own_raw(&raw);
    raw.sbi.pbsi_status = SZOMB;
    raw.bi.pbi_status = SZOMB;
    raw.task_err = ESRCH; /* no task left: not "vanished" */
    raw.ru.ri_proc_exit_abstime = 960000000;
    mw_proc_init(&p);
    assert_int_equal(mw_darwin_proc_from_raw(&raw, &apple, MW_SRC_ALL, &p), 0);
    assert_true(p.flags & MW_PROC_ZOMBIE);
    assert_int_equal(p.state, 'Z');
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT));
    assert_false(mw_proc_has(&p, MW_F_RESIDENT));
    assert_false(mw_proc_has(&p, MW_F_FOOTPRINT_INTERVAL_PEAK));
    assert_int_equal(p.v[MW_F_FOOTPRINT_PEAK], 9830400);
    assert_int_equal(p.v[MW_F_CPU_TIME], 203386000);
    assert_int_equal(p.denied, 0);
    mw_proc_release(&p);
}

static void test_state_letters(void **state)
{
    (void)state;
    assert_int_equal(mw_darwin_state_letter(SIDL), 'R');
    assert_int_equal(mw_darwin_state_letter(SRUN), 'R');
    assert_int_equal(mw_darwin_state_letter(SSLEEP), 'S');
    assert_int_equal(mw_darwin_state_letter(SSTOP), 'T');
    assert_int_equal(mw_darwin_state_letter(SZOMB), 'Z');
    assert_int_equal(mw_darwin_state_letter(99), 0);
}

static void test_procargs2(void **state)
{
    char buf[128];
    char *cmd = NULL;
    int argc = 3;
    size_t pos;
    (void)state;

    memset(buf, 0, sizeof buf);
    memcpy(buf, &argc, sizeof argc);
    pos = sizeof argc;
    memcpy(buf + pos, "/bin/zsh", 8);
    pos = 16; /* path, NUL, padding */
    memcpy(buf + pos, "zsh\0-l\0-c\0HOME=/Users/alice\0", 28);
    pos += 28;
    assert_int_equal(mw_darwin_procargs2_cmdline(buf, pos, &cmd), 0);
    assert_string_equal(cmd, "zsh -l -c");
    free(cmd);

    /* argc promises more strings than the buffer holds. */
    argc = 9;
    memcpy(buf, &argc, sizeof argc);
    assert_int_equal(mw_darwin_procargs2_cmdline(buf, pos, &cmd), MW_EPARSE);
    assert_null(cmd);
    argc = 0;
    memcpy(buf, &argc, sizeof argc);
    assert_int_equal(mw_darwin_procargs2_cmdline(buf, pos, &cmd), 0);
    assert_null(cmd);
    assert_int_equal(mw_darwin_procargs2_cmdline(buf, 2, &cmd), MW_EPARSE);
}

/* ---- the system -------------------------------------------------------------------- */

static void test_system(void **state)
{
    mw_darwin_sys_raw raw;
    mw_system s;
    (void)state;

    memset(&raw, 0, sizeof raw);
    memset(&s, 0, sizeof s);
    raw.have_memsize = 1;
    raw.memsize = UINT64_C(34359738368);
    raw.have_vm = 1;
    raw.page_size = 16384;
    raw.vm.free_count = 40960;
    raw.vm.speculative_count = 10240;
    raw.vm.active_count = 655360;
    raw.vm.inactive_count = 614400;
    raw.vm.wire_count = 196608;
    raw.vm.purgeable_count = 2048;
    raw.vm.compressor_page_count = 131072;
    raw.vm.external_page_count = 409600;
    raw.have_swap = 1;
    raw.swap.xsu_total = UINT64_C(4294967296);
    raw.swap.xsu_avail = UINT64_C(1073741824);
    raw.have_pressure = 1;
    raw.pressure = 2;
    mw_darwin_system_from_raw(&raw, &s);
    assert_true(s.total == INT64_C(34359738368));
    assert_true(s.free == INT64_C(30720) * 16384);
    /* (free - speculative) + external + purgeable */
    assert_true(s.available == INT64_C(442368) * 16384);
    assert_true(s.active == INT64_C(655360) * 16384);
    assert_true(s.inactive == INT64_C(614400) * 16384);
    assert_true(s.wired == INT64_C(196608) * 16384);
    assert_true(s.compressed == INT64_C(131072) * 16384);
    assert_true(s.swap_total == INT64_C(4294967296));
    assert_true(s.swap_free == INT64_C(1073741824));
    assert_int_equal(s.pressure_level, 2);
    assert_true(s.present & ((uint64_t)1 << MW_SYS_PRESSURE_LEVEL));
    assert_false(s.present & ((uint64_t)1 << MW_SYS_PSI));

    memset(&raw, 0, sizeof raw);
    memset(&s, 0, sizeof s);
    mw_darwin_system_from_raw(&raw, &s);
    assert_int_equal(s.present, 0);
}

/* ---- ledgers ------------------------------------------------------------------------ */

static void tmpl_set(struct ledger_template_info *t, const char *group, const char *name,
                     const char *units)
{
    memset(t, 0, sizeof *t);
    memcpy(t->lti_group, group, strlen(group));
    memcpy(t->lti_name, name, strlen(name));
    memcpy(t->lti_units, units, strlen(units));
}

static void test_ledger_build(void **state)
{
    struct ledger_template_info t[5];
    struct ledger_entry_info e[5];
    mw_ledger l;
    const mw_ledger_row *r;
    (void)state;

    tmpl_set(&t[0], "sched", "cpu_time", "ns");
    tmpl_set(&t[1], "physmem", "phys_footprint", "bytes");
    tmpl_set(&t[2], "sched", "cpu_time_billed_to_me", "ns");
    tmpl_set(&t[3], "physmem", "memorystatus_dirty_time", "ns");
    /* A name filling all 32 bytes, without a NUL. */
    tmpl_set(&t[4], "physmem", "abcdefghijklmnopqrstuvwxyz012345", "bytes");
    memset(e, 0, sizeof e);
    e[0].lei_balance = e[0].lei_credit = 4881264;
    e[1].lei_balance = e[1].lei_credit = 8783104;
    e[2].lei_balance = e[2].lei_credit = 24757;
    e[3].lei_balance = e[3].lei_credit = 5000;
    e[4].lei_balance = 7;
    mw_ledger_init(&l);
    /* Only as many rows as both arrays have. */
    assert_int_equal(mw_darwin_ledger_build(t, 5, e, 4, &apple, &l), 0);
    assert_int_equal(l.count, 4);
    r = mw_ledger_find(&l, "sched", "cpu_time");
    assert_non_null(r);
    assert_int_equal(r->balance, 203386000);
    assert_int_equal(r->credit, 203386000);
    assert_int_equal(r->debit, 0);
    assert_true(r->has_credit && r->has_debit);
    assert_string_equal(r->unit, "ns");
    r = mw_ledger_find(&l, NULL, "cpu_time_billed_to_me");
    assert_int_equal(r->balance, 1031541); /* 24757 * 125 / 3, rounded down */
    /* Really ns: the kernel converts before crediting it. */
    r = mw_ledger_find(&l, NULL, "memorystatus_dirty_time");
    assert_int_equal(r->balance, 5000);
    r = mw_ledger_find(&l, NULL, "phys_footprint");
    assert_int_equal(r->balance, 8783104);
    mw_ledger_release(&l);

    mw_ledger_init(&l);
    assert_int_equal(mw_darwin_ledger_build(t, 5, e, 5, &intel, &l), 0);
    assert_int_equal(mw_ledger_find(&l, NULL, "cpu_time")->balance, 4881264);
    assert_non_null(mw_ledger_find(&l, NULL, "abcdefghijklmnopqrstuvwxyz012345"));
    mw_ledger_release(&l);
}

/* The article's `ledger $$` table, parsed back into rows. */
static void load_article(mw_ledger *l)
{
    char line[256];
    FILE *f = fopen(MW_DARWIN_FIXTURES_DIR "/article-ledger.expected", "r");

    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f)); /* ledger of 639 (sshd), user root */
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char group[32], name[64], unit[16];
        long long b, c, d;
        int64_t cc, dd;
        assert_int_equal(
            sscanf(line, "%31s %63s %lld %lld %lld %15s", group, name, &b, &c, &d, unit), 6);
        cc = c;
        dd = d;
        assert_int_equal(mw_ledger_add(l, group, name, unit, b, &cc, &dd), 0);
    }
    fclose(f);
}

static void test_footprint_formula_article(void **state)
{
    mw_ledger l;
    int64_t fp = 0;
    (void)state;

    mw_ledger_init(&l);
    load_article(&l);
    assert_int_equal(l.count, 66);
    assert_int_equal(mw_darwin_footprint_formula_len, 8);
    assert_int_equal(mw_darwin_footprint_from_ledger(&l, &fp), 0);
    /* (6930432 - 16384) + (1507328 - 0) + 0 + 16384 + 0 + 345344 */
    assert_int_equal(fp, 8783104);
    assert_int_equal(fp, mw_ledger_find(&l, "physmem", "phys_footprint")->balance);
    mw_ledger_release(&l);

    /* A ledger without one of the terms cannot be checked. */
    mw_ledger_init(&l);
    assert_int_equal(mw_ledger_add(&l, "physmem", "internal", "bytes", 1, NULL, NULL), 0);
    assert_int_equal(mw_darwin_footprint_from_ledger(&l, &fp), -ENOENT);
    mw_ledger_release(&l);
}

/* ---- coalitions ------------------------------------------------------------------------ */

static void test_app_key_format(void **state)
{
    char buf[32], tiny[8];
    (void)state;
    assert_int_equal(mw_darwin_app_key_format(1234, buf, sizeof buf), 0);
    assert_string_equal(buf, "coalition:1234");
    assert_int_equal(mw_darwin_app_key_format(0, buf, sizeof buf), -ENOENT);
    assert_int_equal(mw_darwin_app_key_format(1234, tiny, sizeof tiny), -ERANGE);
}

static void test_coalition_ledger(void **state)
{
    struct coalition_resource_usage cru;
    mw_ledger l;
    (void)state;

    memset(&cru, 0, sizeof cru);
    cru.tasks_started = 31;
    cru.cpu_time = 2400000000;         /* ticks */
    cru.time_nonempty = 3600000000000; /* already ns */
    cru.phys_footprint = 1073741824;
    mw_ledger_init(&l);
    assert_int_equal(mw_darwin_coalition_ledger(&cru, &apple, &l), 0);
    assert_true(mw_ledger_find(&l, "coalition", "cpu_time")->balance == INT64_C(100000000000));
    assert_true(mw_ledger_find(&l, "coalition", "time_nonempty")->balance ==
                INT64_C(3600000000000));
    assert_int_equal(mw_ledger_find(&l, "coalition", "tasks_started")->balance, 31);
    assert_int_equal(mw_ledger_find(&l, "coalition", "phys_footprint")->balance, 1073741824);
    assert_false(mw_ledger_find(&l, "coalition", "cpu_time")->has_credit);
    mw_ledger_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timebase_choose), cmocka_unit_test(test_mach_to_ns),
        cmocka_unit_test(test_proc_own),        cmocka_unit_test(test_proc_flavor_prefix),
        cmocka_unit_test(test_proc_foreign),    cmocka_unit_test(test_proc_gone),
        cmocka_unit_test(test_proc_zombie),     cmocka_unit_test(test_state_letters),
        cmocka_unit_test(test_procargs2),       cmocka_unit_test(test_system),
        cmocka_unit_test(test_ledger_build),    cmocka_unit_test(test_footprint_formula_article),
        cmocka_unit_test(test_app_key_format),  cmocka_unit_test(test_coalition_ledger),
    };
    return cmocka_run_group_tests_name("darwin_norm", tests, NULL, NULL);
}
