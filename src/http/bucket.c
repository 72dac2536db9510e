/* Token buckets (bucket.h). */
#include "http/bucket.h"

#include <string.h>

static void refill(struct mw_bucket *b, double now, double rate, double burst)
{
    if (b->last == 0 || now < b->last) {
        b->tokens = burst;
    } else {
        b->tokens += (now - b->last) * rate;
        if (b->tokens > burst)
            b->tokens = burst;
    }
    b->last = now;
}

int mw_bucket_has(struct mw_bucket *b, double now, double rate, double burst)
{
    refill(b, now, rate, burst);
    return b->tokens >= 1.0;
}

int mw_bucket_take(struct mw_bucket *b, double now, double rate, double burst)
{
    if (!mw_bucket_has(b, now, rate, burst))
        return 0;
    b->tokens -= 1.0;
    return 1;
}

struct mw_bucket *mw_addr_bucket(struct mw_addr_buckets *t, const char *addr, double now,
                                 double burst)
{
    size_t oldest = 0;
    for (size_t i = 0; i < MW_ADDR_BUCKETS; i++) {
        if (t->slot[i].bucket.last != 0 && strcmp(t->slot[i].addr, addr) == 0)
            return &t->slot[i].bucket;
        if (t->slot[i].bucket.last < t->slot[oldest].bucket.last)
            oldest = i;
    }
    strncpy(t->slot[oldest].addr, addr, sizeof t->slot[oldest].addr - 1);
    t->slot[oldest].addr[sizeof t->slot[oldest].addr - 1] = '\0';
    t->slot[oldest].bucket.tokens = burst;
    t->slot[oldest].bucket.last = now;
    return &t->slot[oldest].bucket;
}
