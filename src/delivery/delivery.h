/*
 * Alert delivery: HTTP requests sent asynchronously through libcurl's multi
 * interface, driven by the caller's run loop.
 *
 * The run loop samples processes every tick and must never wait for a slow
 * or dead endpoint, so nothing here blocks except mw_delivery_flush (which
 * waits at most until a deadline, for exit). The loop's cycle is:
 *
 *     mw_delivery_pollfds(d, fds, cap, &n);     descriptors to wait on
 *     mw_delivery_timeout(d, now, &seconds);    when perform has work anyway
 *     ppoll(... the loop's own fds + those ..., min(tick, seconds));
 *     mw_delivery_perform(d, mw_now());         progress, never blocks
 *
 * Each destination has a bounded queue that coalesces by alert key: a newer
 * state of an alert replaces its queued (not yet sent) state in place, so a
 * resolve is never stuck behind an older firing state and a flapping alert
 * cannot fill the queue. One request per destination is in flight at a time:
 * deliveries to an endpoint keep their order, and a failing endpoint sees one
 * request at a time, spaced by the retry backoff.
 *
 * Nothing here prints: what the caller should tell a person (a destination
 * starts failing, gives up on a delivery, recovers, overflows) comes through
 * the report callback, once per situation, with every URL redacted.
 *
 * Conventions (memwatch/memwatch.h): functions return 0 or a negative code,
 * -errno or MW_E*; memory comes from memwatch/alloc.h (libcurl's own blocks
 * come from libc). An engine is used from one thread.
 */
#ifndef MW_DELIVERY_DELIVERY_H
#define MW_DELIVERY_DELIVERY_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mw_delivery mw_delivery;
typedef struct mw_dest mw_dest;

/* Severity of a report, in syslog's order (lower is worse). */
enum mw_delivery_severity {
    MW_DELIVERY_ERROR = 3,   /* a delivery was lost: gave up, rejected, or dropped */
    MW_DELIVERY_WARNING = 4, /* a destination started failing; it will be retried */
    MW_DELIVERY_NOTICE = 5   /* a destination works again */
};

/*
 * How the engine tells its caller what happened. message is one line without
 * a newline, valid only during the call, its URL already redacted. Called
 * from inside mw_delivery_post/perform/flush; it must not call back into the
 * engine.
 */
typedef void (*mw_delivery_report_fn)(void *ud, const mw_dest *dest, int severity,
                                      const char *message);

typedef struct mw_delivery_cfg {
    mw_delivery_report_fn report; /* NULL: nothing is reported */
    void *report_ud;
} mw_delivery_cfg;

/* Defaults of a destination (mw_dest_cfg_init). */
#define MW_DELIVERY_TIMEOUT     10.0 /* seconds per attempt */
#define MW_DELIVERY_RETRIES     3    /* retries after the first attempt */
#define MW_DELIVERY_QUEUE       64   /* items waiting (not counting the one in flight) */
#define MW_DELIVERY_BACKOFF     1.0  /* first retry after this many seconds, then doubling */
#define MW_DELIVERY_BACKOFF_MAX 60.0 /* the longest wait between attempts */

typedef struct mw_dest_cfg {
    const char *url;            /* http:// or https://; required */
    const char *name;           /* prefix of reports, e.g. "webhook"; NULL: "delivery" */
    const char *method;         /* NULL: "POST" */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated; may be NULL */
    double timeout;             /* seconds per attempt, > 0 */
    int retries;                /* retries after the first attempt, >= 0 (0: a failure is final) */
    int queue;                  /* items that may wait, >= 1 */
    double backoff;             /* the first retry's wait, seconds, > 0; doubles per retry */
    double backoff_max;         /* the cap of that wait, >= backoff */
    int insecure;               /* nonzero: do not verify the TLS peer and host name */
} mw_dest_cfg;

/* Fill cfg with the defaults above (url and name NULL, TLS verified). */
void mw_dest_cfg_init(mw_dest_cfg *cfg);

/* Counters and state of one destination (mw_delivery_stats). */
typedef struct mw_dest_stats {
    uint64_t sent;            /* deliveries the endpoint accepted (2xx) */
    uint64_t failed;          /* deliveries given up: rejected, or out of retries */
    uint64_t dropped;         /* deliveries dropped unsent because the queue was full */
    uint64_t retried;         /* attempts repeated after a transient failure */
    uint64_t replaced;        /* queued deliveries superseded by a newer state of their key */
    size_t queued;            /* deliveries waiting now */
    size_t in_flight;         /* 0 or 1 */
    double last_success;      /* the perform clock at the last 2xx; 0: never */
    double last_success_unix; /* the same moment in Unix time; 0: never */
    char last_error[256];     /* the last failure, redacted; "" when none */
} mw_dest_stats;

/*
 * Create an engine (initialises libcurl, which counts its users).
 * -ENOMEM, or MW_ENOTSUP when libcurl cannot start.
 */
int mw_delivery_open(const mw_delivery_cfg *cfg, mw_delivery **out);

/*
 * Abort what is in flight, free every queued item and destination, close the
 * engine. Deliveries not yet sent are lost: call mw_delivery_flush first to
 * give them a bounded chance. NULL is a no-op.
 */
void mw_delivery_close(mw_delivery *d);

/*
 * Add a destination; the engine owns it until mw_delivery_close, and copies
 * every string of cfg. MW_EINVAL for a URL that is not http(s)://, a
 * header without ':' or with a line break, a value out of its range; -ENOMEM.
 */
int mw_delivery_add(mw_delivery *d, const mw_dest_cfg *cfg, mw_dest **out);

/*
 * Queue a delivery of body (len bytes, copied) with the given Content-Type
 * (NULL: none) for the alert called key (NULL or "": never coalesced).
 * Never blocks and never touches the network; the request starts in the next
 * mw_delivery_perform. A queued, not yet sent item of the same key is
 * replaced in place; if that key's item is in flight, this one waits behind
 * it. When the queue is full the oldest waiting item is dropped (counted,
 * reported once per overflow). 0, -ENOMEM (nothing queued, nothing dropped),
 * or MW_EINVAL (a content type with a line break, a dest of another engine).
 */
int mw_delivery_post(mw_delivery *d, mw_dest *dest, const char *key, const void *body, size_t len,
                     const char *content_type);

/*
 * mw_delivery_post with this delivery's own header lines besides the
 * destination's ("Name: value", NULL-terminated; NULL: none), e.g. a title
 * that names the alert. MW_EINVAL for a header without ':' or with a line
 * break, as for mw_delivery_add.
 */
int mw_delivery_post_headers(mw_delivery *d, mw_dest *dest, const char *key, const void *body,
                             size_t len, const char *content_type, const char *const *headers);

/*
 * The descriptors libcurl waits on now, as pollfd entries (revents zeroed).
 * Writes at most cap entries and sets *n to how many there are; returns
 * -ENOBUFS when cap was too small (call again with *n entries). The set
 * changes with every perform: ask again before each wait.
 */
int mw_delivery_pollfds(const mw_delivery *d, struct pollfd *fds, size_t cap, size_t *n);

/*
 * How long the caller may wait (seconds, from now) before perform has work
 * even if no descriptor becomes ready: a libcurl timer, a retry coming due,
 * or a queued item that can start now (0). -1 when the engine has nothing to
 * do until something is posted.
 */
int mw_delivery_timeout(const mw_delivery *d, double now, double *seconds);

/*
 * Progress without blocking: start queued deliveries whose destination is
 * free and not backing off, move transfers whose descriptors are ready (it
 * polls them itself with a zero timeout, so the caller need not pass
 * revents), finish completed ones, schedule retries. now is the caller's
 * monotonic clock in seconds (mw_now()). 0, or -ENOMEM/MW_ENOTSUP when
 * libcurl fails as a whole (transfers stay queued for the next call).
 */
int mw_delivery_perform(mw_delivery *d, double now);

/*
 * For exit: wait and perform until nothing is queued or in flight, or until
 * deadline (mw_now() clock) passes. 0 when everything was delivered or given
 * up, -ETIMEDOUT when deliveries remain (they stay queued).
 */
int mw_delivery_flush(mw_delivery *d, double deadline);

/* Counters and state of a destination. */
int mw_delivery_stats(const mw_dest *dest, mw_dest_stats *out);

/* The destination's URL with its credentials and tokens replaced by "***". */
const char *mw_dest_url(const mw_dest *dest);
/* The destination's name (cfg->name or "delivery"). */
const char *mw_dest_name(const mw_dest *dest);

/*
 * Copy url into buf with its secrets replaced by "***": the userinfo
 * (user:password@), the values of query parameters that carry credentials
 * (token, key, apikey, access_token, secret, password, sig, signature, and
 * names ending in token, key, secret or password), and the secret segment of
 * Slack (/services/T../B../SECRET) and Discord (/api/webhooks/ID/TOKEN)
 * webhook paths. Pure. 0, or -ENOSPC when buf was too small (it then holds a
 * truncated, still redacted, NUL-terminated prefix).
 */
int mw_delivery_redact_url(const char *url, char *buf, size_t len);

#endif
