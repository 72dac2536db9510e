/*
 * serve's access checks (src/http): the token buckets (bucket.c) and the
 * bcrypt worker with its cache of successes (auth.c), with cost-4 hashes
 * made by python's crypt (libxcrypt).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "http/auth.h"
#include "http/bucket.h"

/* "right pw", and 72 x's, both with salt abcdefghijklmnopqrstuu. */
static const char hash_right[] = "$2b$04$abcdefghijklmnopqrstuulpgNL.rYUtRgM/Ls6TrzEqPOGrGg4Ca";
static const char hash_72[] = "$2b$04$abcdefghijklmnopqrstuubzadhGtS2zEF.gu0yd0opP6cVzb.e0i";
/* "slow pw" at cost 12: a check takes a good fraction of a second. */
static const char hash_slow[] = "$2b$12$abcdefghijklmnopqrstuuog5J8gm3Zh.fIFvbh1ishNCjf5lUp9S";

/* Tests that could not run: cmocka counts a skip() as neither failed nor
 * apart from passed, so main exits 77 (ctest's SKIP_RETURN_CODE) for them. */
static int tests_skipped;

static int no_bcrypt(void)
{
    if (mw_auth_available())
        return 0;
    print_message(
        "SKIP: this build has no bcrypt (libxcrypt was not found), so basic auth is left out\n");
    tests_skipped++;
    return 1;
}

static void test_bucket(void **state)
{
    struct mw_bucket b = {0, 0};
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(mw_bucket_take(&b, 100.0, 0.5, 5), 1);
    assert_int_equal(mw_bucket_take(&b, 100.0, 0.5, 5), 0);
    assert_int_equal(mw_bucket_has(&b, 101.9, 0.5, 5), 0); /* 0.95 of a token */
    assert_int_equal(mw_bucket_take(&b, 102.0, 0.5, 5), 1);
    assert_int_equal(mw_bucket_take(&b, 102.0, 0.5, 5), 0);
    /* Refills up to the burst, no further. */
    assert_int_equal(mw_bucket_has(&b, 1000.0, 0.5, 5), 1);
    assert_true(b.tokens <= 5.0);
    /* A clock that goes back starts over full rather than owing tokens. */
    assert_int_equal(mw_bucket_has(&b, 10.0, 0.5, 5), 1);
}

static void test_addr_buckets(void **state)
{
    static struct mw_addr_buckets t;
    struct mw_bucket *a, *b;
    char addr[32];
    (void)state;
    a = mw_addr_bucket(&t, "192.0.2.1", 1.0, 5);
    b = mw_addr_bucket(&t, "192.0.2.2", 1.0, 5);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(mw_addr_bucket(&t, "192.0.2.1", 1.0, 5), a);
    assert_int_equal(mw_bucket_take(a, 1.0, 0.5, 5), 1);
    /* A full table gives the longest idle slot to a newcomer. */
    for (int i = 0; i < MW_ADDR_BUCKETS; i++) {
        snprintf(addr, sizeof addr, "198.51.100.%d", i);
        mw_bucket_take(mw_addr_bucket(&t, addr, 2.0 + i, 5), 2.0 + i, 0.5, 5);
    }
    b = mw_addr_bucket(&t, "203.0.113.9", 1000.0, 5);
    assert_true(b->tokens == 5.0);
    /* The 256 newcomers took the 254 empty slots, then 192.0.2.1's and
     * 192.0.2.2's (idle since 1.0); the one idle longest now is slot 2,
     * 198.51.100.0's (since 2.0). */
    assert_ptr_equal(b, &t.slot[2].bucket);
    assert_string_equal(t.slot[2].addr, "203.0.113.9");
    assert_string_equal(t.slot[0].addr, "198.51.100.254");
}

/* Waits for and takes one result. */
static void take_one(struct mw_auth *a, void **tag, int *ok)
{
    for (int i = 0; i < 200; i++) {
        struct pollfd p = {mw_auth_fd(a), POLLIN, 0};
        if (mw_auth_take(a, tag, ok))
            return;
        poll(&p, 1, 50);
    }
    fail_msg("no result from the worker in 10 s");
}

static void test_auth_checks(void **state)
{
    struct mw_auth *a;
    void *tag;
    int ok, tags[4];
    char long_pw[80];
    (void)state;
    if (no_bcrypt())
        skip();
    assert_int_equal(mw_auth_start(&a), 0);

    assert_int_equal(mw_auth_cached(a, "alice", "right pw", hash_right), 0);
    assert_int_equal(mw_auth_submit(a, "alice", "right pw", hash_right, &tags[0]), 0);
    take_one(a, &tag, &ok);
    assert_ptr_equal(tag, &tags[0]);
    assert_int_equal(ok, 1);
    /* Remembered: for this user, password and hash only. */
    assert_int_equal(mw_auth_cached(a, "alice", "right pw", hash_right), 1);
    assert_int_equal(mw_auth_cached(a, "bob", "right pw", hash_right), 0);
    assert_int_equal(mw_auth_cached(a, "alice", "right pw ", hash_right), 0);
    assert_int_equal(mw_auth_cached(a, "alice", "right pw", hash_72), 0);

    assert_int_equal(mw_auth_submit(a, "alice", "wrong pw", hash_right, &tags[1]), 0);
    take_one(a, &tag, &ok);
    assert_int_equal(ok, 0);
    assert_int_equal(mw_auth_cached(a, "alice", "wrong pw", hash_right), 0);

    /* An unknown user fails even with the decoy's password unknown to all. */
    assert_int_equal(mw_auth_submit(a, "mallory", "right pw", NULL, &tags[2]), 0);
    take_one(a, &tag, &ok);
    assert_int_equal(ok, 0);

    /* 72 bytes match; a 73rd byte does not make them match on the first 72. */
    memset(long_pw, 'x', sizeof long_pw);
    long_pw[72] = '\0';
    assert_int_equal(mw_auth_submit(a, "u", long_pw, hash_72, &tags[3]), 0);
    take_one(a, &tag, &ok);
    assert_int_equal(ok, 1);
    long_pw[72] = 'x';
    long_pw[73] = '\0';
    assert_int_equal(mw_auth_submit(a, "u", long_pw, hash_72, &tags[3]), 0);
    take_one(a, &tag, &ok);
    assert_int_equal(ok, 0);
    mw_auth_free(a);
}

static void test_auth_bounded_and_stop(void **state)
{
    struct mw_auth *a;
    void *tag;
    int ok, n = 0, not_checked = 0, tags[MW_AUTH_INFLIGHT];
    (void)state;
    if (no_bcrypt())
        skip();
    assert_int_equal(mw_auth_start(&a), 0);
    for (int i = 0; i < MW_AUTH_INFLIGHT; i++)
        assert_int_equal(mw_auth_submit(a, "alice", "wrong", hash_slow, &tags[i]), 0);
    assert_int_equal(mw_auth_submit(a, "alice", "wrong", hash_slow, &tags[0]), -EAGAIN);
    mw_auth_stop(a);
    assert_int_equal(mw_auth_submit(a, "alice", "wrong", hash_right, &tags[0]), -ESHUTDOWN);
    while (mw_auth_take(a, &tag, &ok)) {
        n++;
        assert_true(ok == 0 || ok == -1);
        not_checked += ok == -1;
    }
    /* Every check comes back; stop waited for the one running at most. */
    assert_int_equal(n, MW_AUTH_INFLIGHT);
    assert_true(not_checked >= MW_AUTH_INFLIGHT - 1);
    mw_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_addr_buckets),
        cmocka_unit_test(test_auth_checks),
        cmocka_unit_test(test_auth_bounded_and_stop),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    if (failed != 0)
        return failed;
    return tests_skipped != 0 ? 77 : 0;
}
