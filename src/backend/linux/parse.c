/* Pure /proc parsers: see parse.h. */
#include "backend/linux/parse.h"

#include <string.h>

/* ---- small scanning helpers ----------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* An unsigned decimal at *p (before end); advances *p past it. */
static int scan_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    if (s >= end || *s < '0' || *s > '9')
        return MW_EPARSE;
    while (s < end && *s >= '0' && *s <= '9') {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return MW_EPARSE;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return MW_OK;
}

static int scan_i64(const char **p, const char *end, int64_t *out)
{
    int neg = 0;
    uint64_t v;

    if (*p < end && **p == '-') {
        neg = 1;
        (*p)++;
    }
    if (scan_u64(p, end, &v) < 0 || v > (uint64_t)INT64_MAX)
        return MW_EPARSE;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return MW_OK;
}

static void skip_spaces(const char **p, const char *end)
{
    while (*p < end && is_space(**p))
        (*p)++;
}

static int key_is(const char *key, size_t keylen, const char *want)
{
    size_t n = strlen(want);
    return keylen == n && memcmp(key, want, n) == 0;
}

int mw_kv_each(const char *buf, size_t len, mw_kv_cb cb, void *ud)
{
    const char *p = buf, *end = buf + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *colon, *val, *vend;
        if (!eol)
            eol = end;
        colon = memchr(p, ':', (size_t)(eol - p));
        if (colon) {
            val = colon + 1;
            vend = eol;
            while (val < vend && is_space(*val))
                val++;
            while (vend > val && (is_space(vend[-1]) || vend[-1] == '\r'))
                vend--;
            if (cb(ud, p, (size_t)(colon - p), val, (size_t)(vend - val)))
                return MW_OK;
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    return MW_OK;
}

int mw_parse_kv_size(const char *val, size_t vallen, int64_t *bytes)
{
    const char *p = val, *end = val + vallen;
    uint64_t v, scale = 1;
    size_t rest;

    if (scan_u64(&p, end, &v) < 0)
        return MW_EPARSE;
    skip_spaces(&p, end);
    rest = (size_t)(end - p);
    if (rest == 0)
        scale = 1;
    else if ((rest == 2 && memcmp(p, "kB", 2) == 0) || (rest == 3 && memcmp(p, "KiB", 3) == 0))
        scale = 1024;
    else if (rest == 3 && memcmp(p, "MiB", 3) == 0)
        scale = (uint64_t)1024 * 1024;
    else if (rest == 3 && memcmp(p, "GiB", 3) == 0)
        scale = (uint64_t)1024 * 1024 * 1024;
    else
        return MW_EPARSE;
    if (v > (uint64_t)INT64_MAX / scale)
        return MW_EPARSE;
    *bytes = (int64_t)(v * scale);
    return MW_OK;
}

/* ---- /proc/PID/status ------------------------------------------------------ */

/* The kernel escapes '\n' and '\\' in the Name line (proc_task_name in
 * fs/proc/array.c, with escaping); undo that so names compare equal to stat's
 * raw comm. */
static void unescape_name(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 't' || s[i + 1] == '\\')) {
            char e = s[++i];
            c = (char)(e == 'n' ? '\n' : e == 't' ? '\t' : '\\');
        }
        /* Anything else (an escape we do not know) is kept as it stands. */
        if (o + 1 >= cap)
            break;
        out[o++] = c;
    }
    out[o] = '\0';
}

struct status_state {
    mw_status_info *out;
    const char *end; /* end of the buffer */
    int ok;          /* a Name line was seen */
};

static void status_set(mw_status_info *out, enum mw_status_field f, int64_t v)
{
    out->v[f] = v;
    out->present |= (uint64_t)1 << f;
}

static void status_size(mw_status_info *out, enum mw_status_field f, const char *val, size_t vallen)
{
    int64_t bytes;
    /* Every size in status carries " kB"; a bare number is a cut-off line. */
    if (vallen < 3 || memcmp(val + vallen - 2, "kB", 2) != 0 ||
        mw_parse_kv_size(val, vallen, &bytes) < 0)
        return;
    status_set(out, f, bytes);
}

static int status_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    struct status_state *st = ud;
    mw_status_info *out = st->out;
    const char *p = val, *end = val + vallen;
    int64_t n;

    switch (key[0]) {
    case 'N':
        if (key_is(key, keylen, "Name")) {
            /* The value as the kernel wrote it ("Name:\t<comm>\n"): the
             * walker's trimming would lose spaces that are part of the name. */
            const char *raw = key + keylen + 1, *stop;
            if (raw < st->end && *raw == '\t')
                raw++;
            stop = raw;
            while (stop < st->end && *stop != '\n')
                stop++;
            unescape_name(raw, (size_t)(stop - raw), out->name, sizeof out->name);
            st->ok = 1;
        }
        break;
    case 'S':
        if (key_is(key, keylen, "State") && vallen > 0)
            out->state = val[0];
        break;
    case 'P':
        if (key_is(key, keylen, "PPid") && scan_i64(&p, end, &n) == 0)
            status_set(out, MW_STATUS_PPID, n);
        else if (key_is(key, keylen, "Pid") && scan_i64(&p, end, &n) == 0)
            status_set(out, MW_STATUS_PID, n);
        break;
    case 'U':
        if (key_is(key, keylen, "Uid")) {
            /* real, effective, saved, fs: we report the effective uid, as ps
             * and the darwin kernel's permission checks do. */
            uint64_t real, eff;
            if (scan_u64(&p, end, &real) == 0) {
                skip_spaces(&p, end);
                if (scan_u64(&p, end, &eff) == 0)
                    status_set(out, MW_STATUS_EUID, (int64_t)eff);
            }
        }
        break;
    case 'T':
        if (key_is(key, keylen, "Threads")) {
            if (scan_i64(&p, end, &n) == 0)
                status_set(out, MW_STATUS_THREADS, n);
            /* The kernel writes every line we use before this one (task_mem,
             * then task_sig starting with Threads, in fs/proc/array.c); the
             * signal masks, capabilities and CPU lists after it are skipped
             * unread. */
            return 1;
        }
        break;
    case 'K':
        if (key_is(key, keylen, "Kthread") && vallen > 0 && val[0] == '1')
            out->kthread = 1;
        break;
    case 'V':
        if (key_is(key, keylen, "VmRSS"))
            status_size(out, MW_STATUS_VM_RSS, val, vallen);
        else if (key_is(key, keylen, "VmSize"))
            status_size(out, MW_STATUS_VM_SIZE, val, vallen);
        else if (key_is(key, keylen, "VmHWM"))
            status_size(out, MW_STATUS_VM_HWM, val, vallen);
        else if (key_is(key, keylen, "VmLck"))
            status_size(out, MW_STATUS_VM_LCK, val, vallen);
        else if (key_is(key, keylen, "VmPTE"))
            status_size(out, MW_STATUS_VM_PTE, val, vallen);
        else if (key_is(key, keylen, "VmSwap"))
            status_size(out, MW_STATUS_VM_SWAP, val, vallen);
        break;
    case 'R':
        if (key_is(key, keylen, "RssAnon"))
            status_size(out, MW_STATUS_RSS_ANON, val, vallen);
        else if (key_is(key, keylen, "RssFile"))
            status_size(out, MW_STATUS_RSS_FILE, val, vallen);
        else if (key_is(key, keylen, "RssShmem"))
            status_size(out, MW_STATUS_RSS_SHMEM, val, vallen);
        break;
    default:
        break;
    }
    return 0;
}

int mw_parse_status(const char *buf, size_t len, mw_status_info *out)
{
    struct status_state st;

    memset(out, 0, sizeof *out);
    memset(&st, 0, sizeof st);
    st.out = out;
    st.end = buf + len;
    mw_kv_each(buf, len, status_line, &st);
    return st.ok ? MW_OK : MW_EPARSE;
}

/* ---- /proc/PID/stat --------------------------------------------------------- */

int mw_parse_stat(const char *buf, size_t len, mw_stat_info *out)
{
    const char *end = buf + len, *open, *close = NULL, *p;
    uint64_t v[25]; /* fields 1..24: we need nothing after rss */
    int64_t pid;
    size_t n, field;

    memset(out, 0, sizeof *out);
    open = memchr(buf, '(', len);
    if (!open)
        return MW_EPARSE;
    /* comm can contain ')', so the name ends at the last one. */
    for (p = end; p > open; p--) {
        if (p[-1] == ')') {
            close = p - 1;
            break;
        }
    }
    if (!close)
        return MW_EPARSE;
    p = buf;
    if (scan_i64(&p, open, &pid) < 0)
        return MW_EPARSE;
    out->pid = (int32_t)pid;
    n = (size_t)(close - open - 1);
    if (n >= sizeof out->comm)
        n = sizeof out->comm - 1;
    memcpy(out->comm, open + 1, n);
    out->comm[n] = '\0';
    p = close + 1;
    skip_spaces(&p, end);
    if (p >= end)
        return MW_EPARSE;
    out->state = *p++;
    /* Fields 4.. are numbers (some signed); read them by position. Field k
     * (1-based, as in proc(5)) lands in v[k]. */
    memset(v, 0, sizeof v);
    for (field = 4; field < sizeof v / sizeof v[0]; field++) {
        skip_spaces(&p, end);
        if (p >= end || *p == '\n')
            break;
        if (*p == '-') {
            int64_t sv;
            if (scan_i64(&p, end, &sv) < 0)
                return MW_EPARSE;
            v[field] = (uint64_t)sv;
        } else if (scan_u64(&p, end, &v[field]) < 0) {
            return MW_EPARSE;
        }
    }
    if (field <= 24) /* we need everything up to rss */
        return MW_EPARSE;
    out->ppid = (int32_t)v[4];
    out->flags = v[9];
    out->minflt = v[10];
    out->majflt = v[12];
    out->utime = v[14];
    out->stime = v[15];
    out->num_threads = (int64_t)v[20];
    out->starttime = v[22];
    out->vsize = v[23];
    out->rss = (int64_t)v[24];
    return MW_OK;
}

/* ---- /proc/PID/smaps_rollup -------------------------------------------------- */

#define MW_SMAPS_KEY(id, key) [MW_SMAPS_##id] = (key),
static const char *const smaps_keys[MW_SMAPS_COUNT] = {MW_SMAPS_LIST(MW_SMAPS_KEY)};
#undef MW_SMAPS_KEY

static int smaps_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    mw_smaps_info *out = ud;

    for (size_t i = 0; i < MW_SMAPS_COUNT; i++) {
        if (key_is(key, keylen, smaps_keys[i])) {
            if (mw_parse_kv_size(val, vallen, &out->v[i]) == 0)
                out->present |= (uint64_t)1 << i;
            break;
        }
    }
    return 0;
}

int mw_parse_smaps_rollup(const char *buf, size_t len, mw_smaps_info *out)
{
    memset(out, 0, sizeof *out);
    mw_kv_each(buf, len, smaps_line, out);
    /* Rss and Pss are in every kernel's rollup; without them it is not one. */
    if (!mw_smaps_has(out, MW_SMAPS_RSS) || !mw_smaps_has(out, MW_SMAPS_PSS))
        return MW_EPARSE;
    return MW_OK;
}

/* ---- /proc/meminfo, /proc/pressure/memory, /proc/PID/io, /proc/stat ---------------- */

static int meminfo_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    mw_meminfo *out = ud;
    static const struct {
        const char *key;
        int bit;
    } map[] = {{"MemTotal", MW_SYS_TOTAL},
               {"MemFree", MW_SYS_FREE},
               {"MemAvailable", MW_SYS_AVAILABLE},
               {"SwapTotal", MW_SYS_SWAP_TOTAL},
               {"SwapFree", MW_SYS_SWAP_FREE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (key_is(key, keylen, map[i].key)) {
            int64_t bytes;
            int64_t *slot = map[i].bit == MW_SYS_TOTAL        ? &out->total
                            : map[i].bit == MW_SYS_FREE       ? &out->free
                            : map[i].bit == MW_SYS_AVAILABLE  ? &out->available
                            : map[i].bit == MW_SYS_SWAP_TOTAL ? &out->swap_total
                                                              : &out->swap_free;
            if (mw_parse_kv_size(val, vallen, &bytes) == 0) {
                *slot = bytes;
                out->present |= (uint64_t)1 << map[i].bit;
            }
            break;
        }
    }
    return 0;
}

int mw_parse_meminfo(const char *buf, size_t len, mw_meminfo *out)
{
    memset(out, 0, sizeof *out);
    mw_kv_each(buf, len, meminfo_line, out);
    if (!(out->present & ((uint64_t)1 << MW_SYS_TOTAL)))
        return MW_EPARSE;
    return MW_OK;
}

/* "12.34" -> 12.34 without strtod: no locale, no NUL needed. */
static int scan_decimal(const char **p, const char *end, double *out)
{
    uint64_t whole, frac = 0;
    double scale = 1;

    if (scan_u64(p, end, &whole) < 0)
        return MW_EPARSE;
    if (*p < end && **p == '.') {
        (*p)++;
        while (*p < end && **p >= '0' && **p <= '9') {
            if (scale < 1e15) {
                frac = frac * 10 + (uint64_t)(**p - '0');
                scale *= 10;
            }
            (*p)++;
        }
    }
    *out = (double)whole + (double)frac / scale;
    return MW_OK;
}

int mw_parse_psi(const char *buf, size_t len, mw_psi *out)
{
    const char *p = buf, *end = buf + len;

    memset(out, 0, sizeof *out);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        double a10 = 0, a60 = 0, a300 = 0;
        uint64_t total = 0;
        int full, got = 0;
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > 5 && (memcmp(p, "some ", 5) == 0 || memcmp(p, "full ", 5) == 0)) {
            const char *q = p + 5;
            full = p[0] == 'f';
            while (q < eol) {
                const char *eq = memchr(q, '=', (size_t)(eol - q));
                const char *v;
                if (!eq)
                    break;
                v = eq + 1;
                if (eq - q == 5 && memcmp(q, "avg10", 5) == 0 && scan_decimal(&v, eol, &a10) == 0)
                    got |= 1;
                else if (eq - q == 5 && memcmp(q, "avg60", 5) == 0 &&
                         scan_decimal(&v, eol, &a60) == 0)
                    got |= 2;
                else if (eq - q == 6 && memcmp(q, "avg300", 6) == 0 &&
                         scan_decimal(&v, eol, &a300) == 0)
                    got |= 4;
                else if (eq - q == 5 && memcmp(q, "total", 5) == 0 &&
                         scan_u64(&v, eol, &total) == 0)
                    got |= 8;
                q = v;
                while (q < eol && *q != ' ')
                    q++;
                skip_spaces(&q, eol);
            }
            if (got == 15) {
                if (full) {
                    out->has_full = 1;
                    out->full_avg10 = a10;
                    out->full_avg60 = a60;
                    out->full_avg300 = a300;
                    out->full_total_us = total;
                } else {
                    out->has_some = 1;
                    out->some_avg10 = a10;
                    out->some_avg60 = a60;
                    out->some_avg300 = a300;
                    out->some_total_us = total;
                }
            }
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    return out->has_some ? MW_OK : MW_EPARSE;
}

static int io_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    mw_io_info *out = ud;
    const char *p = val;
    int64_t *slot = NULL;

    if (key_is(key, keylen, "rchar"))
        slot = &out->rchar;
    else if (key_is(key, keylen, "wchar"))
        slot = &out->wchar;
    else if (key_is(key, keylen, "syscr"))
        slot = &out->syscr;
    else if (key_is(key, keylen, "syscw"))
        slot = &out->syscw;
    else if (key_is(key, keylen, "read_bytes"))
        slot = &out->read_bytes;
    else if (key_is(key, keylen, "write_bytes"))
        slot = &out->write_bytes;
    else if (key_is(key, keylen, "cancelled_write_bytes"))
        slot = &out->cancelled_write_bytes;
    if (slot)
        scan_i64(&p, val + vallen, slot);
    return 0;
}

int mw_parse_io(const char *buf, size_t len, mw_io_info *out)
{
    memset(out, 0, sizeof *out);
    out->read_bytes = -1;
    mw_kv_each(buf, len, io_line, out);
    if (out->read_bytes < 0)
        return MW_EPARSE;
    return MW_OK;
}

int mw_parse_btime(const char *buf, size_t len, int64_t *btime)
{
    const char *p = buf, *end = buf + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if (eol - p > 6 && memcmp(p, "btime ", 6) == 0) {
            const char *q = p + 6;
            skip_spaces(&q, eol);
            return scan_i64(&q, eol, btime);
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
    return MW_EPARSE;
}

/* ---- /proc/PID/cgroup ------------------------------------------------------------ */

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* The innermost app scope or service unit in one cgroup path. */
static int app_from_path(const char *path, size_t n, char *app, size_t applen)
{
    const char *best = NULL;
    size_t bestlen = 0;
    const char *p = path, *end = path + n;

    while (p < end) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t clen;
        if (!slash)
            slash = end;
        clen = (size_t)(slash - p);
        /* user@1000.service holds a user's whole session manager: it is a
         * container of apps, not an app; session-N.scope is a login. */
        /* A NUL would cut the key short of its suffix: not a unit name. */
        if (clen > 0 && (ends_with(p, clen, ".service") || ends_with(p, clen, ".scope")) &&
            !memchr(p, '\0', clen) && !(clen > 5 && memcmp(p, "user@", 5) == 0) &&
            !(clen > 8 && memcmp(p, "session-", 8) == 0) &&
            !(clen == 10 && memcmp(p, "init.scope", 10) == 0)) {
            best = p;
            bestlen = clen;
        }
        p = slash + 1;
    }
    if (!best || bestlen + 1 > applen)
        return MW_EPARSE;
    memcpy(app, best, bestlen);
    app[bestlen] = '\0';
    return MW_OK;
}

void mw_parse_cgroup_paths(const char *buf, size_t len, mw_cgroup_paths *out)
{
    const char *p = buf, *end = buf + len;

    memset(out, 0, sizeof *out);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *c1, *c2;
        if (!eol)
            eol = end;
        c1 = memchr(p, ':', (size_t)(eol - p));
        c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (c2 && eol > c2 + 1) {
            size_t ctl = (size_t)(c2 - c1 - 1);
            const char *path = c2 + 1;
            size_t plen = (size_t)(eol - path);
            if (c1 - p == 1 && p[0] == '0' && ctl == 0) {
                out->v2 = path;
                out->v2len = plen;
            } else if (ctl == 12 && memcmp(c1 + 1, "name=systemd", 12) == 0) {
                out->systemd = path;
                out->systemdlen = plen;
            } else if (!out->other && !(plen == 1 && path[0] == '/')) {
                out->other = path;
                out->otherlen = plen;
            }
        }
        if (eol == end)
            break;
        p = eol + 1;
    }
}

int mw_parse_cgroup_app(const char *buf, size_t len, char *app, size_t applen)
{
    mw_cgroup_paths cg;

    /* Prefer the unified (v2) hierarchy; on v1 hosts systemd keeps its tree
     * in the name=systemd hierarchy. */
    mw_parse_cgroup_paths(buf, len, &cg);
    if (cg.v2 && app_from_path(cg.v2, cg.v2len, app, applen) == 0)
        return MW_OK;
    if (cg.systemd && app_from_path(cg.systemd, cg.systemdlen, app, applen) == 0)
        return MW_OK;
    return MW_EPARSE;
}

/* ---- DRM fdinfo ------------------------------------------------------------------- */

/* Up to cap-1 bytes of s (n bytes, stopping at a NUL) as a C string. */
static void copy_bounded(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;

    while (o < n && o + 1 < cap && s[o] != '\0') {
        dst[o] = s[o];
        o++;
    }
    dst[o] = '\0';
}

static int fdinfo_line(void *ud, const char *key, size_t keylen, const char *val, size_t vallen)
{
    mw_fdinfo_drm *fs = ud;
    int64_t bytes;

    if (keylen < 4 || memcmp(key, "drm-", 4) != 0)
        return 0;
    fs->is_drm = 1;
    if (key_is(key, keylen, "drm-pdev")) {
        copy_bounded(fs->pdev, sizeof fs->pdev, val, vallen);
    } else if (key_is(key, keylen, "drm-client-id")) {
        copy_bounded(fs->client, sizeof fs->client, val, vallen);
    } else if (fs->nregions < MW_DRM_REGIONS_MAX &&
               ((keylen > 10 && memcmp(key, "drm-total-", 10) == 0) ||
                (keylen > 13 && memcmp(key, "drm-resident-", 13) == 0) ||
                (keylen > 11 && memcmp(key, "drm-memory-", 11) == 0)) &&
               mw_parse_kv_size(val, vallen, &bytes) == 0) {
        mw_drm_region *r = &fs->regions[fs->nregions++];
        copy_bounded(r->key, sizeof r->key, key + 4, keylen - 4);
        r->bytes = bytes;
    }
    return 0;
}

int mw_parse_fdinfo_drm(const char *buf, size_t len, mw_fdinfo_drm *out)
{
    memset(out, 0, sizeof *out);
    mw_kv_each(buf, len, fdinfo_line, out);
    return out->is_drm ? MW_OK : MW_EPARSE;
}
