/* The delivery tests' HTTP server: see http_server.h. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int listen_loopback(int *port, int backlog)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, backlog) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int ts_refusing_port(void)
{
    int port, fd = listen_loopback(&port, 1);
    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

int ts_silent_listener(int *port)
{
    return listen_loopback(port, 8);
}

/* Read one request: head up to the blank line, then Content-Length bytes. */
static int read_request(int fd, ts_request *r)
{
    char buf[8192];
    size_t used = 0, clen = 0, head;
    char *end = NULL, *line;
    struct timeval tv = {5, 0};

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    memset(r, 0, sizeof *r);
    buf[0] = '\0';
    while (!(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (used == sizeof buf - 1)
            return -1;
    }
    head = (size_t)(end - buf) + 4;
    if (sscanf(buf, "%15s %255s", r->method, r->target) != 2)
        return -1;
    line = strstr(buf, "\r\n") + 2;
    snprintf(r->headers, sizeof r->headers, "%.*s", (int)(end + 2 - line), line);
    for (line = r->headers; *line;) {
        char *next = strstr(line, "\r\n");
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            clen = (size_t)strtoul(line + 15, NULL, 10);
        if (!next)
            break;
        line = next + 2;
    }
    if (clen > sizeof r->body)
        return -1;
    while (used - head < clen) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
    }
    memcpy(r->body, buf + head, clen);
    r->len = clen;
    return 0;
}

static void answer(int fd, int status)
{
    char msg[512], escapes[201];
    int n;
    /* 451 and 452: bytes a terminal would act on (the delivery tests check
     * they are escaped); 452: more of them than the error text holds. */
    const char *body = status < 300    ? "ok"
                       : status == 451 ? "no\x1b[2J  \r\n\tway \xc2\x9b\xff\\ end"
                       : status == 452 ? escapes
                       : status < 500  ? "bad request: the alerts field is missing"
                                       : "internal error";

    memset(escapes, 0x1b, sizeof escapes - 1);
    escapes[sizeof escapes - 1] = '\0';
    n = snprintf(msg, sizeof msg,
                 "HTTP/1.1 %d Test\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Connection: close\r\n\r\n%s",
                 status, strlen(body), body);
    send(fd, msg, (size_t)n, MSG_NOSIGNAL);
}

static void *serve(void *arg)
{
    test_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{s->listen_fd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
        ts_request r;
        ts_reply reply = {200, 0};
        int fd;

        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        if (read_request(fd, &r) == 0) {
            pthread_mutex_lock(&s->mu);
            if (s->nrequests < TS_MAX_REQUESTS) {
                if (s->nrequests < s->nscript)
                    reply = s->script[s->nrequests];
                s->requests[s->nrequests++] = r;
            }
            pthread_mutex_unlock(&s->mu);
            if (reply.delay_ms) {
                struct pollfd st = {s->stop[0], POLLIN, 0};
                poll(&st, 1, reply.delay_ms);
            }
            answer(fd, reply.status);
        }
        close(fd);
    }
    return NULL;
}

int ts_start(test_server *s, const ts_reply *script, int n)
{
    memset(s, 0, sizeof *s);
    if (n > TS_MAX_SCRIPT)
        return -1;
    if (n > 0)
        memcpy(s->script, script, (size_t)n * sizeof *script);
    s->nscript = n;
    s->listen_fd = listen_loopback(&s->port, 16);
    if (s->listen_fd < 0)
        return -1;
    if (pipe(s->stop) < 0) {
        close(s->listen_fd);
        return -1;
    }
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        close(s->listen_fd);
        close(s->stop[0]);
        close(s->stop[1]);
        return -1;
    }
    return 0;
}

void ts_stop(test_server *s)
{
    if (write(s->stop[1], "x", 1) < 0)
        perror("ts_stop");
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    close(s->stop[0]);
    close(s->stop[1]);
    pthread_mutex_destroy(&s->mu);
}

int ts_count(test_server *s)
{
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->nrequests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

ts_request ts_get(test_server *s, int i)
{
    ts_request r;
    pthread_mutex_lock(&s->mu);
    r = s->requests[i];
    pthread_mutex_unlock(&s->mu);
    return r;
}
