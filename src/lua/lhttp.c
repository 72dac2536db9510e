/*
 * core.http_listen(address, port [, opts]) -> server | nil, message, errno
 *
 * A thin binding over libmicrohttpd for memwatch serve. MHD runs with an
 * external event loop: server:serve(handler, seconds [, poll]) waits on the
 * server's descriptors (epoll where MHD has it; lsignal.c's wait), then runs
 * MHD once on the calling thread, and MHD calls the Lua handler for each
 * request inside that call. No MHD thread ever touches the Lua state.
 *
 *   handler(req) -> status, body [, headers]
 *     req     = {method=, path=, version=, content_length=, chunked=}
 *     status  = an integer 100..599; body = a string;
 *     headers = {["Content-Type"] = "...", ...} (strings only)
 *
 * A request body is never read or buffered: a request that announces one is
 * answered as soon as its headers are in. Errors in the handler never
 * unwind through MHD: the request gets a 500 and serve() returns the error.
 *
 * The listening socket is made here (so a failure names its errno) and handed
 * to MHD. Requests are bounded by MHD's per-connection memory (headers and
 * URL beyond it are refused by MHD), by a connection limit and a timeout.
 */
#include "lua/lhttp.h"

#include "lua/laux.h"
#include "lua/ldelivery.h"

#include "lua/lsignal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include <lauxlib.h>

#define SERVER_MT "memwatch.http_server"

#define DEFAULT_MAX_CONNECTIONS 16
#define DEFAULT_MEMORY_LIMIT    16384
#define DEFAULT_TIMEOUT         10

/* One server:serve() in progress. */
struct call {
    lua_State *L;
    int handler; /* stack index of the handler */
    int err;     /* stack index of the first error, or 0 */
    lua_Integer handled;
};

struct server {
    struct MHD_Daemon *daemon;
    struct call *call;
    int epoll;
    int port;
    int loopback;
    char address[INET6_ADDRSTRLEN];
};

/* What the handler's C wrapper needs from the request. */
struct request {
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const char *version;
};

static const char internal_error[] = "internal error\n";

static struct server *check_server(lua_State *L, int idx)
{
    return (struct server *)luaL_checkudata(L, idx, SERVER_MT);
}

static struct server *open_server(lua_State *L, int idx, const char *what)
{
    struct server *s = check_server(L, idx);
    if (!s->daemon)
        luaL_error(L, "http: %s: the server is closed", what);
    return s;
}

/*
 * Runs in protected mode: builds the request table, calls the handler,
 * checks what it returned. Stack in: handler, request (light userdata).
 * Stack out: status, body, headers table.
 */
static int call_handler(lua_State *L)
{
    const struct request *rq = (const struct request *)lua_touserdata(L, 2);
    const char *cl = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Transfer-Encoding");
    lua_Integer status;

    lua_settop(L, 1);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, rq->method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, rq->url);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, rq->version);
    lua_setfield(L, -2, "version");
    if (cl) {
        char *end;
        unsigned long long n;
        errno = 0;
        n = strtoull(cl, &end, 10);
        if (end != cl && *end == '\0' && errno == 0 && n <= (unsigned long long)INT64_MAX)
            lua_pushinteger(L, (lua_Integer)n);
        else
            lua_pushinteger(L, -1); /* present but not a number */
        lua_setfield(L, -2, "content_length");
    }
    lua_pushboolean(L, te != NULL);
    lua_setfield(L, -2, "chunked");
    lua_call(L, 1, 3);

    if (!lua_isinteger(L, 1))
        return luaL_error(L, "http handler: status must be an integer, got %s",
                          luaL_typename(L, 1));
    status = lua_tointeger(L, 1);
    if (status < 100 || status > 599)
        return luaL_error(L, "http handler: status %I is not in 100..599", (LUAI_UACINT)status);
    if (lua_type(L, 2) != LUA_TSTRING)
        return luaL_error(L, "http handler: body must be a string, got %s", luaL_typename(L, 2));
    if (lua_isnil(L, 3)) {
        lua_newtable(L);
        lua_replace(L, 3);
    } else if (!lua_istable(L, 3)) {
        return luaL_error(L, "http handler: headers must be a table, got %s", luaL_typename(L, 3));
    }
    lua_pushnil(L);
    while (lua_next(L, 3)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            return luaL_error(L, "http handler: headers must map strings to strings");
        lua_pop(L, 1);
    }
    return 3;
}

static enum MHD_Result queue_static(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), mw_l_unconst(text), MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result respond(struct call *c, struct request *rq)
{
    lua_State *L = c->L;
    int top = lua_gettop(L);
    struct MHD_Response *r;
    const char *body;
    size_t len;
    unsigned status;
    enum MHD_Result ok = MHD_YES;

    if (!lua_checkstack(L, 8))
        return queue_static(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    /* None of these allocate, so nothing here can raise outside the pcall. */
    lua_pushcfunction(L, call_handler);
    lua_pushvalue(L, c->handler);
    lua_pushlightuserdata(L, rq);
    if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
        if (c->err == 0)
            c->err = lua_gettop(L); /* keep the first error on the stack */
        else
            lua_settop(L, top);
        return queue_static(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    c->handled++;
    status = (unsigned)lua_tointeger(L, top + 1);
    body = lua_tolstring(L, top + 2, &len);
    r = MHD_create_response_from_buffer(len, mw_l_unconst(body), MHD_RESPMEM_MUST_COPY);
    if (!r) {
        lua_settop(L, top);
        return queue_static(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    lua_pushnil(L);
    while (lua_next(L, top + 3)) {
        /* MHD refuses names and values with CR or LF. */
        if (MHD_add_response_header(r, lua_tostring(L, -2), lua_tostring(L, -1)) != MHD_YES)
            ok = MHD_NO;
        lua_pop(L, 1);
    }
    lua_settop(L, top);
    if (ok != MHD_YES) {
        MHD_destroy_response(r);
        return queue_static(rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    ok = MHD_queue_response(rq->conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

/*
 * MHD's access handler. The first call of a request comes once the headers
 * are in. A request that announces a body is answered then, so MHD never
 * reads the body for us (it is discarded and the connection closed after the
 * answer); one without a body is answered on the next call, once MHD has the
 * whole request, which keeps the connection open for the next scrape.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    static int seen, answered;
    struct server *s = (struct server *)cls;
    struct request rq;

    (void)upload_data;
    if (*con_cls == &answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*con_cls == NULL &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
        *con_cls = &seen;
        return MHD_YES;
    }
    *con_cls = &answered;
    if (!s->call) /* cannot happen: MHD only runs inside serve() */
        return MHD_NO;
    rq.conn = conn;
    rq.url = url ? url : "";
    rq.method = method ? method : "";
    rq.version = version ? version : "";
    return respond(s->call, &rq);
}

static int is_loopback(int family, const void *addr)
{
    if (family == AF_INET)
        return ((const unsigned char *)addr)[0] == 127;
    if (IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)addr))
        return 1;
    if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr))
        return ((const unsigned char *)addr)[12] == 127;
    return 0;
}

static lua_Integer opt_integer(lua_State *L, int idx, const char *key, lua_Integer def,
                               lua_Integer min, lua_Integer max)
{
    lua_Integer v = def;
    if (lua_isnoneornil(L, idx))
        return def;
    if (lua_getfield(L, idx, key) != LUA_TNIL) {
        if (!lua_isinteger(L, -1))
            luaL_error(L, "http_listen: option '%s' must be an integer, got %s", key,
                       luaL_typename(L, -1));
        v = lua_tointeger(L, -1);
        if (v < min || v > max)
            luaL_error(L, "http_listen: option '%s' must be in %I..%I, got %I", key,
                       (LUAI_UACINT)min, (LUAI_UACINT)max, (LUAI_UACINT)v);
    }
    lua_pop(L, 1);
    return v;
}

static int fail(lua_State *L, int err, const char *fmt, const char *addr, int port)
{
    luaL_pushfail(L);
    lua_pushfstring(L, fmt, addr, port, strerror(err));
    lua_pushinteger(L, err);
    return 3;
}

/* http_listen(address, port [, {max_connections=, memory_limit=, timeout=}]) */
static int l_http_listen(lua_State *L)
{
    size_t alen;
    const char *addr = luaL_checklstring(L, 1, &alen);
    lua_Integer port = luaL_checkinteger(L, 2);
    lua_Integer maxc, mem, tmo;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char host[INET6_ADDRSTRLEN + 2];
    int family, fd, one = 1, e;
    unsigned flags = 0;
    const void *raw;
    struct server *s;
    const union MHD_DaemonInfo *info;

    luaL_argcheck(L, port >= 0 && port <= 65535, 2, "port must be in 0..65535");
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    maxc = opt_integer(L, 3, "max_connections", DEFAULT_MAX_CONNECTIONS, 1, 1024);
    mem = opt_integer(L, 3, "memory_limit", DEFAULT_MEMORY_LIMIT, 4096, 1 << 24);
    tmo = opt_integer(L, 3, "timeout", DEFAULT_TIMEOUT, 1, 3600);

    /* "[::1]" as well as "::1" */
    if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']' && alen - 2 < sizeof host) {
        memcpy(host, addr + 1, alen - 2);
        host[alen - 2] = '\0';
    } else if (alen < sizeof host) {
        memcpy(host, addr, alen + 1);
    } else {
        host[0] = '\0';
    }
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        family = AF_INET;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sslen = sizeof *sin;
        raw = &sin->sin_addr;
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        family = AF_INET6;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *sin6;
        raw = &sin6->sin6_addr;
        flags |= MHD_USE_IPv6;
    } else {
        luaL_pushfail(L);
        lua_pushfstring(L, "'%s' is not an IPv4 or IPv6 address", addr);
        lua_pushinteger(L, EINVAL);
        return 3;
    }

    fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0)
        return fail(L, errno, "cannot listen on %s:%d: %s", addr, (int)port);
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        e = errno;
        close(fd);
        return fail(L, e, "cannot listen on %s:%d: %s", addr, (int)port);
    }

    s = (struct server *)lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, SERVER_MT);
    s->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    s->loopback = is_loopback(family, raw);
    inet_ntop(family, raw, s->address, sizeof s->address);
#ifdef __linux__
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) {
        flags |= MHD_USE_EPOLL;
        s->epoll = 1;
    }
#endif
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET,
                                 (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)maxc,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)tmo,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)mem, MHD_OPTION_END);
    if (!s->daemon) {
        close(fd);
        return fail(L, EIO, "cannot start the HTTP server on %s:%d: %s", addr, (int)port);
    }
    if (s->epoll) {
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
            MHD_stop_daemon(s->daemon);
            s->daemon = NULL;
            return fail(L, EIO, "cannot start the HTTP server on %s:%d: %s", addr, (int)port);
        }
    }
    return 1;
}

/*
 * Blocks until the server has work, the time is up, or a signal arrives: the
 * one wait of lsignal.c over the server's descriptors (MHD's epoll
 * descriptor where it has one, else every socket MHD watches).
 */
static int wait_ready(lua_State *L, struct server *s, double seconds, const mw_l_wait *w)
{
    MHD_UNSIGNED_LONG_LONG ms;
    struct pollfd pfds[FD_SETSIZE];
    size_t n = 0;
    int rc;

    if (MHD_get_timeout(s->daemon, &ms) == MHD_YES && (double)ms / 1000.0 < seconds)
        seconds = (double)ms / 1000.0;
    if (s->epoll) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        pfds[n].fd = info->epoll_fd;
        pfds[n].events = POLLIN;
        pfds[n++].revents = 0;
    } else {
        fd_set rs, ws, es;
        MHD_socket max = 0;
        FD_ZERO(&rs);
        FD_ZERO(&ws);
        FD_ZERO(&es);
        if (MHD_get_fdset2(s->daemon, &rs, &ws, &es, &max, FD_SETSIZE) != MHD_YES)
            return -EMFILE;
        for (int fd = 0; fd <= (int)max && fd < FD_SETSIZE; fd++) {
            short ev =
                (short)((FD_ISSET(fd, &rs) ? POLLIN : 0) | (FD_ISSET(fd, &ws) ? POLLOUT : 0) |
                        (FD_ISSET(fd, &es) ? POLLPRI : 0));
            if (!ev)
                continue;
            pfds[n].fd = fd;
            pfds[n].events = ev;
            pfds[n++].revents = 0;
        }
    }
    /* Alert deliveries (a --rules script's actions) progress in the same wait. */
    mw_l_delivery_wait_fds(L, pfds, FD_SETSIZE, &n, &seconds);
    rc = mw_l_wait_fds(w, pfds, n, seconds, MW_L_WAKE_CAUGHT);
    mw_l_delivery_progress(L);
    return rc < 0 && rc != -EINTR ? rc : 0; /* a signal: serve() looks at the flags */
}

/*
 * server:serve(handler, seconds [, poll]) -> handled, err, polled
 *
 * Waits up to `seconds` for requests and answers those that are ready.
 * poll, when given, is called with SIGINT, SIGTERM and SIGHUP blocked just
 * before the wait; a true result skips the wait and comes back as `polled`.
 * A signal that arrives after poll() returns still ends the wait, since the
 * wait unblocks it atomically. `err` is the first error a handler raised.
 */
static int l_serve(lua_State *L)
{
    struct server *s = open_server(L, 1, "serve");
    lua_Number seconds = luaL_checknumber(L, 3);
    int has_poll = !lua_isnoneornil(L, 4);
    mw_l_wait w;
    struct call c;
    int rc, polled = 0;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    luaL_argcheck(L, isfinite(seconds) && seconds >= 0, 3, "duration must be >= 0");
    if (has_poll)
        luaL_checktype(L, 4, LUA_TFUNCTION);
    if (s->call)
        return luaL_error(L, "http: serve: already serving (called from a handler?)");
    lua_settop(L, 4);

    mw_l_wait_begin(&w);
    if (has_poll) {
        lua_pushvalue(L, 4);
        if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
            mw_l_wait_end(&w);
            return lua_error(L);
        }
        polled = lua_toboolean(L, -1);
        if (!polled)
            lua_pop(L, 1);
    }
    rc = 0;
    if (!polled && seconds > 0)
        rc = wait_ready(L, s, seconds, &w);
    mw_l_wait_end(&w);
    /* The executable's Ctrl-C handler fired (signals not caught). */
    mw_l_check_interrupt(L);
    if (rc < 0)
        return luaL_error(L, "http: serve: waiting for requests: %s", strerror(-rc));

    c.L = L;
    c.handler = 2;
    c.err = 0;
    c.handled = 0;
    s->call = &c;
    MHD_run(s->daemon);
    s->call = NULL;

    lua_pushinteger(L, c.handled);
    if (c.err)
        lua_pushvalue(L, c.err);
    else
        lua_pushnil(L);
    if (polled)
        lua_pushvalue(L, 5);
    else
        lua_pushnil(L);
    return 3;
}

static int l_port(lua_State *L)
{
    lua_pushinteger(L, open_server(L, 1, "port")->port);
    return 1;
}

static int l_address(lua_State *L)
{
    lua_pushstring(L, open_server(L, 1, "address")->address);
    return 1;
}

static int l_loopback(lua_State *L)
{
    lua_pushboolean(L, open_server(L, 1, "loopback")->loopback);
    return 1;
}

static int l_close(lua_State *L)
{
    struct server *s = check_server(L, 1);
    if (s->call)
        return luaL_error(L, "http: close: cannot close the server from its own handler");
    if (s->daemon) {
        MHD_stop_daemon(s->daemon); /* closes the listening socket too */
        s->daemon = NULL;
    }
    return 0;
}

static int l_tostring(lua_State *L)
{
    struct server *s = check_server(L, 1);
    if (s->daemon)
        lua_pushfstring(L, "http server (%s port %d)", s->address, s->port);
    else
        lua_pushliteral(L, "http server (closed)");
    return 1;
}

static const luaL_Reg server_methods[] = {
    {"serve", l_serve},       {"port", l_port},   {"address", l_address},
    {"loopback", l_loopback}, {"close", l_close}, {NULL, NULL},
};

void mw_lua_register_http(lua_State *L)
{
    if (luaL_newmetatable(L, SERVER_MT)) {
        luaL_newlib(L, server_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_http_listen);
    lua_setfield(L, -2, "http_listen");
}
