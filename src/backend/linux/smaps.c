/* The /proc/PID/smaps parser: see smaps.h. */
#include "backend/linux/smaps.h"

#include "backend/linux/parse.h"

#include <string.h>

#define MW_REGION_KEY(id, key, name) [MW_REGION_##id] = (key),
static const char *const region_keys[MW_REGION_COUNT] = {MW_REGION_LIST(MW_REGION_KEY)};
#undef MW_REGION_KEY

static const char deleted_suffix[] = " (deleted)";

static int starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hexadecimal (base 16) or decimal (base 10) digits at *p, at least one. */
static int scan_num(const char **p, const char *end, unsigned base, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int d;

    while (s < end && (d = hex_digit(*s)) >= 0 && (unsigned)d < base) {
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return MW_EPARSE;
        v = v * base + (uint64_t)d;
        s++;
    }
    if (s == *p)
        return MW_EPARSE;
    *p = s;
    *out = v;
    return MW_OK;
}

static int expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return MW_EPARSE;
    (*p)++;
    return MW_OK;
}

static int skip_blanks(const char **p, const char *end)
{
    const char *s = *p;
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
    return *p > s ? MW_OK : MW_EPARSE;
}

/* "start-end perms offset major:minor inode [path]" (one line, no newline). */
static int parse_header(const char *p, const char *end, mw_smaps_row *row)
{
    uint64_t major, minor;

    memset(row, 0, sizeof *row);
    if (scan_num(&p, end, 16, &row->start) < 0 || expect(&p, end, '-') < 0 ||
        scan_num(&p, end, 16, &row->end) < 0 || row->end < row->start || skip_blanks(&p, end) < 0 ||
        end - p < 4)
        return MW_EPARSE;
    memcpy(row->perms, p, 4);
    p += 4;
    if (skip_blanks(&p, end) < 0 || scan_num(&p, end, 16, &row->offset) < 0 ||
        skip_blanks(&p, end) < 0 || scan_num(&p, end, 16, &major) < 0 || expect(&p, end, ':') < 0 ||
        scan_num(&p, end, 16, &minor) < 0 || skip_blanks(&p, end) < 0 ||
        scan_num(&p, end, 10, &row->inode) < 0)
        return MW_EPARSE;
    if (major > 0xfff || minor > 0xfffff) /* MAJOR/MINOR of a kernel dev_t */
        return MW_EPARSE;
    row->dev_major = (unsigned)major;
    row->dev_minor = (unsigned)minor;
    if (p < end && skip_blanks(&p, end) < 0)
        return MW_EPARSE; /* the inode runs into other text */
    while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
        end--;
    row->path = p;
    row->pathlen = (size_t)(end - p);
    if (row->pathlen > sizeof deleted_suffix - 1 &&
        memcmp(end - (sizeof deleted_suffix - 1), deleted_suffix, sizeof deleted_suffix - 1) == 0) {
        row->pathlen -= sizeof deleted_suffix - 1;
        row->flags |= MW_REGION_DELETED;
    }
    if (mw_smaps_is_shmem(row->perms, row->path, row->pathlen))
        row->flags |= MW_REGION_SHMEM;
    return MW_OK;
}

/* A header line begins with a hex digit and its first word holds a '-'
 * ("7f00-7f10"); key lines ("Rss:", "AnonHugePages:", "VmFlags:") hold none
 * before their colon. A line that looks like a header but does not parse
 * ends the mapping before it, so its key lines are not added to that one. */
static int is_header(const char *p, const char *eol)
{
    if (p == eol || hex_digit(*p) < 0)
        return 0;
    while (p < eol && *p != ' ' && *p != ':') {
        if (*p == '-')
            return 1;
        p++;
    }
    return 0;
}

static void key_line(mw_smaps_row *row, const char *p, const char *eol)
{
    const char *colon = memchr(p, ':', (size_t)(eol - p));
    const char *val, *vend = eol;
    size_t keylen;

    if (!colon)
        return;
    keylen = (size_t)(colon - p);
    if (keylen == 7 && memcmp(p, "VmFlags", 7) == 0) {
        row->complete = 1;
        return;
    }
    val = colon + 1;
    while (val < vend && (*val == ' ' || *val == '\t'))
        val++;
    while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t' || vend[-1] == '\r'))
        vend--;
    for (size_t i = 0; i < MW_REGION_COUNT; i++) {
        if (strlen(region_keys[i]) == keylen && memcmp(p, region_keys[i], keylen) == 0) {
            if (mw_parse_kv_size(val, (size_t)(vend - val), &row->v[i]) == 0)
                row->present |= (uint64_t)1 << i;
            else
                row->v[i] = 0;
            return;
        }
    }
}

int mw_parse_smaps(const char *buf, size_t len, mw_smaps_cb cb, void *ud)
{
    const char *p = buf, *end = buf + len;
    mw_smaps_row row;
    int have = 0; /* row holds a mapping not yet handed to cb */
    int rc;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *next = eol ? eol + 1 : end;
        if (!eol)
            eol = end;
        if (is_header(p, eol)) {
            if (have && (rc = cb(ud, &row)) != 0)
                return rc;
            have = parse_header(p, eol, &row) == MW_OK;
        } else if (have) {
            key_line(&row, p, eol);
            /* A VmFlags line cut by the end of the buffer is no proof the
             * mapping was shown whole. */
            if (next == end && eol == end && row.complete)
                row.complete = 0;
        }
        p = next;
    }
    if (have && (rc = cb(ud, &row)) != 0)
        return rc;
    return MW_OK;
}

int mw_parse_syscall_sp(const char *buf, size_t len, uint64_t *sp)
{
    const char *p = buf, *end = buf + len;
    const char *tok[9];
    size_t toklen[9];
    int n = 0;
    uint64_t v;

    while (p < end && *p != '\n') {
        const char *start;
        while (p < end && *p == ' ')
            p++;
        if (p >= end || *p == '\n')
            break;
        if (n == 9)
            return MW_EPARSE; /* more fields than the kernel writes */
        start = p;
        while (p < end && *p != ' ' && *p != '\n')
            p++;
        tok[n] = start;
        toklen[n++] = (size_t)(p - start);
    }
    /* "NR" + 6 arguments + SP + PC, or "-1 SP PC"; "running" is one field. */
    if (!(n == 9 || (n == 3 && toklen[0] == 2 && memcmp(tok[0], "-1", 2) == 0)))
        return MW_EPARSE;
    p = tok[n - 2];
    if (toklen[n - 2] < 3 || p[0] != '0' || p[1] != 'x')
        return MW_EPARSE;
    p += 2;
    if (scan_num(&p, tok[n - 2] + toklen[n - 2], 16, &v) < 0 || p != tok[n - 2] + toklen[n - 2])
        return MW_EPARSE;
    *sp = v;
    return MW_OK;
}

int mw_smaps_is_shmem(const char *perms, const char *path, size_t pathlen)
{
    if (starts_with(path, pathlen, "/memfd:") || starts_with(path, pathlen, "/SYSV") ||
        starts_with(path, pathlen, "/dev/shm/") || starts_with(path, pathlen, "[anon_shmem:"))
        return 1;
    /* MAP_SHARED|MAP_ANONYMOUS is backed by an unlinked shmem file the kernel
     * names "/dev/zero"; a private mapping of /dev/zero is plain anonymous. */
    return perms[3] == 's' && pathlen == 9 && memcmp(path, "/dev/zero", 9) == 0;
}
