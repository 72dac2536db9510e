/*
 * The UTF-8 validator and the terminal escaper (core/text.c): the byte
 * classes of RFC 3629 section 4, and both escaping modes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "memwatch/text.h"

typedef struct out {
    char buf[256];
    size_t len;
} out;

static void sink(void *ud, const char *p, size_t n)
{
    out *o = ud;
    assert_true(o->len + n < sizeof o->buf);
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static size_t seq(const char *s, size_t n)
{
    return mw_utf8_seq((const unsigned char *)s, n);
}

static void test_utf8_seq(void **state)
{
    (void)state;
    assert_int_equal(seq("a", 1), 1);
    assert_int_equal(seq("\0", 1), 1);
    assert_int_equal(seq("\x7f", 1), 1);
    assert_int_equal(seq("\xc2\x80", 2), 2);
    assert_int_equal(seq("\xdf\xbf", 2), 2);
    assert_int_equal(seq("\xe0\xa0\x80", 3), 3);
    assert_int_equal(seq("\xef\xbf\xbf", 3), 3);
    assert_int_equal(seq("\xf0\x90\x80\x80", 4), 4);
    assert_int_equal(seq("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
    /* stray continuation bytes and impossible leads */
    assert_int_equal(seq("\x80", 1), 0);
    assert_int_equal(seq("\xbf", 1), 0);
    assert_int_equal(seq("\xf5\x80\x80\x80", 4), 0);
    assert_int_equal(seq("\xff", 1), 0);
    /* overlong forms */
    assert_int_equal(seq("\xc0\x80", 2), 0);
    assert_int_equal(seq("\xc1\xbf", 2), 0);
    assert_int_equal(seq("\xe0\x9f\xbf", 3), 0);
    assert_int_equal(seq("\xf0\x8f\xbf\xbf", 4), 0);
    /* surrogates, and the code points either side of them */
    assert_int_equal(seq("\xed\xa0\x80", 3), 0);
    assert_int_equal(seq("\xed\xbf\xbf", 3), 0);
    assert_int_equal(seq("\xed\x9f\xbf", 3), 3);
    assert_int_equal(seq("\xee\x80\x80", 3), 3);
    /* beyond U+10FFFF */
    assert_int_equal(seq("\xf4\x90\x80\x80", 4), 0);
    /* truncated, and a continuation byte that is not one */
    assert_int_equal(seq("\xe6\x97", 2), 0);
    assert_int_equal(seq("\xf0\x9f\x98", 3), 0);
    assert_int_equal(seq("\xe6\x97x", 3), 0);
    assert_int_equal(seq("\xc2\xc2", 2), 0);

    assert_int_equal(mw_utf8_valid_prefix("ok\xc3\xa9\xff!", 6), 4);
    assert_int_equal(mw_utf8_valid_prefix("", 0), 0);
}

static const char *printable(const char *s, size_t n, unsigned flags)
{
    static out o;
    o.len = 0;
    o.buf[0] = '\0';
    mw_text_printable(s, n, flags, sink, &o);
    assert_int_equal(mw_text_is_printable(s, n, flags), o.len == n && memcmp(o.buf, s, n) == 0);
    return o.buf;
}

#define P(lit, flags) printable(lit, sizeof lit - 1, flags)

static void test_printable_escape_all(void **state)
{
    (void)state;
    assert_string_equal(P("sshd", 0), "sshd");
    assert_string_equal(P("", 0), "");
    assert_string_equal(P("\x1b[31mred", 0), "\\x1b[31mred");
    assert_string_equal(P("a\nb\tc\rd\\e", 0), "a\\nb\\tc\\rd\\\\e");
    assert_string_equal(P("nul\0del\x7f", 0), "nul\\x00del\\x7f");
    assert_string_equal(P("c1\xc2\x80\xc2\x85\xc2\x9f.", 0), "c1\\u{80}\\u{85}\\u{9f}.");
    assert_string_equal(P("nbsp\xc2\xa0\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80", 0),
                        "nbsp\xc2\xa0\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80");
    assert_string_equal(P("bad\xff\xfe", 0), "bad\\xff\\xfe");
    assert_string_equal(P("\xc0\x80", 0), "\\xc0\\x80");
    assert_string_equal(P("\xed\xa0\x80", 0), "\\xed\\xa0\\x80");
    assert_string_equal(P("trunc\xe6\x97", 0), "trunc\\xe6\\x97");
    assert_string_equal(P("\xe6\x97x", 0), "\\xe6\\x97x");
}

static void test_printable_keep_layout(void **state)
{
    (void)state;
    assert_string_equal(P("line 1\n\tline 2", MW_PRINTABLE_KEEP_LAYOUT), "line 1\n\tline 2");
    assert_string_equal(P("a\\b", MW_PRINTABLE_KEEP_LAYOUT), "a\\b");
    assert_string_equal(P("cr\r", MW_PRINTABLE_KEEP_LAYOUT), "cr\\x0d");
    assert_string_equal(P("\x1b]0;title\x07", MW_PRINTABLE_KEEP_LAYOUT), "\\x1b]0;title\\x07");
    assert_string_equal(P("\xc2\x9b"
                          "2J",
                          MW_PRINTABLE_KEEP_LAYOUT),
                        "\\u{9b}2J");
    assert_string_equal(P("\xff\xc3\xa9", MW_PRINTABLE_KEEP_LAYOUT), "\\xff\xc3\xa9");
}

static const char *clean(const char *s, size_t n)
{
    static out o;
    o.len = 0;
    o.buf[0] = '\0';
    mw_utf8_clean(s, n, sink, &o);
    assert_true(o.len <= 3 * n);
    assert_int_equal(mw_utf8_valid_prefix(o.buf, o.len), o.len);
    return o.buf;
}

#define C(lit) clean(lit, sizeof lit - 1)

static void test_utf8_clean(void **state)
{
    (void)state;
    assert_string_equal(C("plain \xc3\xa9"), "plain \xc3\xa9");
    assert_string_equal(C("a\xff"
                          "b"),
                        "a\xef\xbf\xbd"
                        "b");
    assert_string_equal(C("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(C("\xe6\x97"), "\xef\xbf\xbd\xef\xbf\xbd");
    /* a control character is valid UTF-8: cleaning is not escaping */
    assert_string_equal(C("\x1b\n"), "\x1b\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_seq),
        cmocka_unit_test(test_printable_escape_all),
        cmocka_unit_test(test_printable_keep_layout),
        cmocka_unit_test(test_utf8_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
