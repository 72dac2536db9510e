/*
 * The pure /proc parsers of the Linux backend (src/backend/linux/parse.c),
 * fed literal buffers. Every buffer is copied into a heap block of exactly
 * its length with no terminating NUL, so ASan reports any read past len.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linux/parse.h"
#include "memwatch/memwatch.h"

#define KB(n) ((int64_t)(n)*1024)

/* A heap copy of s[0..n) with nothing after it. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static int parse_status(const char *text, size_t len, mw_status_info *si)
{
    char *b = exact(text, len);
    int rc = mw_parse_status(b, len, si);
    free(b);
    return rc;
}

static int parse_stat(const char *text, size_t len, mw_stat_info *si)
{
    char *b = exact(text, len);
    int rc = mw_parse_stat(b, len, si);
    free(b);
    return rc;
}

static const char *const status_names[MW_STATUS_COUNT] = {
    [MW_STATUS_PID] = "Pid",
    [MW_STATUS_PPID] = "PPid",
    [MW_STATUS_EUID] = "Uid",
    [MW_STATUS_THREADS] = "Threads",
    [MW_STATUS_VM_SIZE] = "VmSize",
    [MW_STATUS_VM_LCK] = "VmLck",
    [MW_STATUS_VM_HWM] = "VmHWM",
    [MW_STATUS_VM_RSS] = "VmRSS",
    [MW_STATUS_RSS_ANON] = "RssAnon",
    [MW_STATUS_RSS_FILE] = "RssFile",
    [MW_STATUS_RSS_SHMEM] = "RssShmem",
    [MW_STATUS_VM_PTE] = "VmPTE",
    [MW_STATUS_VM_SWAP] = "VmSwap",
};

/* Assert status field f was read with value want (a readable failure otherwise). */
static void field_is(const mw_status_info *si, enum mw_status_field f, int64_t want)
{
    if (!mw_status_has(si, f))
        fail_msg("%s absent, want %lld", status_names[f], (long long)want);
    if (si->v[f] != want)
        fail_msg("%s = %lld, want %lld", status_names[f], (long long)si->v[f], (long long)want);
}

static void field_absent(const mw_status_info *si, enum mw_status_field f)
{
    if (mw_status_has(si, f))
        fail_msg("%s present (%lld), want absent", status_names[f], (long long)si->v[f]);
}

static const enum mw_status_field memory_fields[] = {
    MW_STATUS_VM_SIZE,   MW_STATUS_VM_LCK,   MW_STATUS_VM_HWM,
    MW_STATUS_VM_RSS,    MW_STATUS_RSS_ANON, MW_STATUS_RSS_FILE,
    MW_STATUS_RSS_SHMEM, MW_STATUS_VM_PTE,   MW_STATUS_VM_SWAP,
};

static void no_memory_fields(const mw_status_info *si)
{
    for (size_t i = 0; i < sizeof memory_fields / sizeof memory_fields[0]; i++)
        field_absent(si, memory_fields[i]);
}

/* ---- status ------------------------------------------------------------------ */

static const char status_normal[] = "Name:\tfirefox\n"
                                    "Umask:\t0022\n"
                                    "State:\tS (sleeping)\n"
                                    "Tgid:\t4242\n"
                                    "Ngid:\t0\n"
                                    "Pid:\t4242\n"
                                    "PPid:\t1234\n"
                                    "TracerPid:\t0\n"
                                    "Uid:\t1000\t1001\t1002\t1003\n"
                                    "Gid:\t1000\t1000\t1000\t1000\n"
                                    "FDSize:\t256\n"
                                    "Kthread:\t0\n"
                                    "VmPeak:\t  812345 kB\n"
                                    "VmSize:\t  800000 kB\n"
                                    "VmLck:\t      16 kB\n"
                                    "VmPin:\t       0 kB\n"
                                    "VmHWM:\t  150000 kB\n"
                                    "VmRSS:\t  120000 kB\n"
                                    "RssAnon:\t   90000 kB\n"
                                    "RssFile:\t   25000 kB\n"
                                    "RssShmem:\t    5000 kB\n"
                                    "VmData:\t  300000 kB\n"
                                    "VmStk:\t     132 kB\n"
                                    "VmExe:\t      20 kB\n"
                                    "VmLib:\t    1528 kB\n"
                                    "VmPTE:\t     700 kB\n"
                                    "VmSwap:\t    3000 kB\n"
                                    "HugetlbPages:\t       0 kB\n"
                                    "Threads:\t57\n"
                                    "SigQ:\t0/96365\n"
                                    "voluntary_ctxt_switches:\t10\n"
                                    "nonvoluntary_ctxt_switches:\t2\n";

static void test_status_normal(void **state)
{
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(status_normal, sizeof status_normal - 1, &p), MW_OK);
    assert_string_equal(p.name, "firefox");
    assert_int_equal(p.state, 'S');
    assert_int_equal(p.kthread, 0);
    field_is(&p, MW_STATUS_PID, 4242);
    field_is(&p, MW_STATUS_PPID, 1234);
    field_is(&p, MW_STATUS_EUID, 1001); /* the effective uid, second column */
    field_is(&p, MW_STATUS_THREADS, 57);
    field_is(&p, MW_STATUS_VM_SIZE, KB(800000));
    field_is(&p, MW_STATUS_VM_LCK, KB(16));
    field_is(&p, MW_STATUS_VM_HWM, KB(150000));
    field_is(&p, MW_STATUS_VM_RSS, KB(120000));
    field_is(&p, MW_STATUS_RSS_ANON, KB(90000));
    field_is(&p, MW_STATUS_RSS_FILE, KB(25000));
    field_is(&p, MW_STATUS_RSS_SHMEM, KB(5000));
    field_is(&p, MW_STATUS_VM_PTE, KB(700));
    field_is(&p, MW_STATUS_VM_SWAP, KB(3000));
    /* Every field we read, and nothing else (footprint is normalize.c's). */
    assert_int_equal(p.present, ((uint64_t)1 << MW_STATUS_COUNT) - 1);
}

static void test_status_old_kernel_without_rss_shmem(void **state)
{
    /* An old kernel without RssShmem: the line stays absent (and with it the
     * footprint, which needs all four terms: test_linux_normalize). */
    static const char text[] = "Name:\told\nState:\tR (running)\nVmRSS:\t100 kB\n"
                               "RssAnon:\t60 kB\nRssFile:\t40 kB\nVmPTE:\t8 kB\nVmSwap:\t0 kB\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    field_is(&p, MW_STATUS_RSS_ANON, KB(60));
    field_is(&p, MW_STATUS_VM_PTE, KB(8));
    field_is(&p, MW_STATUS_VM_SWAP, 0);
    field_absent(&p, MW_STATUS_RSS_SHMEM);
}

static void test_status_hostile_name(void **state)
{
    /* comm "a b) Z (c" with a newline and a backslash: the kernel escapes
     * only '\n' and '\\' in the Name line. */
    static const char text[] = "Name:\ta b) Z\\n(c\\\\d\n"
                               "State:\tR (running)\n"
                               "PPid:\t1\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_string_equal(p.name, "a b) Z\n(c\\d");
    assert_int_equal(p.state, 'R');
    field_is(&p, MW_STATUS_PPID, 1);
}

static void test_status_name_tab_and_unknown_escape(void **state)
{
    /* "\t" is undone as well; an escape the kernel never writes stays as it is. */
    static const char text[] = "Name:\tx\\ty\\qz\\\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_string_equal(p.name, "x\ty\\qz\\");
}

static void test_status_long_name_is_truncated_in_bounds(void **state)
{
    /* 30 characters, then an unknown escape: the unescaper must stop at
     * MW_COMM_SIZE - 1 characters without writing past name[]. There is no
     * State line, so state, the byte right after name[], must stay 0. */
    char text[128];
    char want[MW_COMM_SIZE];
    mw_status_info p;
    size_t n;
    int rc;
    char *b;
    (void)state;
    memset(want, 'a', MW_COMM_SIZE - 2);
    want[MW_COMM_SIZE - 2] = '\\';
    want[MW_COMM_SIZE - 1] = '\0';
    n = (size_t)snprintf(text, sizeof text, "Name:\t%.30s\\q\n", want);
    b = exact(text, n);
    rc = mw_parse_status(b, n, &p);
    free(b);
    assert_int_equal(offsetof(mw_status_info, state),
                     offsetof(mw_status_info, name) + MW_COMM_SIZE);
    assert_int_equal(p.state, 0);
    assert_int_equal(rc, MW_OK);
    assert_int_equal(strlen(p.name), MW_COMM_SIZE - 1);
    assert_memory_equal(p.name, want, MW_COMM_SIZE - 1);
}

static void test_status_name_keeps_edge_spaces(void **state)
{
    /* prctl(PR_SET_NAME, " x ") is legal; stat shows "( x )" and the status
     * Name line is "Name:\t x \n". The name should be " x " in both. */
    static const char text[] = "Name:\t x \nState:\tS (sleeping)\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_string_equal(p.name, " x ");
}

static void test_status_kernel_thread(void **state)
{
    static const char text[] = "Name:\tkthreadd\n"
                               "Umask:\t0022\n"
                               "State:\tS (sleeping)\n"
                               "Tgid:\t2\n"
                               "Pid:\t2\n"
                               "PPid:\t0\n"
                               "Uid:\t0\t0\t0\t0\n"
                               "Kthread:\t1\n"
                               "Threads:\t1\n"
                               "SigQ:\t0/96365\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_string_equal(p.name, "kthreadd");
    assert_int_equal(p.kthread, 1);
    field_is(&p, MW_STATUS_PID, 2);
    field_is(&p, MW_STATUS_PPID, 0);
    field_is(&p, MW_STATUS_EUID, 0);
    field_is(&p, MW_STATUS_THREADS, 1);
    no_memory_fields(&p);
}

static void test_status_zombie(void **state)
{
    static const char text[] = "Name:\tdefunct\n"
                               "State:\tZ (zombie)\n"
                               "Pid:\t777\n"
                               "PPid:\t776\n"
                               "Uid:\t1000\t1000\t1000\t1000\n"
                               "Kthread:\t0\n"
                               "Threads:\t1\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_int_equal(p.state, 'Z');
    assert_int_equal(p.kthread, 0);
    field_is(&p, MW_STATUS_PPID, 776);
    field_is(&p, MW_STATUS_EUID, 1000);
    no_memory_fields(&p);
}

static void test_status_truncated(void **state)
{
    mw_status_info p;
    const char *cut = strstr(status_normal, "RssFile:");
    size_t len = (size_t)(cut - status_normal);
    (void)state;
    /* Cut at a line boundary: what came before is there, nothing after. */
    assert_int_equal(parse_status(status_normal, len, &p), MW_OK);
    assert_string_equal(p.name, "firefox");
    field_is(&p, MW_STATUS_VM_RSS, KB(120000));
    field_is(&p, MW_STATUS_RSS_ANON, KB(90000));
    field_absent(&p, MW_STATUS_RSS_FILE);
    field_absent(&p, MW_STATUS_RSS_SHMEM);
    field_absent(&p, MW_STATUS_VM_SWAP);
    field_absent(&p, MW_STATUS_THREADS);
    /* Cut inside a unit: "RssFile:\t   25000 k" is not a size. */
    len = (size_t)(strstr(status_normal, "RssFile:") - status_normal) +
          strlen("RssFile:\t   25000 k");
    assert_int_equal(parse_status(status_normal, len, &p), MW_OK);
    field_absent(&p, MW_STATUS_RSS_FILE);
    /* Cut inside the Name line ("Name:\tfi"): a name as far as it goes. */
    assert_int_equal(parse_status(status_normal, 8, &p), MW_OK);
    assert_string_equal(p.name, "fi");
    /* Cut before the colon of Name: no name, not a status file. */
    assert_int_equal(parse_status(status_normal, 4, &p), MW_EPARSE);
    assert_int_equal(parse_status(status_normal, 0, &p), MW_EPARSE);
}

static void test_status_truncated_before_unit(void **state)
{
    /* "VmRSS:\t  120000" cut before " kB" is a truncated kB value, not 120000 bytes. */
    static const char text[] = "Name:\tx\nVmRSS:\t  120000";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    field_absent(&p, MW_STATUS_VM_RSS);
}

static void test_status_missing_name(void **state)
{
    static const char text[] = "Umask:\t0022\nState:\tR (running)\nPid:\t5\nVmRSS:\t1 kB\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_EPARSE);
    /* "Names:" or "name:" are not "Name:". */
    assert_int_equal(parse_status("Names:\tx\n", 9, &p), MW_EPARSE);
    assert_int_equal(parse_status("name:\tx\n", 8, &p), MW_EPARSE);
    assert_int_equal(parse_status("garbage without colons", 22, &p), MW_EPARSE);
}

static void test_status_junk_values_stay_absent(void **state)
{
    static const char text[] = "Name:\tj\nPPid:\tx\nUid:\t1000\nThreads:\t\nVmRSS:\tlots kB\n"
                               "RssAnon:\t-5 kB\nVmPTE:\t4 MB\n:\n\n\n";
    mw_status_info p;
    (void)state;
    assert_int_equal(parse_status(text, sizeof text - 1, &p), MW_OK);
    assert_string_equal(p.name, "j");
    field_absent(&p, MW_STATUS_PPID);
    field_absent(&p, MW_STATUS_EUID); /* one column: no effective uid */
    field_absent(&p, MW_STATUS_THREADS);
    field_absent(&p, MW_STATUS_VM_RSS);
    field_absent(&p, MW_STATUS_RSS_ANON);
    field_absent(&p, MW_STATUS_VM_PTE);
}

/* ---- stat --------------------------------------------------------------------- */

/* A stat line with the given comm and the values of this test file; fields
 * as in proc(5): 4 ppid, 9 flags, 10 minflt, 12 majflt, 14 utime, 15 stime,
 * 20 num_threads, 22 starttime, 23 vsize, 24 rss. */
static size_t make_stat(char *buf, size_t cap, const char *comm, const char *tail)
{
    int n = snprintf(buf, cap, "4242 (%s) %s", comm, tail);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static const char stat_tail[] = "S 1234 4242 4242 0 -1 4194560 1500 30 7 2 250 125 0 0 20 0 "
                                "9 0 987654 3133440 382 18446744073709551615 94347067404288 "
                                "94347067424169 140722970530880 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
                                "94347067440176 94347067441792 94347748323328 140722970536587 "
                                "140722970536607 140722970536607 140722970537963 0\n";

static void check_stat_tail(const mw_stat_info *si)
{
    assert_int_equal(si->pid, 4242);
    assert_int_equal(si->state, 'S');
    assert_int_equal(si->ppid, 1234);
    assert_int_equal(si->flags, 4194560);
    assert_int_equal(si->minflt, 1500);
    assert_int_equal(si->majflt, 7);
    assert_int_equal(si->utime, 250);
    assert_int_equal(si->stime, 125);
    assert_int_equal(si->num_threads, 9);
    assert_int_equal(si->starttime, 987654);
    assert_int_equal(si->vsize, 3133440);
    assert_int_equal(si->rss, 382);
}

static void test_stat_fields(void **state)
{
    char buf[512];
    mw_stat_info si;
    size_t n = make_stat(buf, sizeof buf, "cat", stat_tail);
    (void)state;
    assert_int_equal(parse_stat(buf, n, &si), MW_OK);
    assert_string_equal(si.comm, "cat");
    check_stat_tail(&si);
    assert_int_equal(si.flags & MW_PF_KTHREAD, 0);
}

static void test_stat_hostile_comm(void **state)
{
    static const char *const comms[] = {"a b c", "x)", ") Z 1 2 3 (", "two\nlines) Z ", "()", ""};
    (void)state;
    for (size_t i = 0; i < sizeof comms / sizeof comms[0]; i++) {
        char buf[512];
        mw_stat_info si;
        size_t n = make_stat(buf, sizeof buf, comms[i], stat_tail);
        int rc = parse_stat(buf, n, &si);
        if (rc != MW_OK)
            fail_msg("comm \"%s\": rc %d", comms[i], rc);
        if (strcmp(si.comm, comms[i]) != 0)
            fail_msg("comm \"%s\" parsed as \"%s\"", comms[i], si.comm);
        /* The state comes after the LAST ')', so ") Z " in comm cannot spoof it. */
        check_stat_tail(&si);
    }
}

static void test_stat_kernel_thread_flag(void **state)
{
    static const char text[] = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 12 0 0 "
                               "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 "
                               "0 0 0 0 0 0 0 0 0 0\n";
    mw_stat_info si;
    (void)state;
    assert_int_equal(parse_stat(text, sizeof text - 1, &si), MW_OK);
    assert_string_equal(si.comm, "kthreadd");
    assert_int_equal(si.pid, 2);
    assert_int_equal(si.ppid, 0);
    assert_int_equal(si.flags & MW_PF_KTHREAD, MW_PF_KTHREAD);
    assert_int_equal(si.stime, 3);
    assert_int_equal(si.starttime, 12);
    assert_int_equal(si.vsize, 0);
    assert_int_equal(si.rss, 0);
}

static void test_stat_long_comm_truncated(void **state)
{
    char comm[100], buf[600];
    mw_stat_info si;
    size_t n;
    (void)state;
    memset(comm, 'c', sizeof comm - 1);
    comm[sizeof comm - 1] = '\0';
    n = make_stat(buf, sizeof buf, comm, stat_tail);
    assert_int_equal(parse_stat(buf, n, &si), MW_OK);
    assert_int_equal(strlen(si.comm), MW_COMM_SIZE - 1);
    check_stat_tail(&si);
}

static void test_stat_truncated(void **state)
{
    char buf[512];
    mw_stat_info si;
    size_t n = make_stat(buf, sizeof buf, "a) b", stat_tail);
    const char *rss_end;
    (void)state;
    /* Every cut that loses field 24 (rss) or anything before it is refused. */
    rss_end = strstr(buf, " 382 ") + 4; /* just after "382" */
    for (size_t len = 0; len < (size_t)(rss_end - buf); len++) {
        int rc = parse_stat(buf, len, &si);
        /* A cut inside "382" still leaves a number in field 24: allowed. */
        if (len >= (size_t)(rss_end - buf) - 2)
            continue;
        if (rc != MW_EPARSE)
            fail_msg("stat cut at %zu bytes (\"%.*s\"): rc %d, want MW_EPARSE", len, (int)len, buf,
                     rc);
    }
    /* Cut right after rss: enough. */
    assert_int_equal(parse_stat(buf, (size_t)(rss_end - buf), &si), MW_OK);
    check_stat_tail(&si);
    assert_int_equal(parse_stat(buf, n, &si), MW_OK);
}

static void test_stat_malformed(void **state)
{
    static const char *const bad[] = {
        "no parens at all",
        "12 (unterminated S 1 2 3",
        "x (comm) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21",
        /* junk in a field we need (rss, field 24); later fields are not read */
        "12 (comm) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 abc",
        "12 (comm)   ",
        "12 (comm) S 1 2 3 4 5 6 7\n8 9 10 11 12 13 14 15 16 17 18 19 20 21",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mw_stat_info si;
        int rc = parse_stat(bad[i], strlen(bad[i]), &si);
        if (rc != MW_EPARSE)
            fail_msg("stat \"%s\": rc %d, want MW_EPARSE", bad[i], rc);
    }
}

static void test_stat_huge_values(void **state)
{
    /* utime, stime and starttime at UINT64_MAX, vsize too; a value past
     * UINT64_MAX is not a number we can hold. */
    static const char ok[] =
        "99999 (big) R 4194304 1 1 0 -1 4194304 18446744073709551615 0 3 0 "
        "18446744073709551615 18446744073709551614 0 0 20 0 2147483647 0 18446744073709551615 "
        "18446744073709551615 9223372036854775807 0\n";
    static const char overflow[] =
        "99999 (big) R 1 1 1 0 -1 4194304 0 0 0 0 18446744073709551616 0 0 0 20 0 1 0 1 1 1 0\n";
    static const char negative_rss[] = "7 (n) R 1 1 1 0 -1 0 0 0 0 0 1 1 -1 -1 20 0 1 0 5 6 -3 0\n";
    mw_stat_info si;
    (void)state;
    assert_int_equal(parse_stat(ok, sizeof ok - 1, &si), MW_OK);
    assert_int_equal(si.pid, 99999);
    assert_int_equal(si.ppid, 4194304);
    assert_true(si.minflt == UINT64_MAX);
    assert_true(si.utime == UINT64_MAX);
    assert_true(si.stime == UINT64_MAX - 1);
    assert_int_equal(si.num_threads, 2147483647);
    assert_true(si.starttime == UINT64_MAX);
    assert_true(si.vsize == UINT64_MAX);
    assert_true(si.rss == INT64_MAX);
    assert_int_equal(parse_stat(overflow, sizeof overflow - 1, &si), MW_EPARSE);
    assert_int_equal(parse_stat(negative_rss, sizeof negative_rss - 1, &si), MW_OK);
    assert_true(si.rss == -3);
    assert_int_equal(si.starttime, 5);
}

/* ---- smaps_rollup --------------------------------------------------------------- */

static const char smaps_text[] =
    "56149f952000-7ffe91285000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1596 kB\n"
    "Pss:                 303 kB\n"
    "Pss_Dirty:           116 kB\n"
    "Pss_Anon:            116 kB\n"
    "Pss_File:            187 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       1440 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        40 kB\n"
    "Private_Dirty:       116 kB\n"
    "Referenced:         1596 kB\n"
    "Anonymous:           116 kB\n"
    "KSM:                   0 kB\n"
    "LazyFree:             64 kB\n"
    "AnonHugePages:         0 kB\n"
    "ShmemPmdMapped:        0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "Shared_Hugetlb:        0 kB\n"
    "Private_Hugetlb:       0 kB\n"
    "Swap:                 12 kB\n"
    "SwapPss:               8 kB\n"
    "Locked:                4 kB\n";

static void test_smaps_rollup(void **state)
{
    mw_smaps_info sm;
    char *b = exact(smaps_text, sizeof smaps_text - 1);
    (void)state;
    assert_int_equal(mw_parse_smaps_rollup(b, sizeof smaps_text - 1, &sm), MW_OK);
    free(b);
    assert_int_equal(sm.present, ((uint64_t)1 << MW_SMAPS_COUNT) - 1); /* every key */
    assert_int_equal(sm.v[MW_SMAPS_RSS], KB(1596));
    assert_int_equal(sm.v[MW_SMAPS_PSS], KB(303));
    assert_int_equal(sm.v[MW_SMAPS_PSS_DIRTY], KB(116));
    assert_int_equal(sm.v[MW_SMAPS_PSS_ANON], KB(116));
    assert_int_equal(sm.v[MW_SMAPS_PSS_FILE], KB(187));
    assert_int_equal(sm.v[MW_SMAPS_PSS_SHMEM], 0);
    assert_int_equal(sm.v[MW_SMAPS_SHARED_CLEAN], KB(1440));
    assert_int_equal(sm.v[MW_SMAPS_SHARED_DIRTY], 0);
    assert_int_equal(sm.v[MW_SMAPS_PRIVATE_CLEAN], KB(40));
    assert_int_equal(sm.v[MW_SMAPS_PRIVATE_DIRTY], KB(116));
    assert_int_equal(sm.v[MW_SMAPS_REFERENCED], KB(1596));
    assert_int_equal(sm.v[MW_SMAPS_ANONYMOUS], KB(116));
    assert_int_equal(sm.v[MW_SMAPS_LAZY_FREE], KB(64));
    assert_int_equal(sm.v[MW_SMAPS_SWAP], KB(12));
    assert_int_equal(sm.v[MW_SMAPS_SWAP_PSS], KB(8));
    assert_int_equal(sm.v[MW_SMAPS_LOCKED], KB(4));
}

static void test_smaps_rollup_old_kernel_subset(void **state)
{
    /* 4.14 had no Pss_Dirty/Pss_Anon/...; only what is there is present. */
    static const char text[] = "00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\n"
                               "Rss:  100 kB\nPss:   50 kB\nPrivate_Clean: 10 kB\n"
                               "Private_Dirty: 20 kB\nSwap: 0 kB\nSwapPss: 0 kB\n";
    mw_smaps_info sm;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_smaps_rollup(b, sizeof text - 1, &sm), MW_OK);
    free(b);
    assert_int_equal(sm.present, (1u << MW_SMAPS_RSS) | (1u << MW_SMAPS_PSS) |
                                     (1u << MW_SMAPS_PRIVATE_CLEAN) |
                                     (1u << MW_SMAPS_PRIVATE_DIRTY) | (1u << MW_SMAPS_SWAP) |
                                     (1u << MW_SMAPS_SWAP_PSS));
    assert_int_equal(sm.v[MW_SMAPS_RSS], KB(100));
    assert_int_equal(sm.v[MW_SMAPS_PSS], KB(50));
    assert_int_equal(sm.v[MW_SMAPS_PRIVATE_CLEAN] + sm.v[MW_SMAPS_PRIVATE_DIRTY], KB(30));
    assert_int_equal(sm.v[MW_SMAPS_LAZY_FREE], 0);
}

static void test_smaps_rollup_missing_rss_or_pss(void **state)
{
    static const char no_pss[] = "0-1 ---p 00000000 00:00 0 [rollup]\nRss: 100 kB\nSwap: 0 kB\n";
    static const char no_rss[] = "0-1 ---p 00000000 00:00 0 [rollup]\nPss: 100 kB\n";
    static const char bad_pss[] = "Rss: 100 kB\nPss: many kB\n";
    mw_smaps_info sm;
    char *b;
    (void)state;
    b = exact(no_pss, sizeof no_pss - 1);
    assert_int_equal(mw_parse_smaps_rollup(b, sizeof no_pss - 1, &sm), MW_EPARSE);
    free(b);
    b = exact(no_rss, sizeof no_rss - 1);
    assert_int_equal(mw_parse_smaps_rollup(b, sizeof no_rss - 1, &sm), MW_EPARSE);
    free(b);
    b = exact(bad_pss, sizeof bad_pss - 1);
    assert_int_equal(mw_parse_smaps_rollup(b, sizeof bad_pss - 1, &sm), MW_EPARSE);
    free(b);
    assert_int_equal(mw_parse_smaps_rollup("", 0, &sm), MW_EPARSE);
}

/* ---- meminfo, PSI, io, btime ------------------------------------------------------- */

static void test_meminfo(void **state)
{
    static const char text[] = "MemTotal:        8039428 kB\n"
                               "MemFree:          512000 kB\n"
                               "MemAvailable:    6000000 kB\n"
                               "Buffers:           70000 kB\n"
                               "Cached:          2000000 kB\n"
                               "SwapCached:            0 kB\n"
                               "SwapTotal:       1048572 kB\n"
                               "SwapFree:        1000000 kB\n"
                               "HugePages_Total:       0\n"
                               "Hugepagesize:       2048 kB";
    mw_meminfo mi;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_meminfo(b, sizeof text - 1, &mi), MW_OK);
    free(b);
    assert_int_equal(mi.present, (1u << MW_SYS_TOTAL) | (1u << MW_SYS_FREE) |
                                     (1u << MW_SYS_AVAILABLE) | (1u << MW_SYS_SWAP_TOTAL) |
                                     (1u << MW_SYS_SWAP_FREE));
    assert_int_equal(mi.total, KB(8039428));
    assert_int_equal(mi.free, KB(512000));
    assert_int_equal(mi.available, KB(6000000));
    assert_int_equal(mi.swap_total, KB(1048572));
    assert_int_equal(mi.swap_free, KB(1000000));
}

static void test_meminfo_partial_and_missing_total(void **state)
{
    /* Pre-3.14 kernels have no MemAvailable. */
    static const char old[] = "MemTotal: 1000 kB\nMemFree: 10 kB\n";
    static const char no_total[] = "MemFree: 10 kB\nMemAvailable: 20 kB\n";
    mw_meminfo mi;
    char *b;
    (void)state;
    b = exact(old, sizeof old - 1);
    assert_int_equal(mw_parse_meminfo(b, sizeof old - 1, &mi), MW_OK);
    free(b);
    assert_int_equal(mi.present, (1u << MW_SYS_TOTAL) | (1u << MW_SYS_FREE));
    assert_int_equal(mi.total, KB(1000));
    b = exact(no_total, sizeof no_total - 1);
    assert_int_equal(mw_parse_meminfo(b, sizeof no_total - 1, &mi), MW_EPARSE);
    free(b);
}

static void test_psi_some_and_full(void **state)
{
    static const char text[] = "some avg10=1.50 avg60=0.25 avg300=0.01 total=123456\n"
                               "full avg10=0.75 avg60=0.10 avg300=0.00 total=65432\n";
    mw_psi psi;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_psi(b, sizeof text - 1, &psi), MW_OK);
    free(b);
    assert_true(psi.has_some);
    assert_true(psi.has_full);
    assert_true(psi.some_avg10 > 1.4999 && psi.some_avg10 < 1.5001);
    assert_true(psi.some_avg60 > 0.2499 && psi.some_avg60 < 0.2501);
    assert_true(psi.some_avg300 > 0.0099 && psi.some_avg300 < 0.0101);
    assert_int_equal(psi.some_total_us, 123456);
    assert_true(psi.full_avg10 > 0.7499 && psi.full_avg10 < 0.7501);
    assert_true(psi.full_avg60 > 0.0999 && psi.full_avg60 < 0.1001);
    assert_true(psi.full_avg300 == 0.0);
    assert_int_equal(psi.full_total_us, 65432);
}

static void test_psi_without_full(void **state)
{
    /* No trailing newline either. */
    static const char text[] = "some avg10=99.99 avg60=12.00 avg300=3.5 total=7";
    static const char none[] = "full avg10=1.00 avg60=1.00 avg300=1.00 total=1\n";
    static const char partial[] = "some avg10=1.00 avg60=1.00\n";
    mw_psi psi;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_psi(b, sizeof text - 1, &psi), MW_OK);
    free(b);
    assert_true(psi.has_some);
    assert_false(psi.has_full);
    assert_true(psi.some_avg10 > 99.989 && psi.some_avg10 < 99.991);
    assert_true(psi.some_avg60 > 11.999 && psi.some_avg60 < 12.001);
    assert_true(psi.some_avg300 > 3.499 && psi.some_avg300 < 3.501);
    assert_int_equal(psi.some_total_us, 7);
    /* Without a "some" line there is no PSI. */
    b = exact(none, sizeof none - 1);
    assert_int_equal(mw_parse_psi(b, sizeof none - 1, &psi), MW_EPARSE);
    free(b);
    b = exact(partial, sizeof partial - 1);
    assert_int_equal(mw_parse_psi(b, sizeof partial - 1, &psi), MW_EPARSE);
    free(b);
    assert_int_equal(mw_parse_psi("", 0, &psi), MW_EPARSE);
}

static void test_io(void **state)
{
    static const char text[] = "rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 3\n"
                               "read_bytes: 409600\nwrite_bytes: 8192\ncancelled_write_bytes: 4096";
    static const char no_read_bytes[] = "rchar: 1\nwchar: 2\n";
    mw_io_info io;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_io(b, sizeof text - 1, &io), MW_OK);
    free(b);
    assert_int_equal(io.rchar, 6976);
    assert_int_equal(io.wchar, 12);
    assert_int_equal(io.syscr, 10);
    assert_int_equal(io.syscw, 3);
    assert_int_equal(io.read_bytes, 409600);
    assert_int_equal(io.write_bytes, 8192);
    assert_int_equal(io.cancelled_write_bytes, 4096);
    b = exact(no_read_bytes, sizeof no_read_bytes - 1);
    assert_int_equal(mw_parse_io(b, sizeof no_read_bytes - 1, &io), MW_EPARSE);
    free(b);
}

static void test_btime(void **state)
{
    static const char text[] = "cpu  100 0 50 1000 0 0 0 0 0 0\n"
                               "cpu0 100 0 50 1000 0 0 0 0 0 0\n"
                               "intr 12345 0 0\n"
                               "ctxt 999\n"
                               "btime 1700000000\n"
                               "processes 4242\n";
    static const char last_line[] = "ctxt 1\nbtime   1712345678";
    static const char none[] = "cpu 1 2 3\nbtimex 5\nxbtime 6\n";
    int64_t bt = -1;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_btime(b, sizeof text - 1, &bt), MW_OK);
    free(b);
    assert_int_equal(bt, 1700000000);
    b = exact(last_line, sizeof last_line - 1);
    assert_int_equal(mw_parse_btime(b, sizeof last_line - 1, &bt), MW_OK);
    free(b);
    assert_int_equal(bt, 1712345678);
    bt = -1;
    b = exact(none, sizeof none - 1);
    assert_int_equal(mw_parse_btime(b, sizeof none - 1, &bt), MW_EPARSE);
    free(b);
    assert_int_equal(bt, -1);
}

/* ---- cgroup app keys ------------------------------------------------------------------- */

static int app_of(const char *text, char *app, size_t applen)
{
    size_t n = strlen(text);
    char *b = exact(text, n);
    int rc;
    snprintf(app, applen, "%s", "untouched");
    rc = mw_parse_cgroup_app(b, n, app, applen);
    free(b);
    return rc;
}

static void test_cgroup_app_keys(void **state)
{
    char app[128];
    (void)state;
    /* A desktop app in a transient scope under the user manager. */
    assert_int_equal(app_of("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                            "app-firefox-1234.scope\n",
                            app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "app-firefox-1234.scope");
    /* A user service under the manager (no trailing newline). */
    assert_int_equal(app_of("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                            "pipewire.service",
                            app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "pipewire.service");
    /* A system service. */
    assert_int_equal(app_of("0::/system.slice/nginx.service\n", app, sizeof app), MW_OK);
    assert_string_equal(app, "nginx.service");
    /* The innermost unit wins. */
    assert_int_equal(app_of("0::/system.slice/docker.service/inner.scope\n", app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "inner.scope");
}

static void test_cgroup_not_apps(void **state)
{
    static const char *const none[] = {
        "0::/user.slice/user-1000.slice/session-3.scope\n",
        "0::/user.slice/user-1000.slice/user@1000.service\n",
        "0::/user.slice/user-1000.slice/user@1000.service/init.scope\n",
        "0::/init.scope\n",
        "0::/\n",
        "0::/system.slice\n",
        "",
        "garbage\n",
    };
    (void)state;
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        char app[64];
        int rc = app_of(none[i], app, sizeof app);
        if (rc != MW_EPARSE)
            fail_msg("cgroup \"%s\": rc %d app \"%s\", want MW_EPARSE", none[i], rc, app);
    }
}

static void test_cgroup_v1_and_hybrid(void **state)
{
    char app[64];
    (void)state;
    /* Pure v1: systemd's tree is in the name=systemd hierarchy. */
    assert_int_equal(app_of("12:memory:/system.slice/cron.service\n"
                            "11:cpu,cpuacct:/system.slice/cron.service\n"
                            "1:name=systemd:/system.slice/cron.service\n",
                            app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "cron.service");
    /* Hybrid: the v2 line wins when it names an app. */
    assert_int_equal(app_of("1:name=systemd:/system.slice/old.service\n"
                            "0::/system.slice/new.service\n",
                            app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "new.service");
    /* Hybrid with an empty v2 line: fall back to v1. */
    assert_int_equal(app_of("1:name=systemd:/system.slice/ssh.service\n0::/\n", app, sizeof app),
                     MW_OK);
    assert_string_equal(app, "ssh.service");
    /* A v1 line of another controller is not systemd's. */
    assert_int_equal(app_of("4:memory:/system.slice/x.service\n", app, sizeof app), MW_EPARSE);
}

static void test_cgroup_app_too_long_for_buffer(void **state)
{
    char app[8];
    (void)state;
    assert_int_equal(app_of("0::/system.slice/nginx.service\n", app, sizeof app), MW_EPARSE);
    assert_int_equal(app_of("0::/system.slice/a.scope\n", app, sizeof app), MW_OK);
    assert_string_equal(app, "a.scope");
}

/* Found by fuzz_cgroup: a NUL inside a path component made the app key a C
 * string cut short of its ".scope" ("app\1"). */
static void test_cgroup_nul_in_component_is_not_an_app(void **state)
{
    static const char text[] = "0::/user.slice/app-a\0b.scope\n";
    char app[64];
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_cgroup_app(b, sizeof text - 1, app, sizeof app), MW_EPARSE);
    free(b);
}

/* DRM fdinfo, moved out of ledger.c into the parser so it can be fuzzed. */
static void test_fdinfo_drm(void **state)
{
    static const char text[] = "pos:\t0\n"
                               "drm-driver:\ti915\n"
                               "drm-client-id:\t7\n"
                               "drm-pdev:\t0000:00:02.0\n"
                               "drm-total-system0:\t1024 KiB\n"
                               "drm-resident-system0:\t512 KiB\n"
                               "drm-memory-vram:\t3 MiB\n"
                               "drm-total-bad:\t1 TiB\n"
                               "drm-engine-render:\t123456 ns\n";
    mw_fdinfo_drm fi;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    assert_int_equal(mw_parse_fdinfo_drm(b, sizeof text - 1, &fi), MW_OK);
    free(b);
    assert_string_equal(fi.pdev, "0000:00:02.0");
    assert_string_equal(fi.client, "7");
    assert_int_equal(fi.nregions, 3);
    assert_string_equal(fi.regions[0].key, "total-system0");
    assert_int_equal(fi.regions[0].bytes, KB(1024));
    assert_string_equal(fi.regions[1].key, "resident-system0");
    assert_int_equal(fi.regions[1].bytes, KB(512));
    assert_string_equal(fi.regions[2].key, "memory-vram");
    assert_int_equal(fi.regions[2].bytes, KB(3 * 1024));
    b = exact("pos:\t0\nflags:\t02\n", 17);
    assert_int_equal(mw_parse_fdinfo_drm(b, 17, &fi), MW_EPARSE);
    free(b);
    assert_int_equal(fi.nregions, 0);
}

/* ---- sizes and key/value lines -------------------------------------------------------- */

static int kv_size(const char *text, int64_t *out)
{
    size_t n = strlen(text);
    char *b = exact(text, n);
    int rc = mw_parse_kv_size(b, n, out);
    free(b);
    return rc;
}

static void test_kv_size(void **state)
{
    static const char *const junk[] = {"",
                                       "kB",
                                       " 1 kB",
                                       "-1 kB",
                                       "1 kb",
                                       "1 KB",
                                       "1 mB",
                                       "1 k",
                                       "1 kBx",
                                       "1.5 kB",
                                       "1 TiB",
                                       "0x10",
                                       "1 B",
                                       "12 34",
                                       "9007199254740992 kB",
                                       "18446744073709551616"};
    int64_t v;
    (void)state;
    assert_int_equal(kv_size("1234 kB", &v), MW_OK);
    assert_int_equal(v, 1234 * 1024);
    assert_int_equal(kv_size("0 kB", &v), MW_OK);
    assert_int_equal(v, 0);
    assert_int_equal(kv_size("12kB", &v), MW_OK);
    assert_int_equal(v, 12 * 1024);
    assert_int_equal(kv_size("12 KiB", &v), MW_OK);
    assert_int_equal(v, 12 * 1024);
    assert_int_equal(kv_size("3 MiB", &v), MW_OK);
    assert_int_equal(v, 3 * 1024 * 1024);
    assert_int_equal(kv_size("2 GiB", &v), MW_OK);
    assert_int_equal(v, INT64_C(2) * 1024 * 1024 * 1024);
    assert_int_equal(kv_size("4096", &v), MW_OK);
    assert_int_equal(v, 4096);
    assert_int_equal(kv_size("9223372036854775807", &v), MW_OK);
    assert_true(v == INT64_MAX);
    assert_int_equal(kv_size("9007199254740991 kB", &v), MW_OK);
    assert_true(v == INT64_C(9007199254740991) * 1024);
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        v = -77;
        if (kv_size(junk[i], &v) != MW_EPARSE || v != -77)
            fail_msg("mw_parse_kv_size(\"%s\") accepted (%lld)", junk[i], (long long)v);
    }
}

struct kv_seen {
    int n;
    char keys[8][32];
    char vals[8][32];
    int stop_after;
};

static int kv_collect(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    struct kv_seen *s = ud;
    assert_true(s->n < 8);
    assert_true(keylen < 32 && vallen < 32);
    memcpy(s->keys[s->n], key, keylen);
    s->keys[s->n][keylen] = '\0';
    memcpy(s->vals[s->n], val, vallen);
    s->vals[s->n][vallen] = '\0';
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static void test_kv_each(void **state)
{
    static const char text[] = "A:\t1\r\nno colon here\nB:   two words  \n\nC:\nD:x:y";
    struct kv_seen s;
    char *b = exact(text, sizeof text - 1);
    (void)state;
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_kv_each(b, sizeof text - 1, kv_collect, &s), MW_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.keys[0], "A");
    assert_string_equal(s.vals[0], "1"); /* \r stripped */
    assert_string_equal(s.keys[1], "B");
    assert_string_equal(s.vals[1], "two words");
    assert_string_equal(s.keys[2], "C");
    assert_string_equal(s.vals[2], "");
    assert_string_equal(s.keys[3], "D"); /* split at the first colon */
    assert_string_equal(s.vals[3], "x:y");
    /* The last line, with no newline, is cut short by len. */
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_kv_each(b, sizeof text - 2, kv_collect, &s), MW_OK);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.vals[3], "x:");
    /* A nonzero return stops the walk. */
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    assert_int_equal(mw_kv_each(b, sizeof text - 1, kv_collect, &s), MW_OK);
    assert_int_equal(s.n, 2);
    free(b);
    /* Empty input and a single key without newline. */
    memset(&s, 0, sizeof s);
    assert_int_equal(mw_kv_each("", 0, kv_collect, &s), MW_OK);
    assert_int_equal(s.n, 0);
    b = exact("K: v", 4);
    assert_int_equal(mw_kv_each(b, 4, kv_collect, &s), MW_OK);
    free(b);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "K");
    assert_string_equal(s.vals[0], "v");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_normal),
        cmocka_unit_test(test_status_old_kernel_without_rss_shmem),
        cmocka_unit_test(test_status_hostile_name),
        cmocka_unit_test(test_status_name_tab_and_unknown_escape),
        cmocka_unit_test(test_status_long_name_is_truncated_in_bounds),
        cmocka_unit_test(test_status_name_keeps_edge_spaces),
        cmocka_unit_test(test_status_kernel_thread),
        cmocka_unit_test(test_status_zombie),
        cmocka_unit_test(test_status_truncated),
        cmocka_unit_test(test_status_truncated_before_unit),
        cmocka_unit_test(test_status_missing_name),
        cmocka_unit_test(test_status_junk_values_stay_absent),
        cmocka_unit_test(test_stat_fields),
        cmocka_unit_test(test_stat_hostile_comm),
        cmocka_unit_test(test_stat_kernel_thread_flag),
        cmocka_unit_test(test_stat_long_comm_truncated),
        cmocka_unit_test(test_stat_truncated),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_stat_huge_values),
        cmocka_unit_test(test_smaps_rollup),
        cmocka_unit_test(test_smaps_rollup_old_kernel_subset),
        cmocka_unit_test(test_smaps_rollup_missing_rss_or_pss),
        cmocka_unit_test(test_meminfo),
        cmocka_unit_test(test_meminfo_partial_and_missing_total),
        cmocka_unit_test(test_psi_some_and_full),
        cmocka_unit_test(test_psi_without_full),
        cmocka_unit_test(test_io),
        cmocka_unit_test(test_btime),
        cmocka_unit_test(test_cgroup_app_keys),
        cmocka_unit_test(test_cgroup_not_apps),
        cmocka_unit_test(test_cgroup_v1_and_hybrid),
        cmocka_unit_test(test_cgroup_app_too_long_for_buffer),
        cmocka_unit_test(test_cgroup_nul_in_component_is_not_an_app),
        cmocka_unit_test(test_fdinfo_drm),
        cmocka_unit_test(test_kv_size),
        cmocka_unit_test(test_kv_each),
    };
    return cmocka_run_group_tests_name("linux_parse", tests, NULL, NULL);
}
