/* Sizes and durations: parsing what users type and formatting what they read. */
#include "memwatch/memwatch.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char mw_bytes_units_help[] =
    "expected a number with an optional unit B, K, M, G, T or P "
    "(binary multiples: 1K = 1024 bytes; KB and KiB mean the same as K)";
const char mw_duration_units_help[] =
    "expected a number with an optional unit ms, s, m or h (a bare number is seconds)";

/*
 * The numeric prefix of text: digits with at most one decimal point, no sign,
 * no exponent, no hex (strtod alone would take "inf", "0x10" and "1e3").
 * Returns the end of the number, or NULL when there is none.
 */
static const char *scan_number(const char *text, double *value)
{
    const char *p = text;
    int digits = 0, dots = 0;
    char *end;

    while (isdigit((unsigned char)*p) || *p == '.') {
        if (*p == '.')
            dots++;
        else
            digits++;
        p++;
    }
    if (digits == 0 || dots > 1)
        return NULL;
    errno = 0;
    *value = strtod(text, &end);
    if (end != p || errno == ERANGE || !isfinite(*value))
        return NULL;
    return p;
}

static const char *skip_space(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

int mw_parse_bytes(const char *text, int64_t *out, const char **why)
{
    static const char prefixes[] = "BKMGTP";
    double value, scale = 1;
    const char *p = skip_space(text), *unit, *end;
    size_t ulen;

    if (why)
        *why = mw_bytes_units_help;
    p = scan_number(p, &value);
    if (!p)
        return MW_EINVAL;
    unit = skip_space(p);
    end = unit + strlen(unit);
    while (end > unit && isspace((unsigned char)end[-1]))
        end--;
    ulen = (size_t)(end - unit);
    if (ulen > 0) {
        const char *hit = strchr(prefixes, toupper((unsigned char)unit[0]));
        int ok;
        if (!hit)
            return MW_EINVAL;
        scale = ldexp(1.0, 10 * (int)(hit - prefixes));
        if (hit == prefixes) /* plain "B" takes no suffix */
            ok = ulen == 1;
        else
            ok = ulen == 1 || (ulen == 2 && toupper((unsigned char)unit[1]) == 'B') ||
                 (ulen == 3 && tolower((unsigned char)unit[1]) == 'i' &&
                  toupper((unsigned char)unit[2]) == 'B');
        if (!ok)
            return MW_EINVAL;
    }
    value *= scale;
    /* 2^63 is not representable in int64_t; refuse it and anything larger. */
    if (value >= 9223372036854775808.0) {
        if (why)
            *why = "size too large (the limit is 8191P)";
        return MW_EINVAL;
    }
    *out = (int64_t)llround(value);
    if (why)
        *why = NULL;
    return MW_OK;
}

int mw_parse_duration(const char *text, double *seconds, const char **why)
{
    static const struct {
        const char *unit;
        double seconds;
    } units[] = {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
    double value;
    const char *p = skip_space(text), *unit, *end;
    size_t ulen;

    if (why)
        *why = mw_duration_units_help;
    p = scan_number(p, &value);
    if (!p)
        return MW_EINVAL;
    unit = skip_space(p);
    end = unit + strlen(unit);
    while (end > unit && isspace((unsigned char)end[-1]))
        end--;
    ulen = (size_t)(end - unit);
    if (ulen > 0) {
        size_t i;
        for (i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strlen(units[i].unit) == ulen && strncmp(unit, units[i].unit, ulen) == 0)
                break;
        }
        if (i == sizeof units / sizeof units[0])
            return MW_EINVAL;
        value *= units[i].seconds;
        /* 300 digits of hours overflow to infinity (found by fuzz_units). */
        if (!isfinite(value)) {
            if (why)
                *why = "duration too large";
            return MW_EINVAL;
        }
    }
    *seconds = value;
    if (why)
        *why = NULL;
    return MW_OK;
}

char *mw_format_bytes(int64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGTPE";
    /* Work on the magnitude as unsigned so INT64_MIN is safe. */
    uint64_t mag = bytes < 0 ? (uint64_t)0 - (uint64_t)bytes : (uint64_t)bytes;
    const char *sign = bytes < 0 ? "-" : "";
    double v;
    int u = 0;

    if (mag < 1024) {
        snprintf(buf, len, "%s%" PRIu64 "B", sign, mag);
        return buf;
    }
    v = (double)mag / 1024.0;
    /* Kilobytes print whole (812K); larger units keep one decimal (15.0M). A
     * value that would round up to 1024 of a unit moves to the next one. */
    if (v >= 1023.5) {
        v /= 1024.0;
        u = 1;
        while (v >= 1023.95 && units[u + 1]) {
            v /= 1024.0;
            u++;
        }
        snprintf(buf, len, "%s%.1f%c", sign, v, units[u]);
    } else {
        snprintf(buf, len, "%s%.0f%c", sign, v, units[u]);
    }
    return buf;
}

double mw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
