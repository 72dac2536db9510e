/* One UTF-8 validator and one terminal escaper; see memwatch/text.h. */
#include "memwatch/text.h"

#include <stdio.h>
#include <string.h>

size_t mw_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0; /* a continuation byte, C0/C1 (always overlong), F5..FF */
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    }
    /* The second byte's range excludes overlong three- and four-byte forms,
     * the surrogates U+D800..U+DFFF and everything past U+10FFFF (RFC 3629
     * section 4, the UTF8-3 and UTF8-4 rules). */
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

size_t mw_utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        size_t k = mw_utf8_seq(u + i, n - i);
        if (!k)
            break;
        i += k;
    }
    return i;
}

/* The escape for an ASCII byte, or NULL when it goes out as it is. */
static const char *ascii_escape(unsigned c, unsigned flags, char *buf, size_t len)
{
    if (flags & MW_PRINTABLE_KEEP_LAYOUT) {
        if (c == '\n' || c == '\t')
            return NULL;
    } else {
        switch (c) {
        case '\n':
            return "\\n";
        case '\t':
            return "\\t";
        case '\r':
            return "\\r";
        case '\\':
            return "\\\\";
        default:
            break;
        }
    }
    if (c >= 0x20 && c < 0x7F)
        return NULL;
    snprintf(buf, len, "\\x%02x", c);
    return buf;
}

int mw_text_is_printable(const char *s, size_t n, unsigned flags)
{
    const unsigned char *u = (const unsigned char *)s;
    char buf[8];

    for (size_t i = 0; i < n;) {
        size_t k = mw_utf8_seq(u + i, n - i);
        if (k == 0 || (k == 1 && ascii_escape(u[i], flags, buf, sizeof buf)) ||
            (u[i] == 0xC2 && u[i + 1] < 0xA0))
            return 0;
        i += k;
    }
    return 1;
}

void mw_text_printable(const char *s, size_t n, unsigned flags, mw_text_sink sink, void *ud)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the bytes that go out as they are */
    char buf[16];

    for (size_t i = 0; i < n;) {
        size_t k = mw_utf8_seq(u + i, n - i);
        const char *esc = NULL;
        size_t step = k ? k : 1;

        if (k == 0)
            esc = (snprintf(buf, sizeof buf, "\\x%02x", u[i]), buf);
        else if (k == 1)
            esc = ascii_escape(u[i], flags, buf, sizeof buf);
        else if (u[i] == 0xC2 && u[i + 1] < 0xA0) /* a C1 control */
            esc = (snprintf(buf, sizeof buf, "\\u{%x}", u[i + 1]), buf);
        if (esc) {
            if (i > run)
                sink(ud, s + run, i - run);
            sink(ud, esc, strlen(esc));
            run = i + step;
        }
        i += step;
    }
    if (n > run)
        sink(ud, s + run, n - run);
}

void mw_utf8_clean(const char *s, size_t n, mw_text_sink sink, void *ud)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;

    for (size_t i = 0; i < n;) {
        size_t k = mw_utf8_seq(u + i, n - i);
        if (k) {
            i += k;
            continue;
        }
        if (i > run)
            sink(ud, s + run, i - run);
        sink(ud, replacement, 3);
        run = ++i;
    }
    if (n > run)
        sink(ud, s + run, n - run);
}
