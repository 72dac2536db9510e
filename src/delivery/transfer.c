/*
 * Driving libcurl's multi interface from the caller's loop, without blocking.
 *
 * libcurl tells us, through its socket and timer callbacks, which
 * descriptors to watch and when it next needs the clock; the caller's loop
 * waits on those (mw_delivery_pollfds, mw_delivery_timeout) beside its own,
 * and perform polls them with a zero timeout and hands what is ready to
 * curl_multi_socket_action. The callback interface is used rather than
 * curl_multi_fdset because a select() set cannot hold descriptors above
 * FD_SETSIZE, and memwatch keeps thousands of /proc descriptors open.
 */
#include "delivery/delivery.h"
#include "delivery/engine.h"
#include "delivery/redact.h"
#include "delivery/retry.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"
#include "memwatch/text.h"

/* ---- libcurl's callbacks ------------------------------------------------------ */

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    mw_delivery *d = userp;
    size_t i;

    (void)easy;
    (void)socketp;
    for (i = 0; i < d->nsocks && d->socks[i].fd != fd; i++)
        ;
    if (what == CURL_POLL_REMOVE) {
        if (i < d->nsocks)
            d->socks[i] = d->socks[--d->nsocks];
        return 0;
    }
    if (i == d->nsocks) {
        mw_dsock *s = mw_grow(d->socks, &d->socks_cap, d->nsocks + 1, sizeof *s, 8);
        if (!s)
            return -1; /* libcurl aborts the transfers: they count as failed */
        d->socks = s;
        d->socks[i].fd = fd;
        d->nsocks++;
    }
    d->socks[i].events =
        (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    mw_delivery *d = userp;
    (void)multi;
    /* libcurl is only ever called from inside perform, flush or close, so
     * the perform clock is current here. */
    d->timer_at = timeout_ms < 0 ? -1 : d->now + (double)timeout_ms / 1000.0;
    return 0;
}

/* Keep the start of the response: a 4xx body usually says what was wrong. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    mw_dest *dest = ud;
    size_t n = size * nmemb;
    size_t room = MW_DELIVERY_RESPONSE_MAX - dest->response_len;
    size_t take = n < room ? n : room;

    memcpy(dest->response + dest->response_len, data, take);
    dest->response_len += take;
    dest->response[dest->response_len] = '\0';
    return n;
}

int mw_delivery_multi_setup(mw_delivery *d)
{
    CURLMcode c = curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    if (c == CURLM_OK)
        c = curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, (void *)d);
    if (c == CURLM_OK)
        c = curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    if (c == CURLM_OK)
        c = curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, (void *)d);
    return c == CURLM_OK ? 0 : MW_ENOTSUP;
}

static int multi_status(CURLMcode c)
{
    if (c == CURLM_OK)
        return 0;
    return c == CURLM_OUT_OF_MEMORY ? -ENOMEM : MW_ENOTSUP;
}

/* ---- starting a request --------------------------------------------------------- */

static struct curl_slist *add_header(struct curl_slist *list, const char *line, int *failed)
{
    struct curl_slist *l;
    if (*failed)
        return list;
    l = curl_slist_append(list, line);
    if (!l) {
        *failed = 1;
        return list;
    }
    return l;
}

static struct curl_slist *request_headers(const mw_dest *dest, const mw_dq_item *item)
{
    struct curl_slist *list = NULL;
    char *ctype = NULL;
    int failed = 0;
    size_t i;

    for (i = 0; dest->headers[i]; i++)
        list = add_header(list, dest->headers[i], &failed);
    for (i = 0; item->headers && item->headers[i]; i++)
        list = add_header(list, item->headers[i], &failed);
    if (item->content_type) {
        size_t n = strlen(item->content_type) + sizeof "Content-Type: ";
        ctype = mw_malloc(n);
        if (!ctype)
            failed = 1;
        else
            snprintf(ctype, n, "Content-Type: %s", item->content_type);
    }
    /* Without a type of its own, libcurl would label a POST body as a form. */
    list = add_header(list, ctype ? ctype : "Content-Type:", &failed);
    /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
    list = add_header(list, "Expect:", &failed);
    mw_free(ctype);
    if (failed) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

/* Start the destination's next request if it is free and not backing off.
 * 1 when one started, 0 when none did, or a negative status. */
static int start_one(mw_dest *dest, double now)
{
    mw_delivery *d = dest->engine;
    mw_dq_item *item;
    CURLcode c = CURLE_OK;
    int rc;

    if (dest->current || now < dest->next_try || dest->queue.waiting == 0)
        return 0;
    item = mw_dq_start(&dest->queue);
    if (!item)
        return 0;
    if (dest->queue.waiting == 0)
        dest->overflow_told = 0; /* the overflow is over: a new one is news again */
    dest->req_hdrs = request_headers(dest, item);
    if (!dest->req_hdrs) {
        rc = -ENOMEM;
        goto back;
    }
    dest->errbuf[0] = '\0';
    dest->response_len = 0;
    dest->response[0] = '\0';
    /* The body stays ours (not copied by libcurl) until the transfer ends. */
    c = curl_easy_setopt(dest->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)item->len);
    if (c == CURLE_OK)
        c = curl_easy_setopt(dest->easy, CURLOPT_POSTFIELDS, item->body);
    if (c == CURLE_OK)
        c = curl_easy_setopt(dest->easy, CURLOPT_HTTPHEADER, dest->req_hdrs);
    if (c == CURLE_OK)
        c = curl_easy_setopt(dest->easy, CURLOPT_WRITEFUNCTION, on_body);
    if (c == CURLE_OK)
        c = curl_easy_setopt(dest->easy, CURLOPT_WRITEDATA, (void *)dest);
    if (c != CURLE_OK) {
        rc = c == CURLE_OUT_OF_MEMORY ? -ENOMEM : MW_ENOTSUP;
        goto back;
    }
    rc = multi_status(curl_multi_add_handle(d->multi, dest->easy));
    if (rc < 0)
        goto back;
    dest->current = item;
    return 1;
back:
    /* Not an attempt: the item waits at its place for the next perform. */
    curl_slist_free_all(dest->req_hdrs);
    dest->req_hdrs = NULL;
    mw_dq_retry(&dest->queue, item);
    return rc;
}

void mw_delivery_abort(mw_dest *dest)
{
    if (!dest->current)
        return;
    curl_multi_remove_handle(dest->engine->multi, dest->easy);
    curl_slist_free_all(dest->req_hdrs);
    dest->req_hdrs = NULL;
    /* The item stays in the queue, which the caller clears. */
    dest->current = NULL;
}

/* ---- finishing a request -------------------------------------------------------- */

/* A fixed buffer that mw_text_printable writes into: what does not fit is
 * left out, never half a UTF-8 sequence or half an escape. */
struct text_buf {
    char *p;
    size_t len, used; /* used < len: room for the NUL */
    int full;         /* something was left out: so is the rest */
};

static void text_buf_sink(void *ud, const char *p, size_t n)
{
    struct text_buf *b = ud;
    size_t room = b->len - 1 - b->used;

    if (b->full)
        return;
    if (n > room) {
        b->full = 1;
        if (p[0] == '\\')
            room = 0; /* an escape goes in whole or not at all */
        while (room > 0 && ((unsigned char)p[room] & 0xC0) == 0x80)
            room--; /* end on a character boundary */
        n = room;
    }
    memcpy(b->p + b->used, p, n);
    b->used += n;
    b->p[b->used] = '\0';
}

/*
 * What went wrong, for last_error and reports: libcurl's words, or the HTTP
 * status with the start of the response, its runs of white space made one
 * space. Both reach a terminal, and the response is the server's choice of
 * bytes: they go through mw_text_printable, the one terminal escaper.
 */
static void describe_failure(const mw_dest *dest, CURLcode result, long status, char *buf,
                             size_t len)
{
    char text[MW_DELIVERY_RESPONSE_MAX + 1];
    struct text_buf out = {buf, len, 0, 0};
    size_t n = 0;

    buf[0] = '\0';
    if (result != CURLE_OK) {
        const char *why = dest->errbuf[0] ? dest->errbuf : curl_easy_strerror(result);
        mw_text_printable(why, strlen(why), 0, text_buf_sink, &out);
        return;
    }
    snprintf(buf, len, "HTTP %ld", status);
    out.used = strlen(buf);
    for (size_t i = 0; i < dest->response_len; i++) {
        char ch = dest->response[i];
        int blank = ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
        if (blank && (n == 0 || text[n - 1] == ' '))
            continue;
        if (blank)
            ch = ' ';
        text[n++] = ch;
    }
    while (n && text[n - 1] == ' ')
        n--;
    if (n) {
        text_buf_sink(&out, ": ", 2);
        mw_text_printable(text, n, 0, text_buf_sink, &out);
    }
}

static double unix_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void succeeded(mw_dest *dest, mw_dq_item *item, double now)
{
    mw_dq_finish(&dest->queue, item);
    mw_dq_item_free(item);
    dest->stats.sent++;
    dest->stats.last_success = now;
    dest->stats.last_success_unix = unix_now();
    dest->next_try = 0;
    if (dest->failing) {
        if (dest->streak_lost == 0)
            mw_delivery_tell(dest, MW_DELIVERY_NOTICE, "delivering again (nothing lost)");
        else
            mw_delivery_tell(dest, MW_DELIVERY_NOTICE,
                             "delivering again (%llu %s lost while failing)",
                             (unsigned long long)dest->streak_lost,
                             dest->streak_lost == 1 ? "delivery" : "deliveries");
        dest->failing = 0;
        dest->gave_up_told = 0;
        dest->streak_lost = 0;
    }
}

static void failed(mw_dest *dest, mw_dq_item *item, int outcome, long retry_after, const char *why,
                   double now)
{
    int first = !dest->failing;

    dest->failing = 1;
    if (outcome == MW_OUTCOME_RETRY && item->attempts <= dest->retries) {
        double wait = mw_delivery_backoff(dest->backoff, dest->backoff_max, item->attempts);
        /* A server that says when to come back (429, 503) is believed, up
         * to our cap. */
        if ((double)retry_after > wait)
            wait = fmin((double)retry_after, dest->backoff_max);
        dest->next_try = now + wait;
        dest->stats.retried++;
        if (first)
            mw_delivery_tell(dest, MW_DELIVERY_WARNING,
                             "failed (%s); retrying in %.3gs (attempt %d of %d)", why, wait,
                             item->attempts + 1, dest->retries + 1);
        switch (mw_dq_retry(&dest->queue, item)) {
        case MW_DQ_SUPERSEDED:
            mw_dq_item_free(item);
            dest->stats.replaced++;
            break;
        case MW_DQ_DROPPED:
            mw_delivery_dropped(dest, item);
            break;
        default:
            break;
        }
        return;
    }
    mw_dq_finish(&dest->queue, item);
    dest->stats.failed++;
    dest->streak_lost++;
    /* The next item is a different request: it gets its own chance now. */
    dest->next_try = 0;
    if (!dest->gave_up_told) {
        dest->gave_up_told = 1;
        if (outcome == MW_OUTCOME_FAIL && item->attempts == 1)
            mw_delivery_tell(dest, MW_DELIVERY_ERROR,
                             "refused (%s), not retried; further losses are counted, "
                             "not reported, until a delivery succeeds",
                             why);
        else
            mw_delivery_tell(dest, MW_DELIVERY_ERROR,
                             "gave up after %d attempts (%s); further losses are "
                             "counted, not reported, until a delivery succeeds",
                             item->attempts, why);
    }
    mw_dq_item_free(item);
}

static void complete(mw_dest *dest, CURLcode result, double now)
{
    mw_delivery *d = dest->engine;
    mw_dq_item *item = dest->current;
    long status = 0, retry_after = 0;
    int outcome;

    curl_easy_getinfo(dest->easy, CURLINFO_RESPONSE_CODE, &status);
#if LIBCURL_VERSION_NUM >= 0x074200
    {
        curl_off_t ra = 0;
        if (curl_easy_getinfo(dest->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
            retry_after = ra > 3600 ? 3600 : (long)ra;
    }
#endif
    curl_multi_remove_handle(d->multi, dest->easy);
    curl_slist_free_all(dest->req_hdrs);
    dest->req_hdrs = NULL;
    dest->current = NULL;
    if (!item)
        return;
    item->attempts++;
    outcome = mw_delivery_classify((int)result, status);
    if (outcome == MW_OUTCOME_SENT) {
        succeeded(dest, item, now);
    } else {
        /* As long as last_error, so the cut (if any) is describe_failure's,
         * on a whole character or escape. */
        char why[sizeof dest->stats.last_error];
        describe_failure(dest, result, status, why, sizeof why);
        mw_redact_text(dest->url, why, dest->stats.last_error, sizeof dest->stats.last_error);
        failed(dest, item, outcome, retry_after, dest->stats.last_error, now);
    }
}

/* ---- the loop's side ------------------------------------------------------------ */

/* Hand ready descriptors and a due timer to libcurl. */
static int drive(mw_delivery *d, double now)
{
    struct pollfd local[16];
    struct pollfd *fds = local;
    size_t n = d->nsocks, i;
    int running, rc = 0;

    /* A snapshot: libcurl's callbacks change the table while we go through. */
    if (n > sizeof local / sizeof local[0]) {
        fds = mw_malloc(n * sizeof *fds);
        if (!fds)
            return -ENOMEM;
    }
    for (i = 0; i < n; i++) {
        fds[i].fd = d->socks[i].fd;
        fds[i].events = d->socks[i].events;
        fds[i].revents = 0;
    }
    if (n && poll(fds, (nfds_t)n, 0) > 0) {
        for (i = 0; i < n; i++) {
            int ev = 0;
            if (fds[i].revents & (POLLIN | POLLHUP))
                ev |= CURL_CSELECT_IN;
            if (fds[i].revents & POLLOUT)
                ev |= CURL_CSELECT_OUT;
            if (fds[i].revents & (POLLERR | POLLNVAL))
                ev |= CURL_CSELECT_ERR;
            if (ev) {
                int r = multi_status(curl_multi_socket_action(d->multi, fds[i].fd, ev, &running));
                if (r < 0)
                    rc = r;
            }
        }
    }
    if (fds != local)
        mw_free(fds);
    if (d->timer_at >= 0 && d->timer_at <= now) {
        int r;
        d->timer_at = -1;
        r = multi_status(curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running));
        if (r < 0)
            rc = r;
    }
    return rc;
}

/* Finish every transfer libcurl reports done; how many there were. */
static int finish_done(mw_delivery *d, double now)
{
    CURLMsg *m;
    int left, done = 0;

    while ((m = curl_multi_info_read(d->multi, &left))) {
        CURL *easy;
        CURLcode result;
        char *priv = NULL;
        if (m->msg != CURLMSG_DONE)
            continue;
        /* m does not survive removing the handle: take what we need. */
        easy = m->easy_handle;
        result = m->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        if (priv) {
            complete((mw_dest *)(void *)priv, result, now);
            done++;
        }
    }
    return done;
}

int mw_delivery_perform(mw_delivery *d, double now)
{
    int round, rc = 0;

    if (!d)
        return MW_EINVAL;
    d->now = now;
    /* A few rounds let a finished request's successor start at once, and a
     * new request get past its zero timer, without ever looping unbounded. */
    for (round = 0; round < 4; round++) {
        int started = 0, done, r;
        mw_dest *dest;
        for (dest = d->dests; dest; dest = dest->next) {
            r = start_one(dest, now);
            if (r < 0)
                rc = r;
            else
                started += r;
        }
        r = drive(d, now);
        if (r < 0)
            rc = r;
        done = finish_done(d, now);
        if (!started && !done)
            break;
    }
    return rc;
}

int mw_delivery_pollfds(const mw_delivery *d, struct pollfd *fds, size_t cap, size_t *n)
{
    size_t i;

    if (!d || !n || (cap && !fds))
        return MW_EINVAL;
    *n = d->nsocks;
    for (i = 0; i < d->nsocks && i < cap; i++) {
        fds[i].fd = d->socks[i].fd;
        fds[i].events = d->socks[i].events;
        fds[i].revents = 0;
    }
    return d->nsocks > cap ? -ENOBUFS : 0;
}

int mw_delivery_timeout(const mw_delivery *d, double now, double *seconds)
{
    const mw_dest *dest;
    double best = -1;

    if (!d || !seconds)
        return MW_EINVAL;
    if (d->timer_at >= 0)
        best = d->timer_at > now ? d->timer_at - now : 0;
    for (dest = d->dests; dest; dest = dest->next) {
        double t;
        if (dest->current || dest->queue.waiting == 0)
            continue;
        t = dest->next_try > now ? dest->next_try - now : 0;
        if (best < 0 || t < best)
            best = t;
    }
    *seconds = best;
    return 0;
}

static int pending(const mw_delivery *d)
{
    const mw_dest *dest;
    for (dest = d->dests; dest; dest = dest->next)
        if (dest->current || dest->queue.waiting)
            return 1;
    return 0;
}

int mw_delivery_flush(mw_delivery *d, double deadline)
{
    struct pollfd *fds = NULL;
    size_t cap = 0;
    int rc = 0;

    if (!d)
        return MW_EINVAL;
    for (;;) {
        double now = mw_now(), wait, t;
        size_t n;
        int r;

        /* A failed step is counted in the destination's state; what flush
         * answers is whether everything went out by the deadline. */
        (void)mw_delivery_perform(d, now);
        if (!pending(d)) {
            rc = 0;
            break;
        }
        if (now >= deadline) {
            rc = -ETIMEDOUT;
            break;
        }
        while (mw_delivery_pollfds(d, fds, cap, &n) == -ENOBUFS) {
            struct pollfd *more = mw_realloc(fds, n * sizeof *fds);
            if (!more) {
                n = 0;
                break;
            }
            fds = more;
            cap = n;
        }
        wait = deadline - now;
        if (mw_delivery_timeout(d, now, &t) == 0 && t >= 0 && t < wait)
            wait = t;
        /* Round up to whole milliseconds so a due timer is due on return. */
        r = poll(fds, (nfds_t)n, (int)ceil(wait * 1000.0));
        (void)r; /* EINTR or not, the loop looks again */
    }
    mw_free(fds);
    return rc;
}
