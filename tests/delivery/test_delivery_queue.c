/*
 * The delivery engine's pure parts: the coalescing queue's order rules, the
 * retry policy (which outcomes retry, the backoff schedule), URL redaction,
 * the engine's counting of overflow without the network, and allocation
 * failure at every allocation of opening, adding and posting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/delivery.h"
#include "delivery/queue.h"
#include "delivery/redact.h"
#include "delivery/retry.h"
#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"

/* ---- the queue ------------------------------------------------------------------ */

static mw_dq_item *item(const char *key, const char *body)
{
    mw_dq_item *it = mw_dq_item_new(key, body, strlen(body), "text/plain");
    assert_non_null(it);
    return it;
}

/* Push and free whatever comes back; returns the push result. */
static int push(mw_dq *q, const char *key, const char *body, int *dropped)
{
    mw_dq_item *old, *drop;
    int r = mw_dq_push(q, item(key, body), &old, &drop);
    if (dropped)
        *dropped += drop != NULL;
    mw_dq_item_free(old);
    mw_dq_item_free(drop);
    return r;
}

/* The bodies in queue order, joined by spaces; in-flight ones marked '*'. */
static const char *order(const mw_dq *q)
{
    static char buf[256];
    const mw_dq_item *it;
    buf[0] = '\0';
    for (it = q->head; it; it = it->next) {
        if (buf[0])
            strcat(buf, " ");
        if (it->in_flight)
            strcat(buf, "*");
        strcat(buf, it->body);
    }
    return buf;
}

static void test_queue_replaces_in_place(void **state)
{
    mw_dq q;
    (void)state;
    mw_dq_init(&q, 8);
    assert_int_equal(push(&q, "a", "a1", NULL), MW_DQ_APPENDED);
    assert_int_equal(push(&q, "b", "b1", NULL), MW_DQ_APPENDED);
    assert_int_equal(push(&q, "c", "c1", NULL), MW_DQ_APPENDED);
    /* a's resolve replaces its firing state and keeps a's turn. */
    assert_int_equal(push(&q, "a", "a2", NULL), MW_DQ_REPLACED);
    assert_string_equal(order(&q), "a2 b1 c1");
    assert_int_equal(push(&q, "c", "c2", NULL), MW_DQ_REPLACED);
    assert_string_equal(order(&q), "a2 b1 c2");
    assert_int_equal(q.waiting, 3);
    /* No key: never coalesced. */
    assert_int_equal(push(&q, NULL, "n1", NULL), MW_DQ_APPENDED);
    assert_int_equal(push(&q, "", "n2", NULL), MW_DQ_APPENDED);
    assert_string_equal(order(&q), "a2 b1 c2 n1 n2");
    mw_dq_clear(&q);
}

static void test_queue_in_flight_then_queued(void **state)
{
    mw_dq q;
    mw_dq_item *a, *next;
    (void)state;
    mw_dq_init(&q, 8);
    push(&q, "a", "a1", NULL);
    push(&q, "b", "b1", NULL);
    a = mw_dq_start(&q);
    assert_string_equal(a->body, "a1");
    /* a1 is on the wire: a2 cannot replace it, it waits behind. */
    assert_int_equal(push(&q, "a", "a2", NULL), MW_DQ_APPENDED);
    assert_string_equal(order(&q), "*a1 b1 a2");
    /* ... and a3 replaces a2, the queued one. */
    assert_int_equal(push(&q, "a", "a3", NULL), MW_DQ_REPLACED);
    assert_string_equal(order(&q), "*a1 b1 a3");
    assert_int_equal(q.waiting, 2);
    /* While a1 is in flight, a3 may not start: b1 goes first. */
    next = mw_dq_start(&q);
    assert_string_equal(next->body, "b1");
    assert_null(mw_dq_start(&q));
    mw_dq_finish(&q, next);
    mw_dq_item_free(next);
    /* a1 failed while a3 waited: a3 supersedes the retry. */
    assert_int_equal(mw_dq_retry(&q, a), MW_DQ_SUPERSEDED);
    mw_dq_item_free(a);
    assert_string_equal(order(&q), "a3");
    next = mw_dq_start(&q);
    assert_string_equal(next->body, "a3");
    /* Nothing newer: the retry goes back to its place, ahead of later ones. */
    push(&q, "z", "z1", NULL);
    assert_int_equal(mw_dq_retry(&q, next), MW_DQ_REQUEUED);
    assert_string_equal(order(&q), "a3 z1");
    assert_int_equal(q.waiting, 2);
    mw_dq_clear(&q);
}

static void test_queue_overflow_drops_oldest(void **state)
{
    mw_dq q;
    mw_dq_item *a;
    int dropped = 0;
    (void)state;
    mw_dq_init(&q, 3);
    push(&q, "a", "a1", &dropped);
    a = mw_dq_start(&q);
    push(&q, "b", "b1", &dropped);
    push(&q, "c", "c1", &dropped);
    push(&q, "d", "d1", &dropped);
    assert_int_equal(dropped, 0); /* the in-flight one does not count */
    push(&q, "e", "e1", &dropped);
    assert_int_equal(dropped, 1);
    assert_string_equal(order(&q), "*a1 c1 d1 e1");
    /* Replacing needs no room. */
    push(&q, "c", "c2", &dropped);
    assert_int_equal(dropped, 1);
    assert_string_equal(order(&q), "*a1 c2 d1 e1");
    /* A retry into a full queue is the oldest: it goes. */
    assert_int_equal(mw_dq_retry(&q, a), MW_DQ_DROPPED);
    mw_dq_item_free(a);
    assert_string_equal(order(&q), "c2 d1 e1");
    assert_int_equal(q.waiting, 3);
    mw_dq_clear(&q);
}

/* ---- the retry policy ----------------------------------------------------------- */

static void test_backoff_schedule(void **state)
{
    (void)state;
    assert_true(mw_delivery_backoff(1, 60, 1) == 1);
    assert_true(mw_delivery_backoff(1, 60, 2) == 2);
    assert_true(mw_delivery_backoff(1, 60, 3) == 4);
    assert_true(mw_delivery_backoff(1, 60, 6) == 32);
    assert_true(mw_delivery_backoff(1, 60, 7) == 60);
    assert_true(mw_delivery_backoff(1, 60, 1000) == 60);
    assert_true(mw_delivery_backoff(0.25, 1, 2) == 0.5);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(mw_delivery_classify(CURLE_OK, 200), MW_OUTCOME_SENT);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 202), MW_OUTCOME_SENT);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 500), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 503), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 429), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 408), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 400), MW_OUTCOME_FAIL);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 404), MW_OUTCOME_FAIL);
    assert_int_equal(mw_delivery_classify(CURLE_OK, 301), MW_OUTCOME_FAIL);
    assert_int_equal(mw_delivery_classify(CURLE_COULDNT_CONNECT, 0), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_OPERATION_TIMEDOUT, 0), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_GOT_NOTHING, 0), MW_OUTCOME_RETRY);
    assert_int_equal(mw_delivery_classify(CURLE_PEER_FAILED_VERIFICATION, 0), MW_OUTCOME_FAIL);
    assert_int_equal(mw_delivery_classify(CURLE_URL_MALFORMAT, 0), MW_OUTCOME_FAIL);
}

/* ---- redaction ------------------------------------------------------------------ */

static void redacts(const char *url, const char *want)
{
    char buf[512];
    assert_int_equal(mw_delivery_redact_url(url, buf, sizeof buf), 0);
    assert_string_equal(buf, want);
}

static void test_redact_url(void **state)
{
    char small[16];
    char text[256];
    (void)state;
    redacts("http://127.0.0.1:9093/api/v2/alerts", "http://127.0.0.1:9093/api/v2/alerts");
    redacts("https://user:pa55@am.example:9093/", "https://***@am.example:9093/");
    redacts("https://user:p@ss@host/x", "https://***@host/x");
    redacts("https://token@host", "https://***@host");
    redacts("http://h/x?token=abc&x=1&apikey=K&access_token=t0k#f",
            "http://h/x?token=***&x=1&apikey=***&access_token=***#f");
    redacts("http://h/?Password=hunter2;sig=s&signature=zz&api_key=k&X-Api-Key=v",
            "http://h/?Password=***;sig=***&signature=***&api_key=***&X-Api-Key=***");
    redacts("http://h/?secret=&q=token", "http://h/?secret=&q=token");
    redacts("https://hooks.slack.com/services/T0001/B0002/XXXXsecretXXXX",
            "https://hooks.slack.com/services/T0001/B0002/***");
    redacts("https://hooks.slack.com/services/T0001/B0002/XXXX?x=1",
            "https://hooks.slack.com/services/T0001/B0002/***?x=1");
    redacts("https://discord.com/api/webhooks/123/TOKEN/github",
            "https://discord.com/api/webhooks/123/***/github");
    redacts("http://h/cb#access_token=abc&state=1", "http://h/cb#access_token=***&state=1");
    redacts("https://u:p@h/services/T/B/S?key=v", "https://***@h/services/T/B/***?key=***");
    redacts("not a url?token=x", "not a url?token=***");
    redacts("", "");
    /* The redacted URL may be shorter than the original: it fits. */
    assert_int_equal(mw_delivery_redact_url("http://user:secretpw@h/x", small, sizeof small), 0);
    assert_string_equal(small, "http://***@h/x");
    /* Too small: a truncated prefix, still redacted, and -ENOSPC. */
    assert_int_equal(mw_delivery_redact_url("http://user:secretpassword@host/", small, 10),
                     -ENOSPC);
    assert_string_equal(small, "http://**");
    /* Secrets quoted elsewhere in a text are scrubbed too. */
    assert_int_equal(mw_redact_text("http://bob:hunter22@h/?token=abcd",
                                    "Failed for bob:hunter22 with abcd at h", text, sizeof text),
                     0);
    assert_string_equal(text, "Failed for *** with *** at h");
}

/* ---- the engine without the network --------------------------------------------- */

typedef struct reports {
    int count;
    int severity[8];
    char text[8][512];
} reports;

static void record_report(void *ud, const mw_dest *dest, int severity, const char *message)
{
    reports *r = ud;
    (void)dest;
    if (r->count < 8) {
        r->severity[r->count] = severity;
        snprintf(r->text[r->count], sizeof r->text[0], "%s", message);
    }
    r->count++;
}

static void test_engine_overflow(void **state)
{
    reports r = {0};
    mw_delivery_cfg cfg = {record_report, &r};
    mw_dest_cfg dc;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_stats st;
    double t;
    (void)state;
    assert_int_equal(mw_delivery_open(&cfg, &d), 0);
    mw_dest_cfg_init(&dc);
    dc.url = "http://alice:s3cr3tpw@127.0.0.1:9/hook";
    dc.name = "webhook";
    dc.queue = 2;
    assert_int_equal(mw_delivery_add(d, &dc, &dest), 0);
    assert_string_equal(mw_dest_url(dest), "http://***@127.0.0.1:9/hook");
    assert_string_equal(mw_dest_name(dest), "webhook");
    assert_int_equal(mw_delivery_timeout(d, 0, &t), 0);
    assert_true(t < 0); /* nothing to do */
    assert_int_equal(mw_delivery_post(d, dest, "k1", "one", 3, "text/plain"), 0);
    assert_int_equal(mw_delivery_timeout(d, 0, &t), 0);
    assert_true(t == 0); /* something can start now */
    assert_int_equal(mw_delivery_post(d, dest, "k2", "two", 3, NULL), 0);
    assert_int_equal(mw_delivery_post(d, dest, "k3", "three", 5, NULL), 0);
    assert_int_equal(mw_delivery_post(d, dest, "k4", "four", 4, NULL), 0);
    assert_int_equal(mw_delivery_post(d, dest, "k4", "four'", 5, NULL), 0);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.queued, 2);
    assert_int_equal(st.sent, 0);
    /* Reported once, redacted. */
    assert_int_equal(r.count, 1);
    assert_int_equal(r.severity[0], MW_DELIVERY_ERROR);
    assert_non_null(strstr(r.text[0], "webhook http://***@127.0.0.1:9/hook: queue full"));
    assert_null(strstr(r.text[0], "s3cr3tpw"));
    /* Bad input. */
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "text/plain\r\nX-Evil: 1"), MW_EINVAL);
    dc.url = "ftp://h/x";
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.url = "http://h/x y";
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.url = "http://";
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.url = "http://h/";
    dc.headers = (const char *const[]){"X-Ok: 1", "Bad header", NULL};
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.headers = (const char *const[]){"X-Ok: 1\r\nX-Evil: 2", NULL};
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.headers = NULL;
    dc.method = "PO ST";
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    dc.method = NULL;
    dc.timeout = 0;
    assert_int_equal(mw_delivery_add(d, &dc, &dest), MW_EINVAL);
    mw_delivery_close(d);
}

/* ---- allocation failure ----------------------------------------------------------- */

static long live_blocks;

static void *count_malloc(size_t n)
{
    void *p = malloc(n);
    live_blocks += p != NULL;
    return p;
}

static void *count_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    live_blocks += p != NULL;
    return p;
}

static void *count_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    if (p && !old)
        live_blocks++;
    return p;
}

static void count_free(void *p)
{
    live_blocks -= p != NULL;
    free(p);
}

static const mw_allocator counting = {count_malloc, count_calloc, count_realloc, count_free};

/* Open, add two destinations, post three items (one replacing), close:
 * every step works or says -ENOMEM. Returns whether all of it worked. */
static int workload(void)
{
    mw_delivery *d = NULL;
    mw_dest *a, *b;
    mw_dest_cfg dc;
    int ok = 1, rc;

    rc = mw_delivery_open(NULL, &d);
    if (rc < 0) {
        assert_int_equal(rc, -ENOMEM);
        assert_null(d);
        return 0;
    }
    mw_dest_cfg_init(&dc);
    dc.url = "http://u:p@127.0.0.1:9/a?token=t";
    dc.headers = (const char *const[]){"X-A: 1", "X-B: 2", NULL};
    rc = mw_delivery_add(d, &dc, &a);
    if (rc < 0) {
        assert_int_equal(rc, -ENOMEM);
        a = NULL;
        ok = 0;
    }
    dc.url = "http://127.0.0.1:9/b";
    dc.name = "b";
    rc = mw_delivery_add(d, &dc, &b);
    if (rc < 0) {
        assert_int_equal(rc, -ENOMEM);
        b = NULL;
        ok = 0;
    }
    if (a) {
        const char *keys[] = {"k", "k", NULL};
        int i;
        for (i = 0; i < 3; i++) {
            rc = mw_delivery_post(d, a, keys[i], "body", 4, "application/json");
            if (rc < 0) {
                assert_int_equal(rc, -ENOMEM);
                ok = 0;
            }
        }
    }
    mw_delivery_close(d);
    return ok;
}

static void test_alloc_failure(void **state)
{
    long n;
    (void)state;
    mw_alloc_set(&counting);
    for (n = 1; n < 200; n++) {
        int ok;
        long failures;
        live_blocks = 0;
        mw_alloc_set_failure(n, 0);
        ok = workload();
        failures = mw_alloc_failures();
        mw_alloc_set_failure(0, 0);
        assert_int_equal(live_blocks, 0);
        if (failures == 0) {
            assert_true(ok);
            break;
        }
    }
    assert_true(n > 5 && n < 200);
    mw_alloc_set(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_replaces_in_place),
        cmocka_unit_test(test_queue_in_flight_then_queued),
        cmocka_unit_test(test_queue_overflow_drops_oldest),
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_redact_url),
        cmocka_unit_test(test_engine_overflow),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests_name("delivery_queue", tests, NULL, NULL);
}
