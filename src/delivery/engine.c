/*
 * The delivery engine: destinations, posting into their queues, counters and
 * reports. Driving libcurl is transfer.c's job.
 */
#include "delivery/delivery.h"
#include "delivery/engine.h"
#include "delivery/redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"
#include "memwatch/version.h"

void mw_dest_cfg_init(mw_dest_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout = MW_DELIVERY_TIMEOUT;
    cfg->retries = MW_DELIVERY_RETRIES;
    cfg->queue = MW_DELIVERY_QUEUE;
    cfg->backoff = MW_DELIVERY_BACKOFF;
    cfg->backoff_max = MW_DELIVERY_BACKOFF_MAX;
}

int mw_delivery_open(const mw_delivery_cfg *cfg, mw_delivery **out)
{
    mw_delivery *d;
    const curl_version_info_data *v;
    int rc;

    *out = NULL;
    /* libcurl counts its initialisations, so every engine may take one. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return MW_ENOTSUP;
    d = mw_calloc(1, sizeof *d);
    if (!d) {
        curl_global_cleanup();
        return -ENOMEM;
    }
    if (cfg) {
        d->report = cfg->report;
        d->report_ud = cfg->report_ud;
    }
    d->timer_at = -1;
    v = curl_version_info(CURLVERSION_NOW);
    snprintf(d->user_agent, sizeof d->user_agent, "memwatch/%s libcurl/%s", MW_VERSION,
             v && v->version ? v->version : "?");
    d->multi = curl_multi_init();
    if (!d->multi) {
        mw_delivery_close(d);
        return -ENOMEM;
    }
    rc = mw_delivery_multi_setup(d);
    if (rc < 0) {
        mw_delivery_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

static void free_headers(char **headers)
{
    size_t i;
    if (!headers)
        return;
    for (i = 0; headers[i]; i++)
        mw_free(headers[i]);
    mw_free(headers);
}

static void dest_free(mw_dest *dest)
{
    if (!dest)
        return;
    mw_delivery_abort(dest);
    if (dest->easy)
        curl_easy_cleanup(dest->easy);
    mw_dq_clear(&dest->queue);
    mw_free(dest->url);
    mw_free(dest->url_redacted);
    mw_free(dest->name);
    free_headers(dest->headers);
    mw_free(dest);
}

void mw_delivery_close(mw_delivery *d)
{
    mw_dest *dest;
    if (!d)
        return;
    dest = d->dests;
    while (dest) {
        mw_dest *next = dest->next;
        dest_free(dest);
        dest = next;
    }
    if (d->multi)
        curl_multi_cleanup(d->multi);
    mw_free(d->socks);
    mw_free(d->scratch);
    mw_free(d);
    curl_global_cleanup();
}

/* http:// or https://, then something, and nothing a header could split on. */
static int valid_url(const char *url)
{
    const char *p;
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return 0;
    if (url[strcspn(url, ":") + 3] == '\0')
        return 0;
    for (p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    return 1;
}

/* An HTTP token (RFC 9110 tchar): what a method or a header name may hold. */
static int valid_token(const char *s, size_t n)
{
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && !strchr("!#$%&'*+-.^_`|~", c))
            return 0;
    }
    return 1;
}

/* "Name: value" with a token for a name and no line break anywhere, so a
 * configured header can never smuggle another one in. */
static int valid_header(const char *h)
{
    const char *colon = strchr(h, ':');
    return colon && valid_token(h, (size_t)(colon - h)) && !strpbrk(h, "\r\n");
}

static int check_cfg(const mw_dest_cfg *cfg)
{
    size_t i;
    if (!cfg || !cfg->url || !valid_url(cfg->url))
        return MW_EINVAL;
    if (cfg->method && !valid_token(cfg->method, strlen(cfg->method)))
        return MW_EINVAL;
    if (!(cfg->timeout > 0) || cfg->retries < 0 || cfg->queue < 1 || !(cfg->backoff > 0) ||
        !(cfg->backoff_max >= cfg->backoff))
        return MW_EINVAL;
    for (i = 0; cfg->headers && cfg->headers[i]; i++)
        if (!valid_header(cfg->headers[i]))
            return MW_EINVAL;
    return 0;
}

static int copy_headers(mw_dest *dest, const char *const *headers)
{
    size_t n = 0, i;
    while (headers && headers[n])
        n++;
    dest->headers = mw_calloc(n + 1, sizeof *dest->headers);
    if (!dest->headers)
        return -ENOMEM;
    for (i = 0; i < n; i++)
        if (!(dest->headers[i] = mw_strdup(headers[i])))
            return -ENOMEM;
    return 0;
}

/* A libcurl option result as our status. */
static int curl_status(CURLcode c)
{
    if (c == CURLE_OK)
        return 0;
    return c == CURLE_OUT_OF_MEMORY ? -ENOMEM : MW_ENOTSUP;
}

/* The options that stay the same for every request of a destination. */
static int setup_easy(mw_dest *dest, const mw_dest_cfg *cfg)
{
    CURL *e = dest->easy;
    long ms = (long)(cfg->timeout * 1000.0);
    CURLcode c = CURLE_OK;

    if (ms < 1)
        ms = 1;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(e, opt, val);                                                     \
    } while (0)
    SET(CURLOPT_URL, dest->url);
    SET(CURLOPT_USERAGENT, dest->engine->user_agent);
    /* No SIGALRM for timeouts: we live in a program with its own signal
     * handling, and DNS runs on libcurl's resolver thread. */
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, ms);
    SET(CURLOPT_SSL_VERIFYPEER, cfg->insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, cfg->insecure ? 0L : 2L);
    /* A redirect is reported, not followed: a webhook that moves should be
     * reconfigured, not silently chased across hosts with our body. */
    SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SET(CURLOPT_ERRORBUFFER, dest->errbuf);
    SET(CURLOPT_PRIVATE, (void *)dest);
    if (cfg->method && strcmp(cfg->method, "POST") != 0)
        SET(CURLOPT_CUSTOMREQUEST, cfg->method);
#undef SET
    return curl_status(c);
}

int mw_delivery_add(mw_delivery *d, const mw_dest_cfg *cfg, mw_dest **out)
{
    mw_dest *dest;
    size_t rlen;
    int rc;

    *out = NULL;
    rc = check_cfg(cfg);
    if (rc < 0)
        return rc;
    dest = mw_calloc(1, sizeof *dest);
    if (!dest)
        return -ENOMEM;
    dest->engine = d;
    dest->timeout = cfg->timeout;
    dest->retries = cfg->retries;
    dest->backoff = cfg->backoff;
    dest->backoff_max = cfg->backoff_max;
    mw_dq_init(&dest->queue, (size_t)cfg->queue);
    rlen = strlen(cfg->url) + 1;
    rc = -ENOMEM;
    dest->url = mw_strdup(cfg->url);
    dest->name = mw_strdup(cfg->name ? cfg->name : "delivery");
    /* A secret of one or two characters grows to "***": three bytes per
     * byte is room for the worst case. */
    dest->url_redacted = mw_malloc(rlen * 3);
    if (!dest->url || !dest->name || !dest->url_redacted)
        goto fail;
    mw_delivery_redact_url(cfg->url, dest->url_redacted, rlen * 3);
    rc = copy_headers(dest, cfg->headers);
    if (rc < 0)
        goto fail;
    dest->easy = curl_easy_init();
    if (!dest->easy) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = setup_easy(dest, cfg);
    if (rc < 0)
        goto fail;
    if (d->dests_tail)
        d->dests_tail->next = dest;
    else
        d->dests = dest;
    d->dests_tail = dest;
    *out = dest;
    return 0;
fail:
    dest_free(dest);
    return rc;
}

void mw_delivery_tell(mw_dest *dest, int severity, const char *fmt, ...)
{
    mw_delivery *d = dest->engine;
    char raw[768], clean[768];
    int n;
    va_list ap;

    if (!d->report)
        return;
    n = snprintf(raw, sizeof raw, "%s %s: ", dest->name, dest->url_redacted);
    if (n < 0 || (size_t)n >= sizeof raw)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(raw + n, sizeof raw - (size_t)n, fmt, ap);
    va_end(ap);
    /* The texts we quote (libcurl's, the server's) may hold parts of the
     * URL: scrub the secrets out whatever their source. */
    mw_redact_text(dest->url, raw, clean, sizeof clean);
    d->report(d->report_ud, dest, severity, clean);
}

void mw_delivery_dropped(mw_dest *dest, mw_dq_item *item)
{
    mw_dq_item_free(item);
    dest->stats.dropped++;
    if (dest->failing)
        dest->streak_lost++;
    if (!dest->overflow_told) {
        dest->overflow_told = 1;
        mw_delivery_tell(dest, MW_DELIVERY_ERROR,
                         "queue full (%zu waiting): dropped the oldest delivery; further drops "
                         "are counted, not reported, until the queue drains",
                         dest->queue.capacity);
    }
}

int mw_delivery_post(mw_delivery *d, mw_dest *dest, const char *key, const void *body, size_t len,
                     const char *content_type)
{
    return mw_delivery_post_headers(d, dest, key, body, len, content_type, NULL);
}

int mw_delivery_post_headers(mw_delivery *d, mw_dest *dest, const char *key, const void *body,
                             size_t len, const char *content_type, const char *const *headers)
{
    mw_dq_item *item, *old, *dropped;
    size_t n = 0;

    if (!d || !dest || dest->engine != d || (!body && len))
        return MW_EINVAL;
    /* The type becomes a header line: no line break may split it. */
    if (content_type && strpbrk(content_type, "\r\n"))
        return MW_EINVAL;
    for (n = 0; headers && headers[n]; n++)
        if (!valid_header(headers[n]))
            return MW_EINVAL;
    item = mw_dq_item_new(key, body, len, content_type);
    if (!item)
        return -ENOMEM;
    if (n) {
        item->headers = mw_calloc(n + 1, sizeof *item->headers);
        for (size_t i = 0; item->headers && i < n; i++) {
            if (!(item->headers[i] = mw_strdup(headers[i]))) {
                mw_dq_item_free(item);
                return -ENOMEM;
            }
        }
        if (!item->headers) {
            mw_dq_item_free(item);
            return -ENOMEM;
        }
    }
    if (mw_dq_push(&dest->queue, item, &old, &dropped) == MW_DQ_REPLACED) {
        mw_dq_item_free(old);
        dest->stats.replaced++;
    }
    if (dropped)
        mw_delivery_dropped(dest, dropped);
    return 0;
}

int mw_delivery_stats(const mw_dest *dest, mw_dest_stats *out)
{
    if (!dest || !out)
        return MW_EINVAL;
    *out = dest->stats;
    out->queued = dest->queue.waiting;
    out->in_flight = dest->current ? 1 : 0;
    return 0;
}

const char *mw_dest_url(const mw_dest *dest)
{
    return dest->url_redacted;
}

const char *mw_dest_name(const mw_dest *dest)
{
    return dest->name;
}
