/*
 * OOM-kill evidence: the kernel's counters and its log line for each kill.
 */
#include "backend/linux/oom.h"

#include "memwatch/memwatch.h"

#include <string.h>

/* Parse an unsigned decimal at s[*i], advancing *i; 0 on success. */
static int decimal(const char *s, size_t n, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        unsigned d = (unsigned)(s[*i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return MW_EPARSE;
        v = v * 10 + d;
        (*i)++;
    }
    if (*i == start)
        return MW_EPARSE;
    *out = v;
    return 0;
}

int mw_parse_flat_keyed(const char *buf, size_t len, const char *key, int64_t *value)
{
    size_t klen = strlen(key), i = 0;

    while (i < len) {
        const char *line = buf + i;
        const char *eol = memchr(line, '\n', len - i);
        size_t n = eol ? (size_t)(eol - line) : len - i;
        if (n > klen && memcmp(line, key, klen) == 0 && line[klen] == ' ') {
            size_t j = klen;
            uint64_t v;
            while (j < n && line[j] == ' ')
                j++;
            if (decimal(line, n, &j, &v) < 0 || j != n || v > INT64_MAX)
                return MW_EPARSE;
            *value = (int64_t)v;
            return MW_OK;
        }
        i += n + 1;
    }
    return MW_EPARSE;
}

int mw_parse_kmsg_oom(const char *rec, size_t len, mw_kmsg_oom *out)
{
    static const char marker[] = "Killed process ";
    const size_t mlen = sizeof marker - 1;
    const char *semi = memchr(rec, ';', len);
    const char *msg, *eol;
    size_t i = 0, n, k, c;
    uint64_t prio, v;

    if (!semi)
        return MW_EPARSE;
    /* The prefix: priority, sequence number, time stamp, then flags. */
    if (decimal(rec, len, &i, &prio) < 0 || i >= len || rec[i++] != ',' ||
        decimal(rec, len, &i, &out->seq) < 0 || i >= len || rec[i++] != ',' ||
        decimal(rec, len, &i, &out->usec) < 0 || i >= len || rec[i] != ',')
        return MW_EPARSE;
    msg = semi + 1;
    eol = memchr(msg, '\n', len - (size_t)(msg - rec));
    n = eol ? (size_t)(eol - msg) : len - (size_t)(msg - rec);
    /* "Out of memory: Killed process" and "Memory cgroup out of memory:
     * Killed process"; the oom_reaper's "reaped process" follows a kill
     * already reported, and is not counted again. */
    for (k = 0; k + mlen <= n; k++) {
        if (memcmp(msg + k, marker, mlen) == 0)
            break;
    }
    if (k + mlen > n || k == 0)
        return MW_EPARSE;
    if (!memmem(msg, k, "out of memory", 13) && !memmem(msg, k, "Out of memory", 13))
        return MW_EPARSE;
    i = k + mlen;
    if (decimal(msg, n, &i, &v) < 0 || v == 0 || v > INT32_MAX)
        return MW_EPARSE;
    out->pid = (int32_t)v;
    out->comm[0] = '\0';
    if (i + 1 < n && msg[i] == ' ' && msg[i + 1] == '(') {
        /* comm may itself hold ')': take the text up to the last ") " or end. */
        const char *start = msg + i + 2, *close = NULL;
        for (c = i + 2; c < n; c++) {
            if (msg[c] == ')' && (c + 1 == n || msg[c + 1] == ' '))
                close = msg + c;
        }
        if (close) {
            size_t m = (size_t)(close - start);
            if (m >= sizeof out->comm)
                m = sizeof out->comm - 1;
            memcpy(out->comm, start, m);
            out->comm[m] = '\0';
        }
    }
    return MW_OK;
}

int mw_parse_kmsg_seq(const char *rec, size_t len, uint64_t *seq)
{
    size_t i = 0;
    uint64_t prio;

    if (decimal(rec, len, &i, &prio) < 0 || i >= len || rec[i++] != ',' ||
        decimal(rec, len, &i, seq) < 0 || i >= len || (rec[i] != ',' && rec[i] != ';'))
        return MW_EPARSE;
    return MW_OK;
}
