/*
 * Bytes made safe to show: one UTF-8 validator and one terminal escaper,
 * used by the executable's error reports, the JSON writer and, through
 * memwatch.core, by memwatch.text in Lua.
 */
#ifndef MEMWATCH_TEXT_H
#define MEMWATCH_TEXT_H

#include <stddef.h>

/*
 * Length of the well-formed UTF-8 sequence at s (n >= 1 bytes left): 1 for
 * ASCII, 2 to 4 for a multibyte sequence, 0 when none starts here (a stray
 * continuation byte, C0/C1 or F5..FF leads, a truncated sequence, overlong
 * forms, UTF-16 surrogates, code points beyond U+10FFFF). The rules are
 * those of RFC 3629 section 4, which Lua's utf8 library also applies.
 */
size_t mw_utf8_seq(const unsigned char *s, size_t n);

/* Where mw_text_printable and mw_utf8_clean send their output. */
typedef void (*mw_text_sink)(void *ud, const char *p, size_t n);

enum mw_printable_flag {
    /*
     * Keep the layout of a traceback: newline and tab go out raw, a
     * backslash is not doubled, and CR is escaped as \x0d. Without the flag
     * newline, tab, CR and backslash become \n, \t, \r and \\.
     */
    MW_PRINTABLE_KEEP_LAYOUT = 1u << 0
};

/*
 * Sends s (n bytes) to sink with nothing a terminal would act on: other
 * C0 controls and DEL as \xHH, C1 controls (U+0080..U+009F) as \u{HH}, and
 * each byte that starts no well-formed sequence as \xHH. Printable ASCII
 * and well-formed UTF-8 from U+00A0 up pass through.
 */
void mw_text_printable(const char *s, size_t n, unsigned flags, mw_text_sink sink, void *ud);

/* True when mw_text_printable(s, n, flags) would send s unchanged. */
int mw_text_is_printable(const char *s, size_t n, unsigned flags);

/* Length of the longest prefix of s that is well-formed UTF-8. */
size_t mw_utf8_valid_prefix(const char *s, size_t n);

/*
 * Sends s with each byte that starts no well-formed sequence replaced by
 * U+FFFD (3 bytes): at most 3 * n bytes in all.
 */
void mw_utf8_clean(const char *s, size_t n, mw_text_sink sink, void *ud);

#endif
