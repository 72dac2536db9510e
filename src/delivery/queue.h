/*
 * The bounded, coalescing queue of one destination: internal to the delivery
 * library, pure (no network, no clock) so its order rules are unit-tested.
 *
 * Items stay in one list in arrival order; the one being sent keeps its place
 * (in_flight set), so a retry goes back to where it was, ahead of newer ones.
 * Capacity counts waiting items only.
 */
#ifndef MW_DELIVERY_QUEUE_H
#define MW_DELIVERY_QUEUE_H

#include <stddef.h>

typedef struct mw_dq_item {
    struct mw_dq_item *prev, *next;
    char *key;  /* NULL: never coalesced with another item */
    char *body; /* len bytes (NUL-terminated for convenience) */
    size_t len;
    char *content_type; /* NULL: none */
    char **headers;     /* this delivery's own "Name: value" lines, NULL-terminated; may be NULL */
    int attempts;       /* attempts made so far */
    int in_flight;
} mw_dq_item;

typedef struct mw_dq {
    mw_dq_item *head, *tail;
    size_t waiting;  /* items not in flight */
    size_t capacity; /* the most that may wait, >= 1 */
} mw_dq;

/* An empty queue of that capacity (0 is taken as 1). */
void mw_dq_init(mw_dq *q, size_t capacity);
/* Free every item, in flight or not. */
void mw_dq_clear(mw_dq *q);

/*
 * A new item owning copies of its arguments (key and content_type may be
 * NULL; an empty key counts as NULL). NULL when out of memory.
 */
mw_dq_item *mw_dq_item_new(const char *key, const void *body, size_t len, const char *content_type);
void mw_dq_item_free(mw_dq_item *item);

enum mw_dq_push_result {
    MW_DQ_APPENDED, /* added at the tail */
    MW_DQ_REPLACED  /* took the place of a waiting item of its key (*old) */
};

/*
 * Queue item (the queue takes it). A waiting item with the same key is
 * replaced in place and handed back in *old; otherwise the item goes to the
 * tail, and if the queue was full the oldest waiting item is removed first
 * and handed back in *dropped. The caller frees what comes back. Returns an
 * enum mw_dq_push_result.
 */
int mw_dq_push(mw_dq *q, mw_dq_item *item, mw_dq_item **old, mw_dq_item **dropped);

/*
 * The first waiting item whose key has no item in flight, now marked in
 * flight; NULL when there is none.
 */
mw_dq_item *mw_dq_start(mw_dq *q);

/* Remove an in-flight item once it is done with (the caller frees it). */
void mw_dq_finish(mw_dq *q, mw_dq_item *item);

enum mw_dq_retry_result {
    MW_DQ_REQUEUED,   /* waiting again, at its old place */
    MW_DQ_SUPERSEDED, /* removed: a newer state of its key is waiting */
    MW_DQ_DROPPED     /* removed: the queue filled while it was in flight */
};

/* Put an in-flight item back to wait for a retry. Returns an enum
 * mw_dq_retry_result; when it was removed, the caller frees it. */
int mw_dq_retry(mw_dq *q, mw_dq_item *item);

#endif
