/* The bounded, coalescing queue of one destination: see queue.h. */
#include "delivery/queue.h"

#include <string.h>

#include "memwatch/alloc.h"

void mw_dq_init(mw_dq *q, size_t capacity)
{
    memset(q, 0, sizeof *q);
    q->capacity = capacity ? capacity : 1;
}

void mw_dq_clear(mw_dq *q)
{
    mw_dq_item *it = q->head;
    while (it) {
        mw_dq_item *next = it->next;
        mw_dq_item_free(it);
        it = next;
    }
    q->head = q->tail = NULL;
    q->waiting = 0;
}

mw_dq_item *mw_dq_item_new(const char *key, const void *body, size_t len, const char *content_type)
{
    mw_dq_item *it = mw_calloc(1, sizeof *it);
    if (!it)
        return NULL;
    /* One byte more than the body so it can be shown as text in tests and
     * reports without a copy. */
    it->body = mw_malloc(len + 1);
    if (!it->body)
        goto fail;
    if (len)
        memcpy(it->body, body, len);
    it->body[len] = '\0';
    it->len = len;
    if (key && *key && !(it->key = mw_strdup(key)))
        goto fail;
    if (content_type && !(it->content_type = mw_strdup(content_type)))
        goto fail;
    return it;
fail:
    mw_dq_item_free(it);
    return NULL;
}

void mw_dq_item_free(mw_dq_item *item)
{
    if (!item)
        return;
    mw_free(item->key);
    mw_free(item->body);
    mw_free(item->content_type);
    for (size_t i = 0; item->headers && item->headers[i]; i++)
        mw_free(item->headers[i]);
    mw_free(item->headers);
    mw_free(item);
}

static int same_key(const mw_dq_item *a, const mw_dq_item *b)
{
    return a->key && b->key && strcmp(a->key, b->key) == 0;
}

static void unlink_item(mw_dq *q, mw_dq_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        q->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        q->tail = it->prev;
    it->prev = it->next = NULL;
}

static mw_dq_item *oldest_waiting(const mw_dq *q)
{
    mw_dq_item *it;
    for (it = q->head; it; it = it->next)
        if (!it->in_flight)
            return it;
    return NULL;
}

int mw_dq_push(mw_dq *q, mw_dq_item *item, mw_dq_item **old, mw_dq_item **dropped)
{
    mw_dq_item *it;

    *old = *dropped = NULL;
    item->in_flight = 0;
    item->prev = item->next = NULL;
    if (item->key) {
        for (it = q->head; it; it = it->next) {
            if (it->in_flight || !same_key(it, item))
                continue;
            /* Take its place: the alert keeps its turn, only its state is
             * newer. */
            item->prev = it->prev;
            item->next = it->next;
            if (it->prev)
                it->prev->next = item;
            else
                q->head = item;
            if (it->next)
                it->next->prev = item;
            else
                q->tail = item;
            it->prev = it->next = NULL;
            *old = it;
            return MW_DQ_REPLACED;
        }
    }
    if (q->waiting >= q->capacity) {
        /* Drop the oldest: of the states a full queue holds, the oldest is
         * the most likely to be out of date by the time it could be sent. */
        it = oldest_waiting(q);
        if (it) {
            unlink_item(q, it);
            q->waiting--;
            *dropped = it;
        }
    }
    item->prev = q->tail;
    if (q->tail)
        q->tail->next = item;
    else
        q->head = item;
    q->tail = item;
    q->waiting++;
    return MW_DQ_APPENDED;
}

static int key_in_flight(const mw_dq *q, const mw_dq_item *item)
{
    const mw_dq_item *it;
    for (it = q->head; it; it = it->next)
        if (it->in_flight && same_key(it, item))
            return 1;
    return 0;
}

mw_dq_item *mw_dq_start(mw_dq *q)
{
    mw_dq_item *it;
    for (it = q->head; it; it = it->next) {
        /* Two states of one alert never race: the older must land first. */
        if (it->in_flight || key_in_flight(q, it))
            continue;
        it->in_flight = 1;
        q->waiting--;
        return it;
    }
    return NULL;
}

void mw_dq_finish(mw_dq *q, mw_dq_item *item)
{
    unlink_item(q, item);
    item->in_flight = 0;
}

int mw_dq_retry(mw_dq *q, mw_dq_item *item)
{
    mw_dq_item *it;

    for (it = q->head; it; it = it->next) {
        if (it != item && !it->in_flight && same_key(it, item)) {
            /* A newer state arrived while this one was in flight: send that
             * one instead of repeating the outdated one. */
            mw_dq_finish(q, item);
            return MW_DQ_SUPERSEDED;
        }
    }
    if (q->waiting >= q->capacity) {
        /* It is the oldest, and a full queue drops the oldest. */
        mw_dq_finish(q, item);
        return MW_DQ_DROPPED;
    }
    item->in_flight = 0;
    q->waiting++;
    return MW_DQ_REQUEUED;
}
