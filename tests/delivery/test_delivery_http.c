/*
 * The delivery engine over real HTTP on loopback, against the test's own
 * server (http_server.c): what arrives (method, target, headers, content
 * type, body), retries on 500, no retry on 400, an endpoint that accepts and
 * never answers (every perform returns at once; the attempts time out and
 * the delivery counts as failed), a refused connection (reported with the
 * URL redacted), coalescing over the wire, and flush at exit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delivery/delivery.h"
#include "http_server.h"
#include "memwatch/memwatch.h"
#include "memwatch/version.h"

/* ---- what the engine reports -------------------------------------------------------- */

typedef struct reports {
    int count;
    int severity[16];
    char text[16][512];
} reports;

static void record_report(void *ud, const mw_dest *dest, int severity, const char *message)
{
    reports *r = ud;
    (void)dest;
    print_message("report %d: %s\n", severity, message);
    if (r->count < 16) {
        r->severity[r->count] = severity;
        snprintf(r->text[r->count], sizeof r->text[0], "%s", message);
    }
    r->count++;
}

static int reported(const reports *r, int severity, const char *needle)
{
    int i;
    for (i = 0; i < r->count && i < 16; i++)
        if (r->severity[i] == severity && strstr(r->text[i], needle))
            return 1;
    return 0;
}

/* ---- the caller's loop ---------------------------------------------------------------- */

/* The longest single perform call of the last run, seconds. */
static double max_perform;

/*
 * Run the loop as the watcher would (wait on the engine's descriptors and
 * timeout, at most 20 ms at a time like a short tick, then perform) until
 * dest has nothing queued or in flight, at most limit seconds. Returns the
 * time it took.
 */
static double run_until_idle(mw_delivery *d, mw_dest *dest, double limit)
{
    double start = mw_now();
    max_perform = 0;
    for (;;) {
        struct pollfd fds[16];
        size_t n;
        double t, wait = 0.02, t0, dt;
        mw_dest_stats st;

        assert_int_equal(mw_delivery_pollfds(d, fds, 16, &n), 0);
        assert_int_equal(mw_delivery_timeout(d, mw_now(), &t), 0);
        if (t >= 0 && t < wait)
            wait = t;
        poll(fds, (nfds_t)n, (int)ceil(wait * 1000));
        t0 = mw_now();
        assert_int_equal(mw_delivery_perform(d, t0), 0);
        dt = mw_now() - t0;
        if (dt > max_perform)
            max_perform = dt;
        assert_int_equal(mw_delivery_stats(dest, &st), 0);
        if (st.queued == 0 && st.in_flight == 0)
            break;
        if (mw_now() - start > limit)
            fail_msg("deliveries still pending after %.1fs", limit);
    }
    return mw_now() - start;
}

static mw_delivery *open_engine(reports *r)
{
    mw_delivery_cfg cfg = {record_report, r};
    mw_delivery *d;
    memset(r, 0, sizeof *r);
    assert_int_equal(mw_delivery_open(&cfg, &d), 0);
    return d;
}

static mw_dest *add_dest(mw_delivery *d, mw_dest_cfg *dc)
{
    mw_dest *dest;
    assert_int_equal(mw_delivery_add(d, dc, &dest), 0);
    return dest;
}

static void quick_cfg(mw_dest_cfg *dc, const char *url)
{
    mw_dest_cfg_init(dc);
    dc->url = url;
    dc->backoff = 0.05;
    dc->backoff_max = 0.2;
    dc->timeout = 2;
}

/* An engine whose destination config (dc, url) points at the scripted
 * server's /hook, with quick retries; the caller adds it. */
static mw_delivery *engine_for(const test_server *s, reports *r, mw_dest_cfg *dc, char *url,
                               size_t urllen)
{
    mw_delivery *d = open_engine(r);
    snprintf(url, urllen, "http://127.0.0.1:%d/hook", s->port);
    quick_cfg(dc, url);
    return d;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void test_sent_intact(void **state)
{
    static const char body[] = "{\"alerts\":[1]}\0binary\xff";
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *post, *put;
    mw_dest_cfg dc;
    mw_dest_stats st;
    ts_request q;
    char url[128];
    (void)state;

    assert_int_equal(ts_start(&s, NULL, 0), 0);
    d = open_engine(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v2/alerts?x=1", s.port);
    quick_cfg(&dc, url);
    dc.headers = (const char *const[]){"X-Test: yes", "Authorization: Bearer abcdef", NULL};
    post = add_dest(d, &dc);
    dc.headers = NULL;
    dc.method = "PUT";
    put = add_dest(d, &dc);

    assert_int_equal(mw_delivery_post(d, post, "k", body, sizeof body - 1, "application/json"), 0);
    run_until_idle(d, post, 5);
    assert_int_equal(mw_delivery_stats(post, &st), 0);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.retried, 0);
    assert_true(st.last_success > 0 && st.last_success_unix > 1e9);
    assert_string_equal(st.last_error, "");
    assert_int_equal(ts_count(&s), 1);
    q = ts_get(&s, 0);
    assert_string_equal(q.method, "POST");
    assert_string_equal(q.target, "/api/v2/alerts?x=1");
    assert_non_null(strstr(q.headers, "Content-Type: application/json\r\n"));
    assert_non_null(strstr(q.headers, "X-Test: yes\r\n"));
    assert_non_null(strstr(q.headers, "Authorization: Bearer abcdef\r\n"));
    assert_non_null(strstr(q.headers, "User-Agent: memwatch/" MW_VERSION " libcurl/"));
    assert_null(strstr(q.headers, "Expect:"));
    assert_int_equal(q.len, sizeof body - 1);
    assert_memory_equal(q.body, body, sizeof body - 1);

    /* Another method, no content type: none is invented. */
    assert_int_equal(mw_delivery_post(d, put, NULL, "plain", 5, NULL), 0);
    run_until_idle(d, put, 5);
    assert_int_equal(mw_delivery_stats(put, &st), 0);
    assert_int_equal(st.sent, 1);
    q = ts_get(&s, 1);
    assert_string_equal(q.method, "PUT");
    assert_null(strstr(q.headers, "Content-Type"));
    assert_int_equal(q.len, 5);
    assert_memory_equal(q.body, "plain", 5);

    /* A delivery's own headers join the destination's; a malformed one is refused. */
    assert_int_equal(mw_delivery_post_headers(d, post, "t", "x", 1, "text/plain",
                                              (const char *const[]){"Bad header", NULL}),
                     MW_EINVAL);
    assert_int_equal(mw_delivery_post_headers(d, post, "t", "x", 1, "text/plain",
                                              (const char *const[]){"Title: a\r\nX-Evil: 1", NULL}),
                     MW_EINVAL);
    assert_int_equal(mw_delivery_post_headers(
                         d, post, "t", "x", 1, "text/plain",
                         (const char *const[]){"Title: memwatch ALERT", "Priority: high", NULL}),
                     0);
    run_until_idle(d, post, 5);
    assert_int_equal(ts_count(&s), 3);
    q = ts_get(&s, 2);
    assert_non_null(strstr(q.headers, "Title: memwatch ALERT\r\n"));
    assert_non_null(strstr(q.headers, "Priority: high\r\n"));
    assert_non_null(strstr(q.headers, "X-Test: yes\r\n"));
    assert_non_null(strstr(q.headers, "Content-Type: text/plain\r\n"));
    assert_int_equal(r.count, 0); /* nothing to tell */
    mw_delivery_close(d);
    ts_stop(&s);
}

static void test_retry_then_sent(void **state)
{
    const ts_reply script[] = {{500, 0}, {200, 0}};
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128];
    (void)state;

    assert_int_equal(ts_start(&s, script, 2), 0);
    d = engine_for(&s, &r, &dc, url, sizeof url);
    dc.name = "webhook";
    dest = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "text/plain"), 0);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.sent, 1);
    assert_int_equal(st.retried, 1);
    assert_int_equal(st.failed, 0);
    assert_non_null(strstr(st.last_error, "HTTP 500"));
    assert_int_equal(ts_count(&s), 2);
    /* Told once that it fails, once that it works again. */
    assert_int_equal(r.count, 2);
    assert_true(reported(&r, MW_DELIVERY_WARNING, "webhook http://127.0.0.1:"));
    assert_true(reported(&r, MW_DELIVERY_WARNING, "HTTP 500"));
    assert_true(reported(&r, MW_DELIVERY_NOTICE, "delivering again"));
    /* A retry that succeeds lost nothing, and says so. */
    assert_true(reported(&r, MW_DELIVERY_NOTICE, "delivering again (nothing lost)"));
    mw_delivery_close(d);
    ts_stop(&s);
}

static void test_client_error_not_retried(void **state)
{
    const ts_reply script[] = {{400, 0}};
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128];
    (void)state;

    assert_int_equal(ts_start(&s, script, 1), 0);
    d = engine_for(&s, &r, &dc, url, sizeof url);
    dest = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "application/json"), 0);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.sent, 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retried, 0);
    assert_int_equal(ts_count(&s), 1);
    /* The server's words make it into the error. */
    assert_string_equal(st.last_error, "HTTP 400: bad request: the alerts field is missing");
    assert_int_equal(r.count, 1);
    assert_true(reported(&r, MW_DELIVERY_ERROR, "not retried"));
    mw_delivery_close(d);
    ts_stop(&s);
}

/* The server's words are its own choice of bytes: they reach a terminal
 * escaped (memwatch/text.h), white space made one space, and cut short on
 * a whole escape when there are too many. */
static void test_response_escaped(void **state)
{
    const ts_reply script[] = {{451, 0}, {452, 0}};
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128];
    size_t n;
    (void)state;

    assert_int_equal(ts_start(&s, script, 2), 0);
    d = engine_for(&s, &r, &dc, url, sizeof url);
    dest = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "application/json"), 0);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.failed, 1);
    assert_string_equal(st.last_error, "HTTP 451: no\\x1b[2J way \\u{9b}\\xff\\\\ end");
    assert_true(reported(&r, MW_DELIVERY_ERROR, "HTTP 451: no\\x1b[2J way"));

    assert_int_equal(mw_delivery_post(d, dest, "k2", "x", 1, "application/json"), 0);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.failed, 2);
    assert_null(strchr(st.last_error, 0x1b));
    assert_int_equal(strncmp(st.last_error, "HTTP 452: \\x1b\\x1b", 18), 0);
    n = strlen(st.last_error);
    assert_true(n > 18 && n < sizeof st.last_error);
    assert_int_equal((n - strlen("HTTP 452: ")) % 4, 0); /* whole \x1b escapes only */
    assert_string_equal(st.last_error + n - 4, "\\x1b");
    mw_delivery_close(d);
    ts_stop(&s);
}

static void test_silent_endpoint(void **state)
{
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128];
    int port, fd;
    double took;
    (void)state;

    fd = ts_silent_listener(&port);
    assert_true(fd >= 0);
    d = open_engine(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
    quick_cfg(&dc, url);
    dc.timeout = 0.3;
    dc.retries = 1;
    dest = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "text/plain"), 0);
    took = run_until_idle(d, dest, 5);
    /* Two attempts of 0.3 s and a 0.05 s wait; each perform at once. */
    assert_true(took >= 0.6 && took < 3);
    assert_true(max_perform < 0.05);
    print_message("silent endpoint: %.2fs, longest perform %.2f ms\n", took, max_perform * 1e3);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retried, 1);
    assert_int_equal(st.sent, 0);
    assert_non_null(strstr(st.last_error, "timed out"));
    assert_true(reported(&r, MW_DELIVERY_WARNING, "retrying"));
    assert_true(reported(&r, MW_DELIVERY_ERROR, "gave up after 2 attempts"));
    mw_delivery_close(d);
    close(fd);
}

static void test_refused_redacted(void **state)
{
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128], shown[128];
    int port, i;
    (void)state;

    port = ts_refusing_port();
    assert_true(port > 0);
    d = open_engine(&r);
    snprintf(url, sizeof url, "http://alice:hunter2hunter2@127.0.0.1:%d/x?token=abc123xyz", port);
    snprintf(shown, sizeof shown, "http://***@127.0.0.1:%d/x?token=***", port);
    quick_cfg(&dc, url);
    dc.retries = 1;
    dc.backoff = 0.02;
    dest = add_dest(d, &dc);
    assert_string_equal(mw_dest_url(dest), shown);
    assert_int_equal(mw_delivery_post(d, dest, "k", "x", 1, "text/plain"), 0);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.retried, 1);
    assert_true(r.count >= 1);
    assert_true(reported(&r, MW_DELIVERY_ERROR, shown));
    for (i = 0; i < r.count && i < 16; i++) {
        assert_null(strstr(r.text[i], "hunter2"));
        assert_null(strstr(r.text[i], "abc123"));
    }
    assert_null(strstr(st.last_error, "hunter2"));
    mw_delivery_close(d);
}

static void test_coalescing_over_the_wire(void **state)
{
    const ts_reply script[] = {{200, 300}, {200, 0}};
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *dest;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128], body[16];
    int i;
    (void)state;

    assert_int_equal(ts_start(&s, script, 2), 0);
    d = engine_for(&s, &r, &dc, url, sizeof url);
    dest = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, dest, "alert-1", "state1", 6, "text/plain"), 0);
    assert_int_equal(mw_delivery_perform(d, mw_now()), 0);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.in_flight, 1);
    for (i = 2; i <= 5; i++) {
        snprintf(body, sizeof body, "state%d", i);
        assert_int_equal(mw_delivery_post(d, dest, "alert-1", body, 6, "text/plain"), 0);
        assert_int_equal(mw_delivery_perform(d, mw_now()), 0);
    }
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.replaced, 3);
    run_until_idle(d, dest, 5);
    assert_int_equal(mw_delivery_stats(dest, &st), 0);
    assert_int_equal(st.sent, 2);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(ts_count(&s), 2);
    assert_string_equal(ts_get(&s, 0).body, "state1");
    assert_string_equal(ts_get(&s, 1).body, "state5");
    mw_delivery_close(d);
    ts_stop(&s);
}

static void test_flush(void **state)
{
    test_server s;
    reports r;
    mw_delivery *d;
    mw_dest *ok, *silent;
    mw_dest_cfg dc;
    mw_dest_stats st;
    char url[128];
    int port, fd;
    double t0;
    (void)state;

    assert_int_equal(ts_start(&s, NULL, 0), 0);
    fd = ts_silent_listener(&port);
    assert_true(fd >= 0);
    d = open_engine(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", s.port);
    quick_cfg(&dc, url);
    ok = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, ok, "a", "1", 1, NULL), 0);
    assert_int_equal(mw_delivery_post(d, ok, "b", "2", 1, NULL), 0);
    assert_int_equal(mw_delivery_flush(d, mw_now() + 5), 0);
    assert_int_equal(mw_delivery_stats(ok, &st), 0);
    assert_int_equal(st.sent, 2);

    /* An endpoint that never answers: flush gives up at its deadline. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/silent", port);
    quick_cfg(&dc, url);
    silent = add_dest(d, &dc);
    assert_int_equal(mw_delivery_post(d, silent, "c", "3", 1, NULL), 0);
    t0 = mw_now();
    assert_int_equal(mw_delivery_flush(d, t0 + 0.2), -ETIMEDOUT);
    assert_true(mw_now() - t0 < 0.5);
    assert_int_equal(mw_delivery_stats(silent, &st), 0);
    assert_int_equal(st.in_flight, 1);
    mw_delivery_close(d);
    close(fd);
    ts_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sent_intact),
        cmocka_unit_test(test_retry_then_sent),
        cmocka_unit_test(test_client_error_not_retried),
        cmocka_unit_test(test_response_escaped),
        cmocka_unit_test(test_silent_endpoint),
        cmocka_unit_test(test_refused_redacted),
        cmocka_unit_test(test_coalescing_over_the_wire),
        cmocka_unit_test(test_flush),
    };
    /* Loopback only: a proxy from the environment must not get in between. */
    setenv("no_proxy", "*", 1);
    return cmocka_run_group_tests_name("delivery_http", tests, NULL, NULL);
}
