/*
 * A small HTTP/1.1 server for the delivery tests: a thread with a plain
 * accept loop on 127.0.0.1 and an ephemeral port, answering each request by
 * a script (status, delay) and recording what arrived. One connection at a
 * time, "Connection: close" on every answer: the engine sends one request
 * per destination at a time, so nothing more is needed.
 */
#ifndef MW_TEST_HTTP_SERVER_H
#define MW_TEST_HTTP_SERVER_H

#include <pthread.h>
#include <stddef.h>

#define TS_MAX_SCRIPT   16
#define TS_MAX_REQUESTS 32

typedef struct ts_reply {
    int status;   /* the status to answer */
    int delay_ms; /* wait this long before answering */
} ts_reply;

typedef struct ts_request {
    char method[16];
    char target[256];
    char headers[2048]; /* the header lines as received */
    char body[1024];
    size_t len;
} ts_request;

typedef struct test_server {
    int port;
    int listen_fd;
    int stop[2]; /* a pipe: writing to it ends the thread and any delay */
    pthread_t thread;
    pthread_mutex_t mu;
    ts_reply script[TS_MAX_SCRIPT]; /* answers in order; then 200 */
    int nscript;
    ts_request requests[TS_MAX_REQUESTS];
    int nrequests;
} test_server;

/* Start a server answering the n replies of script in order (then 200). 0 or -1. */
int ts_start(test_server *s, const ts_reply *script, int n);
void ts_stop(test_server *s);
/* How many requests arrived so far; copy of request i. */
int ts_count(test_server *s);
ts_request ts_get(test_server *s, int i);

/* A port on 127.0.0.1 that refuses connections (bound, then closed). */
int ts_refusing_port(void);
/* A socket listening on 127.0.0.1 that never accepts, so a client connects
 * (the kernel completes the handshake) and is never answered. Returns the
 * descriptor and sets *port, or -1. */
int ts_silent_listener(int *port);

#endif
