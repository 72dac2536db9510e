/*
 * Redaction of the secrets a URL carries, so that no report, error text or
 * accessor shows a password or a token. Webhook URLs are credentials in
 * themselves (Slack's, Discord's), and Alertmanager or ntfy URLs often carry
 * basic-auth userinfo or a token parameter. Erring towards hiding too much
 * is deliberate: a "***" costs a reader little, a leaked token costs a lot.
 */
#include "delivery/redact.h"
#include "delivery/delivery.h"
#include "memwatch/memwatch.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

/* The parts of a URL, as offsets: [auth, auth_end) the authority (after "//"),
 * then the path up to query, the query up to frag, the fragment up to end. */
typedef struct url_parts {
    size_t auth, auth_end, query, frag, end;
} url_parts;

static void split_url(const char *url, url_parts *p)
{
    const char *sep = strstr(url, "://");
    size_t stop = strcspn(url, "/?#");
    size_t i;

    p->end = strlen(url);
    /* A scheme only counts when "://" comes before the first / ? or #. */
    if (sep && (size_t)(sep - url) <= stop) {
        p->auth = (size_t)(sep - url) + 3;
        p->auth_end = p->auth + strcspn(url + p->auth, "/?#");
    } else {
        p->auth = p->auth_end = 0;
    }
    i = p->auth_end;
    p->query = i + strcspn(url + i, "?#");
    p->frag = p->query + strcspn(url + p->query, "#");
}

/* Whether a parameter name (n bytes) names a credential. */
static int secret_name(const char *name, size_t n)
{
    static const char *const exact[] = {"auth", "pass", "passwd", "pwd", "code", NULL};
    static const char *const suffix[] = {"token", "key",       "secret",     "password",
                                         "sig",   "signature", "credential", NULL};
    char low[64];
    size_t i;

    if (n == 0 || n >= sizeof low)
        return 0;
    for (i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = '\0';
    for (i = 0; exact[i]; i++)
        if (strcmp(low, exact[i]) == 0)
            return 1;
    for (i = 0; suffix[i]; i++) {
        size_t k = strlen(suffix[i]);
        if (n >= k && strcmp(low + n - k, suffix[i]) == 0)
            return 1;
    }
    return 0;
}

/*
 * In the path [from, to), the segment that follows marker and skip more
 * segments: "/services/T1/B2/SECRET" has the secret two segments after the
 * marker's end. Sets [*s, *e) and returns 1 when the segment is there.
 */
static int path_segment(const char *url, size_t from, size_t to, const char *marker, int skip,
                        size_t *s, size_t *e)
{
    size_t mlen = strlen(marker);
    size_t i;

    for (i = from; i + mlen <= to; i++) {
        size_t j;
        int k;
        if (strncmp(url + i, marker, mlen) != 0)
            continue;
        j = i + mlen;
        for (k = 0; k < skip; k++) {
            while (j < to && url[j] != '/')
                j++;
            if (j >= to)
                return 0;
            j++;
        }
        *s = j;
        while (j < to && url[j] != '/')
            j++;
        *e = j;
        return *e > *s;
    }
    return 0;
}

/* Every secret span of url in order; the callback sees each once. */
typedef int (*span_fn)(void *ud, size_t start, size_t end);

static int each_secret(const char *url, span_fn fn, void *ud)
{
    url_parts p;
    size_t s, e, i;
    int r;

    split_url(url, &p);
    /* userinfo: everything before the last '@' of the authority (a password
     * may contain an unescaped '@'). */
    for (i = p.auth_end; i > p.auth; i--) {
        if (url[i - 1] == '@') {
            if (i - 1 > p.auth && (r = fn(ud, p.auth, i - 1)) != 0)
                return r;
            break;
        }
    }
    /* Path tokens of well-known webhook services. */
    if (path_segment(url, p.auth_end, p.query, "/services/", 2, &s, &e) && (r = fn(ud, s, e)) != 0)
        return r;
    if (path_segment(url, p.auth_end, p.query, "/api/webhooks/", 1, &s, &e) &&
        (r = fn(ud, s, e)) != 0)
        return r;
    /* name=value parameters of the query and the fragment (OAuth's implicit
     * flow puts access_token there). */
    for (i = p.query; i < p.end;) {
        size_t name, eq, stop;
        i++; /* the '?', '&', ';' or '#' */
        name = i;
        stop = i + strcspn(url + i, "&;#");
        if (stop > p.end)
            stop = p.end;
        eq = name;
        while (eq < stop && url[eq] != '=')
            eq++;
        if (eq < stop && eq + 1 < stop && secret_name(url + name, eq - name) &&
            (r = fn(ud, eq + 1, stop)) != 0)
            return r;
        i = stop;
    }
    return 0;
}

typedef struct next_state {
    size_t from, start, end;
    int found;
} next_state;

static int take_next(void *ud, size_t start, size_t end)
{
    next_state *st = ud;
    if (start < st->from)
        return 0;
    /* Spans come grouped by kind, not by position: keep the earliest. */
    if (!st->found || start < st->start) {
        st->start = start;
        st->end = end;
        st->found = 1;
    }
    return 0;
}

int mw_redact_next(const char *url, size_t from, size_t *start, size_t *end)
{
    next_state st = {from, 0, 0, 0};
    each_secret(url, take_next, &st);
    if (!st.found)
        return 0;
    *start = st.start;
    *end = st.end;
    return 1;
}

/* Bounded appending into a caller's buffer. */
typedef struct out_buf {
    char *buf;
    size_t len, used;
    int truncated;
} out_buf;

static void put(out_buf *o, const char *s, size_t n)
{
    size_t room = o->len > o->used ? o->len - o->used - 1 : 0;
    if (n > room) {
        n = room;
        o->truncated = 1;
    }
    memcpy(o->buf + o->used, s, n);
    o->used += n;
    o->buf[o->used] = '\0';
}

int mw_delivery_redact_url(const char *url, char *buf, size_t len)
{
    out_buf o = {buf, len, 0, 0};
    size_t at = 0, s, e;

    if (!url || !buf || len == 0)
        return MW_EINVAL;
    buf[0] = '\0';
    while (mw_redact_next(url, at, &s, &e)) {
        put(&o, url + at, s - at);
        put(&o, "***", 3);
        at = e;
    }
    put(&o, url + at, strlen(url + at));
    return o.truncated ? -ENOSPC : 0;
}

/* The longest secret of url that text starts with at its position, or 0. */
static size_t secret_at(const char *url, const char *text)
{
    size_t at = 0, s, e, best = 0;
    while (mw_redact_next(url, at, &s, &e)) {
        size_t n = e - s;
        if (n >= 4 && n > best && strncmp(text, url + s, n) == 0)
            best = n;
        at = e;
    }
    return best;
}

int mw_redact_text(const char *url, const char *text, char *buf, size_t len)
{
    out_buf o = {buf, len, 0, 0};
    const char *t = text;

    if (!url || !text || !buf || len == 0)
        return MW_EINVAL;
    buf[0] = '\0';
    while (*t) {
        size_t n = secret_at(url, t);
        if (n) {
            put(&o, "***", 3);
            t += n;
        } else {
            put(&o, t, 1);
            t++;
        }
    }
    return o.truncated ? -ENOSPC : 0;
}
