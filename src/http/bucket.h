/*
 * Token buckets for serve's limits: rate_limit (one bucket for every request)
 * and failed logins (one bucket per client address). Pure: the caller passes
 * the time.
 */
#ifndef MEMWATCH_HTTP_BUCKET_H
#define MEMWATCH_HTTP_BUCKET_H

#include <stddef.h>

struct mw_bucket {
    double tokens;
    double last; /* when tokens was last brought up to date; 0: never */
};

/* Takes one token if there is one: 1, else 0. rate in tokens per second. */
int mw_bucket_take(struct mw_bucket *b, double now, double rate, double burst);

/* Whether a token is there, without taking it. */
int mw_bucket_has(struct mw_bucket *b, double now, double rate, double burst);

#define MW_ADDR_BUCKETS 256

/* Buckets by client address, a bounded table: a new address takes the slot
 * idle the longest. */
struct mw_addr_buckets {
    struct {
        char addr[48];
        struct mw_bucket bucket;
    } slot[MW_ADDR_BUCKETS];
};

struct mw_bucket *mw_addr_bucket(struct mw_addr_buckets *t, const char *addr, double now,
                                 double burst);

#endif
