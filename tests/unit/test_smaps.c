/*
 * The /proc/PID/smaps parser (src/backend/linux/smaps.c) on real smaps text
 * captured on Linux 6.18 (tests/fixtures/linux/smaps/README) and on literal
 * edge cases. Every buffer is a heap block of exactly its length, so ASan
 * reports any read past len.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linux/smaps.h"
#include "memwatch/memwatch.h"

#define KB(n)    ((int64_t)(n)*1024)
#define MAX_ROWS 64

typedef struct rows {
    mw_smaps_row r[MAX_ROWS];
    char paths[MAX_ROWS][128]; /* the rows' paths, copied: the buffer is freed */
    int n;
} rows;

static int collect(void *ud, const mw_smaps_row *row)
{
    rows *rs = ud;
    size_t n = row->pathlen < 127 ? row->pathlen : 127;
    assert_true(rs->n < MAX_ROWS);
    rs->r[rs->n] = *row;
    memcpy(rs->paths[rs->n], row->path, n);
    rs->paths[rs->n][n] = '\0';
    rs->r[rs->n].path = NULL;
    rs->n++;
    return 0;
}

static int parse_text(const char *text, size_t len, rows *rs)
{
    char *b = malloc(len ? len : 1);
    int rc;
    assert_non_null(b);
    memcpy(b, text, len);
    memset(rs, 0, sizeof *rs);
    rc = mw_parse_smaps(b, len, collect, rs);
    free(b);
    return rc;
}

static void parse_fixture(const char *name, rows *rs)
{
    char path[512], *buf;
    FILE *f;
    long len;

    snprintf(path, sizeof path, "%s/linux/smaps/%s", MW_FIXTURES_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len >= 0);
    rewind(f);
    buf = malloc(len ? (size_t)len : 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(parse_text(buf, (size_t)len, rs), 0);
    free(buf);
}

static int find(const rows *rs, const char *path)
{
    for (int i = 0; i < rs->n; i++) {
        if (strcmp(rs->paths[i], path) == 0)
            return i;
    }
    fail_msg("no region %s", path);
    return -1;
}

/* A program with three idle threads: the main stack, the heap, and each
 * thread's 8 MiB stack as an unnamed anonymous mapping. */
static void test_threaded(void **state)
{
    rows rs;
    int heap, stack, thread_stacks = 0;
    int64_t rss = 0;
    (void)state;
    parse_fixture("threaded", &rs);
    assert_int_equal(rs.n, 31);
    heap = find(&rs, "[heap]");
    assert_int_equal(rs.r[heap].start, 0x564f4aa0a000u);
    assert_int_equal(rs.r[heap].end, 0x564f4aa2b000u);
    assert_int_equal(rs.r[heap].v[MW_REGION_SIZE], KB(132));
    assert_int_equal(rs.r[heap].v[MW_REGION_RSS], KB(4));
    assert_string_equal(rs.r[heap].perms, "rw-p");
    stack = find(&rs, "[stack]");
    assert_int_equal(rs.r[stack].v[MW_REGION_SIZE], KB(1032));
    assert_int_equal(rs.r[stack].v[MW_REGION_RSS], KB(32));
    for (int i = 0; i < rs.n; i++) {
        assert_true(rs.r[i].complete);
        assert_int_equal(rs.r[i].flags & MW_REGION_SHMEM, 0);
        /* Every key this parser knows is in a 6.18 smaps. */
        assert_int_equal(rs.r[i].present, ((uint64_t)1 << MW_REGION_COUNT) - 1);
        rss += rs.r[i].v[MW_REGION_RSS];
        if (rs.paths[i][0] == '\0' && rs.r[i].v[MW_REGION_SIZE] == KB(8192))
            thread_stacks++;
    }
    assert_int_equal(thread_stacks, 3);
    assert_int_equal(rss, KB(2304));
    /* The executable's text: a file mapping with its device and inode. */
    assert_string_equal(rs.paths[1], "/tmp/rg/cap");
    assert_string_equal(rs.r[1].perms, "r-xp");
    assert_int_equal(rs.r[1].offset, 0x1000);
    assert_int_equal(rs.r[1].dev_major, 0xfe);
    assert_int_equal(rs.r[1].dev_minor, 0);
    assert_int_equal(rs.r[1].inode, 10986947);
}

/* A memfd, a POSIX shm segment (unlinked) and MAP_SHARED anonymous memory:
 * all shmem, their " (deleted)" taken off the path and kept as a flag. */
static void test_memfd_shm(void **state)
{
    rows rs;
    int zero, shm, memfd, libc;
    (void)state;
    parse_fixture("memfd_shm", &rs);
    assert_int_equal(rs.n, 26);
    zero = find(&rs, "/dev/zero");
    shm = find(&rs, "/dev/shm/mwtest-seg");
    memfd = find(&rs, "/memfd:cache");
    libc = find(&rs, "/usr/lib/x86_64-linux-gnu/libc.so.6");
    assert_int_equal(rs.r[zero].flags, MW_REGION_SHMEM | MW_REGION_DELETED);
    assert_int_equal(rs.r[shm].flags, MW_REGION_SHMEM | MW_REGION_DELETED);
    assert_int_equal(rs.r[memfd].flags, MW_REGION_SHMEM | MW_REGION_DELETED);
    assert_int_equal(rs.r[libc].flags, 0);
    assert_int_equal(rs.r[memfd].v[MW_REGION_SIZE], KB(1024));
    assert_int_equal(rs.r[memfd].v[MW_REGION_RSS], KB(512));
    assert_int_equal(rs.r[memfd].v[MW_REGION_PRIVATE_DIRTY], KB(512));
    assert_int_equal(rs.r[memfd].v[MW_REGION_ANONYMOUS], 0);
    assert_int_equal(rs.r[shm].v[MW_REGION_RSS], KB(64));
    assert_int_equal(rs.r[zero].v[MW_REGION_RSS], KB(128));
    assert_string_equal(rs.r[zero].perms, "rw-s");
}

/* Kernel threads have no mm and zombies have released theirs: both smaps
 * are empty files. */
static void test_empty(void **state)
{
    rows rs;
    (void)state;
    parse_fixture("kthread", &rs);
    assert_int_equal(rs.n, 0);
    parse_fixture("zombie", &rs);
    assert_int_equal(rs.n, 0);
    assert_int_equal(parse_text("", 0, &rs), 0);
    assert_int_equal(rs.n, 0);
}

/* A read cut inside the memfd's lines: the mappings before it are whole,
 * the last one is marked incomplete. */
static void test_truncated(void **state)
{
    rows rs;
    (void)state;
    parse_fixture("truncated", &rs);
    assert_int_equal(rs.n, 8);
    for (int i = 0; i < 7; i++)
        assert_true(rs.r[i].complete);
    assert_string_equal(rs.paths[7], "/memfd:cache");
    assert_false(rs.r[7].complete);
    assert_int_equal(rs.r[7].v[MW_REGION_RSS], KB(512));
    assert_false((rs.r[7].present >> MW_REGION_PRIVATE_DIRTY) & 1u);
}

static void test_cut_vmflags(void **state)
{
    static const char text[] = "1000-2000 rw-p 00000000 00:00 0\nRss: 4 kB\nVmFlags: rd w";
    static const char whole[] = "1000-2000 rw-p 00000000 00:00 0\nRss: 4 kB\nVmFlags: rd wr\n";
    rows rs;
    (void)state;
    assert_int_equal(parse_text(text, sizeof text - 1, &rs), 0);
    assert_int_equal(rs.n, 1);
    assert_false(rs.r[0].complete);
    assert_int_equal(parse_text(whole, sizeof whole - 1, &rs), 0);
    assert_true(rs.r[0].complete);
    assert_int_equal(rs.r[0].v[MW_REGION_RSS], KB(4));
}

/* Keys from newer kernels, junk lines, a malformed header (skipped with the
 * key lines under it), a path with spaces, an anonymous mapping's trailing
 * blanks. */
static void test_tolerant(void **state)
{
    static const char text[] = "junk before any header\n"
                               "Rss: 99 kB\n"
                               "7f00-7f10 rw-p 00000000 00:00 0 \n"
                               "Size: 64 kB\n"
                               "FutureKey: 12 kB\n"
                               "AnonHugePages: 2048 kB\n"
                               "Swap: x kB\n"
                               "no colon here\n"
                               "VmFlags: rd wr\n"
                               "7g00-1 rw-p 0 00:00 0 /bad\n"
                               "Rss: 77 kB\n"
                               "VmFlags: rd\n"
                               "8000-9000 r--s 00001000 08:01 42   /data/my file (1).db\r\n"
                               "Rss: 4 kB\n"
                               "LazyFree: 0 kB\n"
                               "VmFlags: rd sh\n";
    rows rs;
    (void)state;
    assert_int_equal(parse_text(text, sizeof text - 1, &rs), 0);
    assert_int_equal(rs.n, 2);
    assert_string_equal(rs.paths[0], "");
    assert_int_equal(rs.r[0].v[MW_REGION_SIZE], KB(64));
    assert_int_equal(rs.r[0].v[MW_REGION_ANON_HUGE], KB(2048));
    assert_false((rs.r[0].present >> MW_REGION_SWAP) & 1u);
    assert_false((rs.r[0].present >> MW_REGION_RSS) & 1u);
    assert_string_equal(rs.paths[1], "/data/my file (1).db");
    assert_int_equal(rs.r[1].dev_major, 8);
    assert_int_equal(rs.r[1].dev_minor, 1);
    assert_int_equal(rs.r[1].inode, 42);
    assert_int_equal(rs.r[1].offset, 0x1000);
    assert_int_equal(rs.r[1].v[MW_REGION_RSS], KB(4));
    assert_int_equal(rs.r[1].flags, 0);
}

static void test_bad_headers(void **state)
{
    static const char *const bad[] = {
        "2000-1000 rw-p 0 00:00 0\n",         /* end before start */
        "1000-2000 rw-p 0 00:00\n",           /* no inode */
        "1000-2000 rw 0 00:00 0\n",           /* short perms run into the offset */
        "1000-2000 rw-p 0 1000:00 0\n",       /* major out of range */
        "1000-2000 rw-p 0 00:00 12ab /x\n",   /* inode is decimal */
        "1000-2000\n",                        /* header cut short */
        "10000000000000000-1 rw-p 0 0:0 0\n", /* address overflows */
    };
    rows rs;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_text(bad[i], strlen(bad[i]), &rs), 0);
        assert_int_equal(rs.n, 0);
    }
}

static int stop_at_first(void *ud, const mw_smaps_row *row)
{
    (void)row;
    ++*(int *)ud;
    return 7;
}

static void test_callback_stops(void **state)
{
    static const char text[] = "1000-2000 rw-p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n";
    int calls = 0;
    (void)state;
    assert_int_equal(mw_parse_smaps(text, sizeof text - 1, stop_at_first, &calls), 7);
    assert_int_equal(calls, 1);
}

static void test_is_shmem(void **state)
{
    (void)state;
    assert_true(mw_smaps_is_shmem("rw-s", "/dev/zero", 9));
    assert_false(mw_smaps_is_shmem("rw-p", "/dev/zero", 9));
    assert_true(mw_smaps_is_shmem("r--p", "/memfd:x", 8));
    assert_true(mw_smaps_is_shmem("rw-s", "/SYSV00000000", 13));
    assert_true(mw_smaps_is_shmem("rw-s", "/dev/shm/seg", 12));
    assert_true(mw_smaps_is_shmem("rw-s", "[anon_shmem:pool]", 17));
    assert_false(mw_smaps_is_shmem("rw-p", "[anon:pool]", 11));
    assert_false(mw_smaps_is_shmem("rw-s", "/dev/shmx", 9));
    assert_false(mw_smaps_is_shmem("rw-s", "", 0));
    assert_false(mw_smaps_is_shmem("rw-s", "/var/db/file", 12));
}

static int syscall_sp(const char *text, uint64_t *sp)
{
    size_t n = strlen(text);
    char *b = malloc(n ? n : 1);
    int rc;
    assert_non_null(b);
    memcpy(b, text, n);
    rc = mw_parse_syscall_sp(b, n, sp);
    free(b);
    return rc;
}

/* /proc/PID/task/TID/syscall as Linux 6.18 writes it (seen on this machine:
 * a thread in futex, the main thread in read). */
static void test_syscall_sp(void **state)
{
    uint64_t sp = 0;
    (void)state;
    assert_int_equal(
        syscall_sp(
            "230 0x1 0x1 0x7f4ea99f9ab0 0x0 0x0 0x7f4eaa74e6e8 0x7f4ea99f9a70 0x7f4eaa0ed545\n",
            &sp),
        0);
    assert_int_equal(sp, 0x7f4ea99f9a70u);
    assert_int_equal(
        syscall_sp("0 0x3 0x562012e9da70 0x2000 0x0 0x0 0x0 0x7ffd60a5a070 0x7f4eaa1162ec", &sp),
        0);
    assert_int_equal(sp, 0x7ffd60a5a070u);
    assert_int_equal(syscall_sp("-1 0x7ffd00001000 0x401000\n", &sp), 0);
    assert_int_equal(sp, 0x7ffd00001000u);
    assert_int_equal(syscall_sp("running\n", &sp), MW_EPARSE);
    assert_int_equal(syscall_sp("", &sp), MW_EPARSE);
    assert_int_equal(syscall_sp("7 0x1 0x2\n", &sp), MW_EPARSE);          /* not -1 */
    assert_int_equal(syscall_sp("-1 0x 0x401000\n", &sp), MW_EPARSE);     /* no digits */
    assert_int_equal(syscall_sp("-1 0x12g4 0x401000\n", &sp), MW_EPARSE); /* not hex */
    assert_int_equal(syscall_sp("-1 1234 0x401000\n", &sp), MW_EPARSE);   /* no 0x */
    assert_int_equal(syscall_sp("1 2 3 4 5 6 7 0x8 0x9 10\n", &sp), MW_EPARSE);
    assert_int_equal(syscall_sp("-1 0x10000000000000000 0x1\n", &sp), MW_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threaded),    cmocka_unit_test(test_memfd_shm),
        cmocka_unit_test(test_empty),       cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_cut_vmflags), cmocka_unit_test(test_tolerant),
        cmocka_unit_test(test_bad_headers), cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_is_shmem),    cmocka_unit_test(test_syscall_sp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
