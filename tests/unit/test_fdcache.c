/*
 * The pid -> descriptor cache of the Linux backend (src/backend/linux/fdcache.c).
 * Descriptors here are made-up numbers: the cache only ever hands them to
 * sys->close, which a fake table records, so every close is accounted for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linux/fdcache.h"
#include "memwatch/sys.h"

/* ---- a fake syscall table whose close() records what it was given ----------- */

#define MAX_CLOSES 8192

static struct {
    int fds[MAX_CLOSES];
    size_t n;
} closed;

static int fake_close(int fd)
{
    assert_true(closed.n < MAX_CLOSES);
    closed.fds[closed.n++] = fd;
    return 0;
}

static int no_openat(int dirfd, const char *path, int flags)
{
    (void)dirfd;
    (void)path;
    (void)flags;
    fail_msg("the cache must not open anything");
    return -1;
}

static const mw_sys fake_sys = {
    .openat = no_openat,
    .pread = NULL,
    .close = fake_close,
    .readlinkat = NULL,
    .fdopendir = NULL,
    .readdir = NULL,
    .closedir = NULL,
};

/* How many times fd was closed. */
static int times_closed(int fd)
{
    int n = 0;
    for (size_t i = 0; i < closed.n; i++)
        n += closed.fds[i] == fd;
    return n;
}

/* A descriptor number unique to (pid, kind). */
static int fd_for(int32_t pid, int kind)
{
    return 100000 + pid * 2 + kind;
}

/* The home slot of pid, mirroring slot_of() in fdcache.c (Fibonacci hashing,
 * bits 7 and up). test_hash_mirror checks that this still holds. */
static size_t home_of(int32_t pid, size_t capacity)
{
    return (size_t)(((uint32_t)pid * 2654435769u) >> 7) & (capacity - 1);
}

/* The slot pid occupies, or -1. */
static long slot_index(const mw_fdcache *c, int32_t pid)
{
    for (size_t i = 0; i < c->capacity; i++) {
        if (c->slots[i].pid == pid)
            return (long)i;
    }
    return -1;
}

/* The cache's bookkeeping matches its slots. */
static void check_invariants(const mw_fdcache *c)
{
    size_t used = 0, fds = 0;
    for (size_t i = 0; i < c->capacity; i++) {
        if (!c->slots[i].pid)
            continue;
        used++;
        for (int k = 0; k < MW_FDC_KINDS; k++)
            fds += c->slots[i].fd[k] >= 0;
    }
    if (used != c->used || fds != c->open_fds)
        fail_msg("bookkeeping: %zu used slots (cache says %zu), %zu fds (cache says %zu)", used,
                 c->used, fds, c->open_fds);
    assert_true(c->capacity == 0 || (c->capacity & (c->capacity - 1)) == 0);
    assert_true(c->used * 2 <= c->capacity);
}

static int reset(void **state)
{
    (void)state;
    memset(&closed, 0, sizeof closed);
    return 0;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_put_get_drop(void **state)
{
    mw_fdcache c;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 100);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STATUS), -1);
    assert_int_equal(c.capacity, 0);

    assert_int_equal(mw_fdcache_put(&c, 10, MW_FDC_STATUS, 500), 0);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STATUS), 500);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STAT), -1);
    assert_int_equal(mw_fdcache_get(&c, 11, MW_FDC_STATUS), -1);
    assert_int_equal(c.open_fds, 1);
    assert_int_equal(c.used, 1);

    assert_int_equal(mw_fdcache_put(&c, 10, MW_FDC_STAT, 501), 0);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STAT), 501);
    assert_int_equal(c.open_fds, 2);
    assert_int_equal(c.used, 1);
    assert_int_equal(closed.n, 0);

    /* Replacing a descriptor closes the old one. */
    assert_int_equal(mw_fdcache_put(&c, 10, MW_FDC_STATUS, 502), 0);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STATUS), 502);
    assert_int_equal(closed.n, 1);
    assert_int_equal(closed.fds[0], 500);
    assert_int_equal(c.open_fds, 2);

    /* Dropping closes both kinds, once each, and forgets the pid. */
    mw_fdcache_drop(&c, 10);
    assert_int_equal(closed.n, 3);
    assert_int_equal(times_closed(501), 1);
    assert_int_equal(times_closed(502), 1);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STATUS), -1);
    assert_int_equal(mw_fdcache_get(&c, 10, MW_FDC_STAT), -1);
    assert_int_equal(c.open_fds, 0);
    assert_int_equal(c.used, 0);
    check_invariants(&c);

    /* Dropping an unknown pid is a no-op. */
    mw_fdcache_drop(&c, 10);
    mw_fdcache_drop(&c, 12345);
    assert_int_equal(closed.n, 3);

    mw_fdcache_release(&c);
    assert_int_equal(closed.n, 3);
    assert_null(c.slots);
}

static void test_release_closes_everything(void **state)
{
    mw_fdcache c;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 1000);
    for (int32_t pid = 1; pid <= 50; pid++) {
        assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STATUS, fd_for(pid, MW_FDC_STATUS)), 0);
        if (pid % 5 == 0)
            assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STAT, fd_for(pid, MW_FDC_STAT)), 0);
    }
    assert_int_equal(c.open_fds, 60);
    mw_fdcache_release(&c);
    assert_int_equal(closed.n, 60);
    for (int32_t pid = 1; pid <= 50; pid++) {
        assert_int_equal(times_closed(fd_for(pid, MW_FDC_STATUS)), 1);
        assert_int_equal(times_closed(fd_for(pid, MW_FDC_STAT)), pid % 5 == 0);
    }
    assert_int_equal(c.open_fds, 0);
    assert_int_equal(c.capacity, 0);
    /* A released cache can be released again and used again. */
    mw_fdcache_release(&c);
    assert_int_equal(mw_fdcache_put(&c, 7, MW_FDC_STATUS, 7), 0);
    assert_int_equal(mw_fdcache_get(&c, 7, MW_FDC_STATUS), 7);
    mw_fdcache_release(&c);
    assert_int_equal(closed.n, 61);
}

static void test_growth_past_256(void **state)
{
    mw_fdcache c;
    const int32_t n = 3000;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 100000);
    for (int32_t i = 0; i < n; i++) {
        /* Sequential pids plus a spread of large ones. */
        int32_t pid = i < 2000 ? i + 1 : 4194304 - i * 7;
        assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STATUS, fd_for(pid, MW_FDC_STATUS)), 0);
        if (i == 0)
            assert_int_equal(c.capacity, 256);
    }
    check_invariants(&c);
    assert_int_equal(c.used, n);
    assert_true(c.capacity >= 2 * (size_t)n);
    assert_int_equal(closed.n, 0); /* growing moves descriptors, never closes them */
    for (int32_t i = 0; i < n; i++) {
        int32_t pid = i < 2000 ? i + 1 : 4194304 - i * 7;
        int got = mw_fdcache_get(&c, pid, MW_FDC_STATUS);
        if (got != fd_for(pid, MW_FDC_STATUS))
            fail_msg("pid %d: got fd %d after growth, want %d", pid, got,
                     fd_for(pid, MW_FDC_STATUS));
    }
    assert_int_equal(mw_fdcache_get(&c, 2001, MW_FDC_STATUS), -1);
    mw_fdcache_release(&c);
    assert_int_equal(closed.n, n);
}

static void test_sweep_closes_exactly_the_unseen(void **state)
{
    mw_fdcache c;
    const int32_t n = 300;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 10000);

    /* Scan 1 sees pids 1..300 (status; multiples of 3 also stat). */
    mw_fdcache_begin(&c);
    for (int32_t pid = 1; pid <= n; pid++) {
        assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STATUS, fd_for(pid, MW_FDC_STATUS)), 0);
        if (pid % 3 == 0)
            assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STAT, fd_for(pid, MW_FDC_STAT)), 0);
    }
    mw_fdcache_sweep(&c);
    assert_int_equal(closed.n, 0); /* everything was seen */
    assert_int_equal(c.used, n);

    /* Scan 2 sees the odd pids (a get of either kind counts) and a new pid. */
    mw_fdcache_begin(&c);
    for (int32_t pid = 1; pid <= n; pid += 2)
        assert_int_equal(mw_fdcache_get(&c, pid, pid % 4 == 1 ? MW_FDC_STATUS : MW_FDC_STAT),
                         pid % 4 == 1 ? fd_for(pid, MW_FDC_STATUS)
                                      : (pid % 3 == 0 ? fd_for(pid, MW_FDC_STAT) : -1));
    assert_int_equal(mw_fdcache_put(&c, 9999, MW_FDC_STATUS, 9999), 0);
    mw_fdcache_sweep(&c);
    check_invariants(&c);

    /* Exactly the descriptors of the even pids were closed, each once. */
    {
        size_t want = 0;
        for (int32_t pid = 2; pid <= n; pid += 2)
            want += 1 + (pid % 3 == 0);
        assert_int_equal(closed.n, want);
    }
    for (int32_t pid = 1; pid <= n; pid++) {
        int even = pid % 2 == 0;
        if (times_closed(fd_for(pid, MW_FDC_STATUS)) != even)
            fail_msg("pid %d: status fd closed %d times, want %d", pid,
                     times_closed(fd_for(pid, MW_FDC_STATUS)), even);
        if (pid % 3 == 0 && times_closed(fd_for(pid, MW_FDC_STAT)) != even)
            fail_msg("pid %d: stat fd closed %d times, want %d", pid,
                     times_closed(fd_for(pid, MW_FDC_STAT)), even);
        if (even) {
            assert_int_equal(mw_fdcache_get(&c, pid, MW_FDC_STATUS), -1);
        } else {
            int got = mw_fdcache_get(&c, pid, MW_FDC_STATUS);
            if (got != fd_for(pid, MW_FDC_STATUS))
                fail_msg("odd pid %d lost its status fd after the sweep (got %d)", pid, got);
        }
    }
    assert_int_equal(mw_fdcache_get(&c, 9999, MW_FDC_STATUS), 9999);
    assert_int_equal(c.used, n / 2 + 1);

    /* Scan 3 sees nothing: every remaining descriptor is closed. */
    mw_fdcache_begin(&c);
    mw_fdcache_sweep(&c);
    assert_int_equal(c.used, 0);
    assert_int_equal(c.open_fds, 0);
    assert_int_equal(times_closed(9999), 1);
    mw_fdcache_release(&c);
}

static void test_max_fds(void **state)
{
    mw_fdcache c;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 3);
    assert_int_equal(mw_fdcache_put(&c, 1, MW_FDC_STATUS, 11), 0);
    assert_int_equal(mw_fdcache_put(&c, 1, MW_FDC_STAT, 12), 0);
    assert_int_equal(mw_fdcache_put(&c, 2, MW_FDC_STATUS, 21), 0);
    assert_int_equal(c.open_fds, 3);
    /* Full: refused, and the caller keeps (and closes) the descriptor. */
    assert_int_equal(mw_fdcache_put(&c, 3, MW_FDC_STATUS, 31), -1);
    assert_int_equal(mw_fdcache_put(&c, 2, MW_FDC_STAT, 22), -1);
    assert_int_equal(closed.n, 0);
    assert_int_equal(c.open_fds, 3);
    assert_int_equal(mw_fdcache_get(&c, 3, MW_FDC_STATUS), -1);
    assert_int_equal(mw_fdcache_get(&c, 2, MW_FDC_STAT), -1);
    assert_int_equal(mw_fdcache_get(&c, 2, MW_FDC_STATUS), 21);
    check_invariants(&c);
    /* Room again after a drop. */
    mw_fdcache_drop(&c, 1);
    assert_int_equal(c.open_fds, 1);
    assert_int_equal(mw_fdcache_put(&c, 3, MW_FDC_STATUS, 31), 0);
    assert_int_equal(mw_fdcache_get(&c, 3, MW_FDC_STATUS), 31);
    mw_fdcache_release(&c);
    assert_int_equal(closed.n, 4);

    /* max_fds 0 disables caching altogether. */
    memset(&closed, 0, sizeof closed);
    mw_fdcache_init(&c, &fake_sys, 0);
    assert_int_equal(mw_fdcache_put(&c, 1, MW_FDC_STATUS, 11), -1);
    assert_int_equal(mw_fdcache_get(&c, 1, MW_FDC_STATUS), -1);
    assert_int_equal(c.capacity, 0);
    mw_fdcache_release(&c);
    assert_int_equal(closed.n, 0);
}

/* Pids 1.. whose home slot in a 256-slot table is want_home. */
static size_t pids_with_home(size_t want_home, int32_t *out, size_t count, int32_t start)
{
    size_t n = 0;
    for (int32_t pid = start; n < count && pid < 4194304; pid++) {
        if (home_of(pid, 256) == want_home)
            out[n++] = pid;
    }
    return n;
}

static void test_hash_mirror(void **state)
{
    /* home_of() must match the cache: an empty 256-slot table puts a pid in
     * its home slot. Otherwise the collision tests below test nothing. */
    mw_fdcache c;
    (void)state;
    mw_fdcache_init(&c, &fake_sys, 1000);
    for (int32_t pid = 1; pid <= 100; pid++) {
        long at;
        assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STATUS, pid), 0);
        at = slot_index(&c, pid);
        if (at != (long)home_of(pid, 256) && c.slots[home_of(pid, 256)].pid == 0)
            fail_msg("pid %d sits in slot %ld, not its home %zu: update home_of()", pid, at,
                     home_of(pid, 256));
        mw_fdcache_drop(&c, pid);
    }
    mw_fdcache_release(&c);
}

static void test_backward_shift_collisions(void **state)
{
    /* Five pids with the same home form one probe run; two more whose home is
     * the next slot are interleaved. Deleting from the middle must leave
     * every other pid reachable. */
    mw_fdcache c;
    int32_t same[5], next[2];
    size_t home = 100;
    (void)state;
    assert_int_equal(pids_with_home(home, same, 5, 1), 5);
    assert_int_equal(pids_with_home(home + 1, next, 2, 1), 2);

    for (size_t victim = 0; victim < 7; victim++) {
        int32_t all[7];
        memcpy(all, same, sizeof same);
        memcpy(all + 5, next, sizeof next);
        memset(&closed, 0, sizeof closed);
        mw_fdcache_init(&c, &fake_sys, 1000);
        /* same[0], next[0], same[1..4], next[1]: slots 100..106. */
        assert_int_equal(mw_fdcache_put(&c, same[0], MW_FDC_STATUS, fd_for(same[0], 0)), 0);
        assert_int_equal(mw_fdcache_put(&c, next[0], MW_FDC_STATUS, fd_for(next[0], 0)), 0);
        for (int i = 1; i < 5; i++)
            assert_int_equal(mw_fdcache_put(&c, same[i], MW_FDC_STATUS, fd_for(same[i], 0)), 0);
        assert_int_equal(mw_fdcache_put(&c, next[1], MW_FDC_STATUS, fd_for(next[1], 0)), 0);
        assert_int_equal(slot_index(&c, same[0]), 100);
        assert_int_equal(slot_index(&c, next[0]), 101);
        assert_int_equal(slot_index(&c, next[1]), 106);

        mw_fdcache_drop(&c, all[victim]);
        check_invariants(&c);
        assert_int_equal(times_closed(fd_for(all[victim], 0)), 1);
        for (int i = 0; i < 7; i++) {
            int got = mw_fdcache_get(&c, all[i], MW_FDC_STATUS);
            int want = (size_t)i == victim ? -1 : fd_for(all[i], 0);
            if (got != want)
                fail_msg("after dropping pid %d: pid %d gives fd %d, want %d", all[victim], all[i],
                         got, want);
        }
        /* The run closed up: slot 106 is empty now. */
        assert_int_equal(c.slots[106].pid, 0);
        mw_fdcache_release(&c);
    }
}

static void test_backward_shift_wraps_around(void **state)
{
    /* A, B, C have home 255 (the last slot), D has home 0: they sit in 255,
     * 0, 1, 2. Deleting A must pull B, C and D back across the wrap. */
    mw_fdcache c;
    int32_t last[3], first[1];
    (void)state;
    assert_int_equal(pids_with_home(255, last, 3, 1), 3);
    assert_int_equal(pids_with_home(0, first, 1, 1), 1);
    mw_fdcache_init(&c, &fake_sys, 1000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(mw_fdcache_put(&c, last[i], MW_FDC_STATUS, fd_for(last[i], 0)), 0);
    assert_int_equal(mw_fdcache_put(&c, first[0], MW_FDC_STATUS, fd_for(first[0], 0)), 0);
    assert_int_equal(slot_index(&c, last[0]), 255);
    assert_int_equal(slot_index(&c, last[1]), 0);
    assert_int_equal(slot_index(&c, last[2]), 1);
    assert_int_equal(slot_index(&c, first[0]), 2);

    mw_fdcache_drop(&c, last[0]);
    check_invariants(&c);
    assert_int_equal(slot_index(&c, last[1]), 255);
    assert_int_equal(slot_index(&c, last[2]), 0);
    assert_int_equal(slot_index(&c, first[0]), 1);
    assert_int_equal(mw_fdcache_get(&c, last[1], 0), fd_for(last[1], 0));
    assert_int_equal(mw_fdcache_get(&c, last[2], 0), fd_for(last[2], 0));
    assert_int_equal(mw_fdcache_get(&c, first[0], 0), fd_for(first[0], 0));

    /* A sweep that removes the entry at the wrap point keeps the rest too. */
    mw_fdcache_begin(&c);
    assert_int_equal(mw_fdcache_get(&c, last[2], 0), fd_for(last[2], 0));
    assert_int_equal(mw_fdcache_get(&c, first[0], 0), fd_for(first[0], 0));
    mw_fdcache_sweep(&c);
    check_invariants(&c);
    assert_int_equal(times_closed(fd_for(last[1], 0)), 1);
    assert_int_equal(mw_fdcache_get(&c, last[1], 0), -1);
    assert_int_equal(mw_fdcache_get(&c, last[2], 0), fd_for(last[2], 0));
    assert_int_equal(mw_fdcache_get(&c, first[0], 0), fd_for(first[0], 0));
    assert_int_equal(slot_index(&c, last[2]), 255);
    mw_fdcache_release(&c);
}

static void test_random_against_model(void **state)
{
    /* Insert, drop and sweep at random against a plain array model; a small
     * pid range makes collisions and long runs common. */
    enum { RANGE = 600 };
    static int model[RANGE]; /* fd of each pid's status, or -1 */
    mw_fdcache c;
    unsigned seed = 12345;
    (void)state;
    for (int i = 0; i < RANGE; i++)
        model[i] = -1;
    mw_fdcache_init(&c, &fake_sys, 1000000);
    for (int step = 0; step < 20000; step++) {
        int32_t pid;
        unsigned op;
        seed = seed * 1103515245u + 12345u;
        pid = (int32_t)((seed >> 8) % RANGE) + 1;
        op = (seed >> 24) % 10;
        if (op < 6) {
            int fd = 1000000 + step;
            assert_int_equal(mw_fdcache_put(&c, pid, MW_FDC_STATUS, fd), 0);
            if (model[pid - 1] >= 0)
                assert_int_equal(times_closed(model[pid - 1]), 1);
            model[pid - 1] = fd;
        } else if (op < 9) {
            if (model[pid - 1] >= 0) {
                mw_fdcache_drop(&c, pid);
                assert_int_equal(times_closed(model[pid - 1]), 1);
                model[pid - 1] = -1;
            }
        } else {
            /* A scan that sees every pid whose number shares seed's parity. */
            int32_t parity = (int32_t)(seed >> 4) & 1;
            mw_fdcache_begin(&c);
            for (int32_t p = 1; p <= RANGE; p++) {
                if ((p & 1) == parity)
                    assert_int_equal(mw_fdcache_get(&c, p, MW_FDC_STATUS), model[p - 1]);
            }
            mw_fdcache_sweep(&c);
            for (int32_t p = 1; p <= RANGE; p++) {
                if ((p & 1) != parity && model[p - 1] >= 0) {
                    assert_int_equal(times_closed(model[p - 1]), 1);
                    model[p - 1] = -1;
                }
            }
        }
        if (step % 500 == 0) {
            check_invariants(&c);
            for (int32_t p = 1; p <= RANGE; p++) {
                int got = mw_fdcache_get(&c, p, MW_FDC_STATUS);
                if (got != model[p - 1])
                    fail_msg("step %d: pid %d gives %d, model says %d", step, p, got, model[p - 1]);
            }
        }
        if (closed.n > MAX_CLOSES - 100)
            closed.n = 0; /* forget old closes; fds are never reused */
    }
    mw_fdcache_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_put_get_drop, reset),
        cmocka_unit_test_setup(test_release_closes_everything, reset),
        cmocka_unit_test_setup(test_growth_past_256, reset),
        cmocka_unit_test_setup(test_sweep_closes_exactly_the_unseen, reset),
        cmocka_unit_test_setup(test_max_fds, reset),
        cmocka_unit_test_setup(test_hash_mirror, reset),
        cmocka_unit_test_setup(test_backward_shift_collisions, reset),
        cmocka_unit_test_setup(test_backward_shift_wraps_around, reset),
        cmocka_unit_test_setup(test_random_against_model, reset),
    };
    return cmocka_run_group_tests_name("fdcache", tests, NULL, NULL);
}
