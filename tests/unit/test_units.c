/*
 * Units: mw_parse_bytes, mw_parse_duration and mw_format_bytes (src/core/units.c).
 * The formatting cases are the article's table (15.0M, 3.6M, 812K, 1.2G).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "memwatch/memwatch.h"

#define KiB ((int64_t)1024)
#define MiB (KiB * 1024)
#define GiB (MiB * 1024)
#define TiB (GiB * 1024)
#define PiB (TiB * 1024)

/* Parse text, expect success and the given byte count, and why == NULL. */
static void bytes_ok(const char *text, int64_t want)
{
    int64_t got = -12345;
    const char *why = "unset";
    int rc = mw_parse_bytes(text, &got, &why);

    if (rc != MW_OK || got != want || why != NULL)
        fail_msg("mw_parse_bytes(\"%s\"): rc %d, value %lld (want %lld), why \"%s\"", text, rc,
                 (long long)got, (long long)want, why ? why : "(null)");
}

/* Parse text, expect MW_EINVAL, an untouched output and a message. */
static const char *bytes_bad(const char *text)
{
    int64_t got = -12345;
    const char *why = NULL;
    int rc = mw_parse_bytes(text, &got, &why);

    if (rc != MW_EINVAL || got != -12345 || why == NULL)
        fail_msg("mw_parse_bytes(\"%s\"): rc %d (want MW_EINVAL), value %lld, why %s", text, rc,
                 (long long)got, why ? why : "(null)");
    return why;
}

static void test_parse_bytes_bare_and_plain_units(void **state)
{
    (void)state;
    bytes_ok("0", 0);
    bytes_ok("1", 1);
    bytes_ok("512", 512);
    bytes_ok("512B", 512);
    bytes_ok("512b", 512);
    bytes_ok("1K", KiB);
    bytes_ok("1KB", KiB);
    bytes_ok("1KiB", KiB);
    bytes_ok("1M", MiB);
    bytes_ok("1MB", MiB);
    bytes_ok("1MiB", MiB);
    bytes_ok("1G", GiB);
    bytes_ok("1GiB", GiB);
    bytes_ok("1T", TiB);
    bytes_ok("1TB", TiB);
    bytes_ok("1P", PiB);
    bytes_ok("1PiB", PiB);
    bytes_ok("64M", 64 * MiB);
    bytes_ok("8191P", 8191 * PiB);
}

static void test_parse_bytes_case_spaces_decimals(void **state)
{
    (void)state;
    /* Case: the unit letter and the B of KB are case-insensitive. */
    bytes_ok("1k", KiB);
    bytes_ok("1kb", KiB);
    bytes_ok("1kB", KiB);
    bytes_ok("1Kb", KiB);
    bytes_ok("2g", 2 * GiB);
    bytes_ok("1kib", KiB);
    /* Spaces before, between and after. */
    bytes_ok("  1K", KiB);
    bytes_ok("1 K", KiB);
    bytes_ok("1K  ", KiB);
    bytes_ok("\t10 MiB\n", 10 * MiB);
    /* Decimals. */
    bytes_ok("1.5G", GiB + GiB / 2);
    bytes_ok("1.5K", 1536);
    bytes_ok("0.5M", 512 * KiB);
    bytes_ok(".5K", 512);
    bytes_ok("2.", 2);
    bytes_ok("1.25 GiB", GiB + GiB / 4);
    /* Fractions of a byte round to the nearest byte. */
    bytes_ok("1.4", 1);
    bytes_ok("1.6", 2);
}

static void test_parse_bytes_errors_name_the_units(void **state)
{
    static const char *const bad[] = {
        "1.5Q", "",    "   ", "-1",    "+1",    "1e3",  "0x10", "inf",   "nan", ".",   "1..2", "K",
        "1KK",  "1BB", "1Bi", "1KiBB", "1 K B", "1,5K", "1X",   "12 34", "1Ki", "1iB", "B",
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = bytes_bad(bad[i]);
        if (strcmp(why, mw_bytes_units_help) != 0)
            fail_msg("mw_parse_bytes(\"%s\"): message \"%s\" is not the units help", bad[i], why);
    }
    /* The help text names every accepted unit. */
    assert_non_null(strstr(mw_bytes_units_help, "B, K, M, G, T or P"));
    assert_non_null(strstr(mw_bytes_units_help, "KiB"));
    assert_non_null(strstr(mw_bytes_units_help, "1024"));
}

static void test_parse_bytes_too_large(void **state)
{
    const char *why;
    (void)state;
    /* 8192P is 2^63: one past INT64_MAX. */
    why = bytes_bad("8192P");
    assert_non_null(strstr(why, "too large"));
    assert_non_null(strstr(why, "8191P"));
    why = bytes_bad("9223372036854775808");
    assert_non_null(strstr(why, "too large"));
    why = bytes_bad("100000000000000000000000P");
    assert_non_null(strstr(why, "too large"));
    /* A number strtod turns into infinity is refused as well (the units help). */
    {
        char huge[420];
        memset(huge, '9', sizeof huge - 1);
        huge[sizeof huge - 1] = '\0';
        bytes_bad(huge);
    }
    /* The largest values that fit. */
    bytes_ok("9223372036854774784", INT64_C(9223372036854774784));
    bytes_ok("8191.99P", (int64_t)llround(8191.99 * (double)PiB));
}

static void test_parse_bytes_why_may_be_null(void **state)
{
    int64_t v = 0;
    (void)state;
    assert_int_equal(mw_parse_bytes("3K", &v, NULL), MW_OK);
    assert_int_equal(v, 3 * KiB);
    assert_int_equal(mw_parse_bytes("3Q", &v, NULL), MW_EINVAL);
    assert_int_equal(v, 3 * KiB);
}

static void duration_ok(const char *text, double want)
{
    double got = -1;
    const char *why = "unset";
    int rc = mw_parse_duration(text, &got, &why);

    if (rc != MW_OK || fabs(got - want) > 1e-9 || why != NULL)
        fail_msg("mw_parse_duration(\"%s\"): rc %d, value %.9g (want %.9g), why \"%s\"", text, rc,
                 got, want, why ? why : "(null)");
}

static void duration_bad(const char *text)
{
    double got = -1;
    const char *why = NULL;
    int rc = mw_parse_duration(text, &got, &why);

    if (rc != MW_EINVAL || got != -1 || why != mw_duration_units_help)
        fail_msg("mw_parse_duration(\"%s\"): rc %d (want MW_EINVAL), value %g, why %s", text, rc,
                 got, why ? why : "(null)");
}

static void test_parse_duration(void **state)
{
    static const char *const bad[] = {
        "",  "s",     "-1s", "1d",    "1 sec", "1S",    "1MS", "1e3", "0x10s", "inf",
        ".", "1..2s", "1ss", "1 m s", "ms",    "1h30m", "nan", "+1s", "1min",  "1.s.",
    };
    (void)state;
    duration_ok("30s", 30);
    duration_ok("30", 30);
    duration_ok("0", 0);
    duration_ok("250ms", 0.25);
    duration_ok("1.5ms", 0.0015);
    duration_ok("2m", 120);
    duration_ok("1.5h", 5400);
    duration_ok("0.5s", 0.5);
    duration_ok(" 2 s ", 2);
    duration_ok("2.5", 2.5);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        duration_bad(bad[i]);
    assert_non_null(strstr(mw_duration_units_help, "ms, s, m or h"));
}

static void fmt_is(int64_t bytes, const char *want)
{
    char buf[32];
    char *ret = mw_format_bytes(bytes, buf, sizeof buf);

    if (ret != buf || strcmp(buf, want) != 0)
        fail_msg("mw_format_bytes(%lld) = \"%s\", want \"%s\"", (long long)bytes, buf, want);
}

static void test_format_bytes_article_values(void **state)
{
    (void)state;
    fmt_is(15728640, "15.0M");
    fmt_is(3774873, "3.6M");
    fmt_is(831488, "812K");
    fmt_is(1288490189, "1.2G");
    fmt_is(512, "512B");
}

static void test_format_bytes_small_and_negative(void **state)
{
    (void)state;
    fmt_is(0, "0B");
    fmt_is(1, "1B");
    fmt_is(1023, "1023B");
    fmt_is(1024, "1K");
    fmt_is(-1, "-1B");
    fmt_is(-512, "-512B");
    fmt_is(-1023, "-1023B");
    fmt_is(-831488, "-812K");
    fmt_is(-15728640, "-15.0M");
    fmt_is(GiB, "1.0G");
    fmt_is(TiB, "1.0T");
    fmt_is(PiB, "1.0P");
    fmt_is(PiB * 1024, "1.0E");
    /* The extremes: 2^63 - 1 and -2^63 are 8 EiB. */
    fmt_is(INT64_MAX, "8.0E");
    fmt_is(INT64_MIN, "-8.0E");
}

static void test_format_bytes_rounding_edges(void **state)
{
    (void)state;
    /* Kilobytes: 1023.5K and above would print as 1024K, so they move to M. */
    fmt_is(1023 * KiB, "1023K");
    fmt_is(1023 * KiB + 511, "1023K");
    fmt_is(1023 * KiB + 512, "1.0M");
    fmt_is(MiB - 1, "1.0M");
    fmt_is(MiB, "1.0M");
    /* Larger units: 1023.95 would print as 1024.0, so it moves up. */
    fmt_is(1023 * MiB + 900 * KiB, "1023.9M");
    fmt_is(1023 * MiB + 1000 * KiB, "1.0G");
    fmt_is(GiB - 1, "1.0G");
    fmt_is(1023 * GiB + 1000 * MiB, "1.0T");
    /* No result ever shows four integer digits above K. */
    for (int64_t b = 1000 * KiB; b < 3 * MiB; b += 4099) {
        char buf[32];
        mw_format_bytes(b, buf, sizeof buf);
        if (strstr(buf, "1024"))
            fail_msg("mw_format_bytes(%lld) = \"%s\"", (long long)b, buf);
    }
}

static void test_format_bytes_small_buffer(void **state)
{
    char buf[4];
    (void)state;
    /* snprintf semantics: truncated, always terminated. */
    memset(buf, 'x', sizeof buf);
    assert_ptr_equal(mw_format_bytes(15728640, buf, sizeof buf), buf);
    assert_string_equal(buf, "15.");
}

/* Found by fuzz_units: a number near DBL_MAX times 3600 was infinity. */
static void test_duration_overflow_is_an_error(void **state)
{
    char text[400];
    const char *why = NULL;
    double s = -1;
    (void)state;
    memset(text, '5', 320);
    strcpy(text + 306, "h");
    assert_int_equal(mw_parse_duration(text, &s, &why), MW_EINVAL);
    assert_non_null(why);
    text[306] = '\0';
    assert_int_equal(mw_parse_duration(text, &s, &why), MW_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_overflow_is_an_error),
        cmocka_unit_test(test_parse_bytes_bare_and_plain_units),
        cmocka_unit_test(test_parse_bytes_case_spaces_decimals),
        cmocka_unit_test(test_parse_bytes_errors_name_the_units),
        cmocka_unit_test(test_parse_bytes_too_large),
        cmocka_unit_test(test_parse_bytes_why_may_be_null),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_format_bytes_article_values),
        cmocka_unit_test(test_format_bytes_small_and_negative),
        cmocka_unit_test(test_format_bytes_rounding_edges),
        cmocka_unit_test(test_format_bytes_small_buffer),
    };
    return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
