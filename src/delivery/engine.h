/*
 * The engine's insides, shared by engine.c (destinations, posting, counters,
 * reports) and transfer.c (libcurl's multi interface). Internal.
 */
#ifndef MW_DELIVERY_ENGINE_H
#define MW_DELIVERY_ENGINE_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/delivery.h"
#include "delivery/queue.h"

/* What a failing response body may add to the error text. */
#define MW_DELIVERY_RESPONSE_MAX 160

struct mw_dest {
    mw_delivery *engine;
    mw_dest *next;
    char *url;          /* as given: only libcurl sees it */
    char *url_redacted; /* what every message shows */
    char *name;
    char **headers; /* "Name: value", NULL-terminated */
    double timeout, backoff, backoff_max;
    int retries;

    mw_dq queue;
    CURL *easy;                  /* one handle, reused: a destination sends one at a time */
    mw_dq_item *current;         /* in flight, or NULL */
    struct curl_slist *req_hdrs; /* the current request's header list */
    char errbuf[CURL_ERROR_SIZE];
    char response[MW_DELIVERY_RESPONSE_MAX + 1];
    size_t response_len;
    double next_try; /* backing off until then (perform clock) */

    mw_dest_stats stats;
    /* Report state: each situation is told once, until it ends. */
    int failing;          /* a streak of failed attempts is under way */
    int gave_up_told;     /* this streak's first loss was reported */
    int overflow_told;    /* this overflow was reported (until the queue drains) */
    uint64_t streak_lost; /* deliveries failed or dropped during the streak */
};

/* A descriptor libcurl asked us to watch. */
typedef struct mw_dsock {
    curl_socket_t fd;
    short events; /* POLLIN / POLLOUT */
} mw_dsock;

struct mw_delivery {
    CURLM *multi;
    mw_delivery_report_fn report;
    void *report_ud;
    char user_agent[96];
    mw_dest *dests, *dests_tail;

    mw_dsock *socks;
    size_t nsocks, socks_cap;
    struct pollfd *scratch; /* socks_cap entries, for perform's zero-timeout poll */
    double timer_at;        /* libcurl's next timeout (perform clock); < 0: none */
    double now;             /* the clock of the perform under way */
};

/* Tell the caller (printf-style; the text is scrubbed of dest's secrets). */
void mw_delivery_tell(mw_dest *dest, int severity, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Count an item dropped for room and report the overflow once. Frees it. */
void mw_delivery_dropped(mw_dest *dest, mw_dq_item *item);

/* transfer.c: libcurl's callbacks on the multi handle. */
int mw_delivery_multi_setup(mw_delivery *d);
/* transfer.c: abort the destination's transfer (for close). */
void mw_delivery_abort(mw_dest *dest);

#endif
