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
 *
 * Access (serve --web-config): TLS through MHD's GnuTLS backend, the client
 * certificate checked here through GnuTLS, basic auth through http/auth.c's
 * worker thread (the connection is suspended meanwhile, so the Lua thread
 * never waits for bcrypt), a rate limit and extra headers. Every refusal is
 * answered here, before the handler: the handler only sees admitted requests.
 */
#include "lua/lhttp.h"

#include "lua/laux.h"
#include "lua/ldelivery.h"

#include "lua/lsignal.h"

#include "http/auth.h"
#include "http/bucket.h"
#include "http/webconfig.h"

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

#ifdef MW_HAVE_GNUTLS
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#endif
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

/* Failed logins a client address may make in a row, and how fast it gets
 * them back: 5, then one per 2 s. */
#define FAIL_BURST 5.0
#define FAIL_RATE  0.5

#define MAX_HEADERS 8

/* TLS material: PEM text, copied (MHD reads it when the daemon starts). */
struct tls {
    char *cert, *key, *client_ca, *priorities;
    int client_auth; /* 0 none, 1 verify if given, 2 require and verify */
    char **sans;     /* client_allowed_sans: the certificate must have one */
    size_t nsans;
};

struct user {
    char *name, *hash;
};

struct server {
    struct MHD_Daemon *daemon;
    struct call *call;
    int epoll;
    int port;
    int loopback;
    int listen_fd; /* kept for restarting the daemon with new TLS material */
    unsigned flags, max_connections, timeout;
    size_t memory_limit;
    char address[INET6_ADDRSTRLEN];

    struct tls *tls; /* NULL: plain HTTP */
    struct user *users;
    size_t nusers;
    struct {
        char *name, *value;
    } headers[MAX_HEADERS];
    size_t nheaders;
    double rate_interval, rate_burst; /* rate_limit; interval 0: none */
    struct mw_bucket rate;
    struct mw_addr_buckets *fails;
    struct mw_auth *auth;
    struct {
        lua_Integer auth_failures, auth_throttled, rate_limited, cert_refused;
    } stats;
};

/* A request's progress through the access checks (MHD's con_cls). */
enum phase { P_NEW, P_AUTH_WAIT, P_ALLOWED, P_ANSWERED };

struct req_state {
    enum phase phase;
    int calls;
    int auth_ok;
    struct MHD_Connection *conn;
};

/* What the handler's C wrapper needs from the request. */
struct request {
    struct MHD_Connection *conn;
    const char *url;
    const char *method;
    const char *version;
};

static const char internal_error[] = "internal error\n";

static double mw_l_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

/* The web configuration's headers, on every answer. */
static void add_headers(const struct server *s, struct MHD_Response *r)
{
    for (size_t i = 0; i < s->nheaders; i++)
        MHD_add_response_header(r, s->headers[i].name, s->headers[i].value);
}

static enum MHD_Result queue_text(const struct server *s, struct MHD_Connection *conn,
                                  unsigned status, const char *text, const char *name,
                                  const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), mw_l_unconst(text), MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ok;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (name)
        MHD_add_response_header(r, name, value);
    add_headers(s, r);
    ok = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result queue_static(const struct server *s, struct MHD_Connection *conn,
                                    unsigned status, const char *text)
{
    return queue_text(s, conn, status, text, NULL, NULL);
}

static enum MHD_Result respond(const struct server *s, struct call *c, struct request *rq)
{
    lua_State *L = c->L;
    int top = lua_gettop(L);
    struct MHD_Response *r;
    const char *body;
    size_t len;
    unsigned status;
    enum MHD_Result ok = MHD_YES;

    if (!lua_checkstack(L, 8))
        return queue_static(s, rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    /* None of these allocate, so nothing here can raise outside the pcall. */
    lua_pushcfunction(L, call_handler);
    lua_pushvalue(L, c->handler);
    lua_pushlightuserdata(L, rq);
    if (lua_pcall(L, 2, 3, 0) != LUA_OK) {
        if (c->err == 0)
            c->err = lua_gettop(L); /* keep the first error on the stack */
        else
            lua_settop(L, top);
        return queue_static(s, rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    c->handled++;
    status = (unsigned)lua_tointeger(L, top + 1);
    body = lua_tolstring(L, top + 2, &len);
    r = MHD_create_response_from_buffer(len, mw_l_unconst(body), MHD_RESPMEM_MUST_COPY);
    if (!r) {
        lua_settop(L, top);
        return queue_static(s, rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    lua_pushnil(L);
    while (lua_next(L, top + 3)) {
        /* MHD refuses names and values with CR or LF. */
        if (MHD_add_response_header(r, lua_tostring(L, -2), lua_tostring(L, -1)) != MHD_YES)
            ok = MHD_NO;
        lua_pop(L, 1);
    }
    lua_settop(L, top);
    add_headers(s, r);
    if (ok != MHD_YES) {
        MHD_destroy_response(r);
        return queue_static(s, rq->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, internal_error);
    }
    ok = MHD_queue_response(rq->conn, status, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- access ------------------------------------------------------------------------ */

static void client_address(struct MHD_Connection *conn, char *buf, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    buf[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)len);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)len);
}

#ifdef MW_HAVE_GNUTLS
/* Whether one of the certificate's subject alternative names (DNS, e-mail,
 * URI or IP address) is exactly one of client_allowed_sans. */
static int san_allowed(const struct tls *t, gnutls_x509_crt_t crt)
{
    for (unsigned seq = 0;; seq++) {
        char name[512], text[INET6_ADDRSTRLEN];
        size_t size = sizeof name - 1;
        const char *have = name;
        int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, name, &size, NULL);
        if (type < 0)
            return 0; /* no more names (or one too long to be in the list) */
        if (type == GNUTLS_SAN_IPADDRESS) {
            if (!inet_ntop(size == 4 ? AF_INET : AF_INET6, name, text, sizeof text))
                continue;
            have = text;
        } else if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_RFC822NAME ||
                   type == GNUTLS_SAN_URI) {
            name[size] = '\0';
            if (strlen(name) != size)
                continue; /* a NUL inside: never equal to a configured name */
        } else {
            continue;
        }
        for (size_t i = 0; i < t->nsans; i++) {
            if (strcmp(have, t->sans[i]) == 0)
                return 1;
        }
    }
}

/*
 * The client certificate, verified against client_ca for TLS client use
 * (MHD asks for it when it has a trust list, but does not check it).
 */
static int client_cert_ok(const struct server *s, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session;
    const gnutls_datum_t *chain;
    unsigned n = 0, status = 0;
    gnutls_typed_vdata_st purpose;
    gnutls_x509_crt_t crt;
    int ok;

    if (!ci)
        return 0;
    session = (gnutls_session_t)ci->tls_session;
    chain = gnutls_certificate_get_peers(session, &n);
    if (!chain || n == 0)
        return s->tls->client_auth == 1; /* VerifyClientCertIfGiven: none given */
    memset(&purpose, 0, sizeof purpose);
    purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
    purpose.data = mw_l_unconst(GNUTLS_KP_TLS_WWW_CLIENT);
    if (gnutls_certificate_verify_peers(session, &purpose, 1, &status) < 0 || status != 0)
        return 0;
    if (s->tls->nsans == 0)
        return 1;
    if (gnutls_x509_crt_init(&crt) < 0)
        return 0;
    ok = gnutls_x509_crt_import(crt, &chain[0], GNUTLS_X509_FMT_DER) >= 0 &&
         san_allowed(s->tls, crt);
    gnutls_x509_crt_deinit(crt);
    return ok;
}
#else
/* Without GnuTLS no TLS configuration is accepted (check_tls refuses it),
 * so no connection ever asks for a client certificate. */
static int client_cert_ok(const struct server *s, struct MHD_Connection *conn)
{
    (void)s, (void)conn;
    return 0;
}
#endif

static const struct user *find_user(const struct server *s, const char *name)
{
    for (size_t i = 0; i < s->nusers; i++) {
        if (strcmp(s->users[i].name, name) == 0)
            return &s->users[i];
    }
    return NULL;
}

static enum MHD_Result unauthorized(struct server *s, struct MHD_Connection *conn)
{
    return queue_text(s, conn, MHD_HTTP_UNAUTHORIZED, "unauthorized\n",
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"memwatch\"");
}

/*
 * The checks a new request goes through before the handler: rate_limit,
 * the client certificate, basic auth. Returns P_ALLOWED, P_ANSWERED (a
 * refusal is queued) or P_AUTH_WAIT (suspended for the password check).
 */
static enum phase admit(struct server *s, struct req_state *st, struct MHD_Connection *conn)
{
    char *user, *password = NULL, addr[INET6_ADDRSTRLEN];
    const struct user *u;
    struct mw_bucket *b;
    double now;
    int rc;

    if (s->rate_interval > 0 &&
        !mw_bucket_take(&s->rate, mw_l_monotonic(), 1.0 / s->rate_interval, s->rate_burst)) {
        s->stats.rate_limited++;
        queue_text(s, conn, MHD_HTTP_TOO_MANY_REQUESTS, "too many requests\n", "Retry-After", "1");
        return P_ANSWERED;
    }
    if (s->tls && s->tls->client_auth && !client_cert_ok(s, conn)) {
        s->stats.cert_refused++;
        queue_text(s, conn, MHD_HTTP_FORBIDDEN, "a valid client certificate is required\n",
                   MHD_HTTP_HEADER_CONNECTION, "close");
        return P_ANSWERED;
    }
    if (s->nusers == 0)
        return P_ALLOWED;
    user = MHD_basic_auth_get_username_password(conn, &password);
    if (!user || !password) {
        MHD_free(user);
        MHD_free(password);
        unauthorized(s, conn);
        return P_ANSWERED;
    }
    u = find_user(s, user);
    if (u && s->auth && mw_auth_cached(s->auth, user, password, u->hash)) {
        rc = 1;
    } else {
        /* Uncached: a bcrypt check, paid for from the address's bucket of failures. */
        now = mw_l_monotonic();
        client_address(conn, addr, sizeof addr);
        b = mw_addr_bucket(s->fails, addr, now, FAIL_BURST);
        if (!mw_bucket_has(b, now, FAIL_RATE, FAIL_BURST))
            rc = -EBUSY;
        else if (!s->auth && mw_auth_start(&s->auth) < 0)
            rc = -EAGAIN;
        else
            rc = mw_auth_submit(s->auth, user, password, u ? u->hash : NULL, st);
        if (rc == 0)
            MHD_suspend_connection(conn);
    }
    mw_auth_wipe(password, strlen(password));
    MHD_free(user);
    MHD_free(password);
    if (rc == 1)
        return P_ALLOWED;
    if (rc == 0)
        return P_AUTH_WAIT;
    s->stats.auth_throttled++;
    if (rc == -EBUSY)
        queue_text(s, conn, MHD_HTTP_TOO_MANY_REQUESTS, "too many failed logins\n", "Retry-After",
                   "2");
    else
        queue_text(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many logins in progress\n",
                   "Retry-After", "1");
    return P_ANSWERED;
}

/* A password check finished: the result goes to its request, which resumes. */
static void auth_results(struct server *s)
{
    void *tag;
    int ok;
    while (s->auth && mw_auth_take(s->auth, &tag, &ok)) {
        struct req_state *st = tag;
        st->auth_ok = ok;
        MHD_resume_connection(st->conn);
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    free(*con_cls);
    *con_cls = NULL;
}

/*
 * MHD's access handler. The first call of a request comes once the headers
 * are in: the access checks run then. A request that announces a body is
 * answered then, so MHD never reads the body for us (it is discarded and the
 * connection closed after the answer); one without a body is answered on the
 * next call, once MHD has the whole request, which keeps the connection open
 * for the next scrape.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct server *s = (struct server *)cls;
    struct req_state *st = *con_cls;
    struct request rq;

    (void)upload_data;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        st->conn = conn;
        *con_cls = st;
    }
    st->calls++;
    if (st->phase == P_ANSWERED) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->phase == P_NEW) {
        st->phase = admit(s, st, conn);
        if (st->phase != P_ALLOWED)
            return MHD_YES;
    } else if (st->phase == P_AUTH_WAIT) { /* resumed: the check is done */
        if (st->auth_ok < 0) {             /* never checked: the server is closing */
            st->phase = P_ANSWERED;
            return queue_static(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
        }
        if (!st->auth_ok) {
            char addr[INET6_ADDRSTRLEN];
            client_address(conn, addr, sizeof addr);
            mw_bucket_take(mw_addr_bucket(s->fails, addr, mw_l_monotonic(), FAIL_BURST),
                           mw_l_monotonic(), FAIL_RATE, FAIL_BURST);
            s->stats.auth_failures++;
            st->phase = P_ANSWERED;
            unauthorized(s, conn);
            return MHD_YES;
        }
        st->phase = P_ALLOWED;
    }
    if (st->calls == 1 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return MHD_YES;
    st->phase = P_ANSWERED;
    if (!s->call) /* closing: requests resumed to be let go */
        return queue_static(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
    rq.conn = conn;
    rq.url = url ? url : "";
    rq.method = method ? method : "";
    rq.version = version ? version : "";
    return respond(s, s->call, &rq);
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

/* ---- TLS material ------------------------------------------------------------------ */

static void free_tls(struct tls *t)
{
    if (!t)
        return;
    if (t->key)
        mw_auth_wipe(t->key, strlen(t->key));
    free(t->cert);
    free(t->key);
    free(t->client_ca);
    free(t->priorities);
    for (size_t i = 0; i < t->nsans; i++)
        free(t->sans[i]);
    free(t->sans);
    free(t);
}

static const char *const client_auth_modes[] = {"none", "verify_if_given", "require_and_verify",
                                                NULL};

/* Checks the tls table's types; raises on misuse, before anything is allocated. */
static void check_tls_table(lua_State *L, int idx)
{
    static const char *const strings[] = {"cert", "key", "client_ca", "priorities"};
    luaL_checktype(L, idx, LUA_TTABLE);
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        int type = lua_getfield(L, idx, strings[i]);
        if (type != LUA_TSTRING && (i < 2 || type != LUA_TNIL))
            luaL_error(L, "http: tls option '%s' must be a string", strings[i]);
        lua_pop(L, 1);
    }
    lua_getfield(L, idx, "client_auth");
    if (!lua_isnil(L, -1) && luaL_checkoption(L, -1, NULL, client_auth_modes) != 0) {
        if (lua_getfield(L, idx, "client_ca") == LUA_TNIL)
            luaL_error(L, "http: tls: client_auth %s needs client_ca", lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "allowed_sans") != LUA_TNIL) {
        luaL_checktype(L, -1, LUA_TTABLE);
        for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
            if (lua_geti(L, -1, i) != LUA_TSTRING)
                luaL_error(L, "http: tls: allowed_sans must be a list of strings");
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

static char *field_dup(lua_State *L, int idx, const char *key)
{
    char *d = NULL;
    if (lua_getfield(L, idx, key) == LUA_TSTRING)
        d = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
    return d;
}

/* The tls table {cert=, key=, client_ca=, client_auth=, priorities=, allowed_sans=}
 * as a struct tls; raises on misuse. */
static struct tls *read_tls(lua_State *L, int idx)
{
    struct tls *t;
    int oom;
    idx = lua_absindex(L, idx);
    check_tls_table(L, idx);
    t = (struct tls *)calloc(1, sizeof *t);
    if (!t) {
        luaL_error(L, "http: out of memory");
        return NULL; /* not reached */
    }
    /* check_tls_table took the option: nothing below raises before the end. */
    lua_getfield(L, idx, "client_auth");
    t->client_auth = lua_isnil(L, -1) ? 0 : luaL_checkoption(L, -1, NULL, client_auth_modes);
    lua_pop(L, 1);
    t->cert = field_dup(L, idx, "cert");
    t->key = field_dup(L, idx, "key");
    t->client_ca = field_dup(L, idx, "client_ca");
    t->priorities = field_dup(L, idx, "priorities");
    oom = !t->cert || !t->key;
    if (lua_getfield(L, idx, "allowed_sans") != LUA_TNIL) {
        lua_Integer n = luaL_len(L, -1);
        t->sans = (char **)calloc((size_t)n + 1, sizeof *t->sans);
        oom |= !t->sans;
        for (lua_Integer i = 1; t->sans && i <= n; i++) {
            lua_geti(L, -1, i);
            t->sans[t->nsans] = strdup(lua_tostring(L, -1));
            oom |= !t->sans[t->nsans];
            if (t->sans[t->nsans])
                t->nsans++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (oom) {
        free_tls(t);
        luaL_error(L, "http: out of memory");
    }
    return t;
}

/*
 * Loads the material with GnuTLS as MHD will, to say what is wrong before
 * anything listens: NULL, or a message with *field naming the culprit.
 */
#ifdef MW_HAVE_GNUTLS
static const char *check_tls(const struct tls *t, const char **field, char *buf, size_t len)
{
    gnutls_certificate_credentials_t cred;
    gnutls_x509_crt_t crts[16];
    unsigned ncrt = 16;
    gnutls_x509_privkey_t pk;
    gnutls_datum_t cert = {(unsigned char *)t->cert, (unsigned)strlen(t->cert)};
    gnutls_datum_t key = {(unsigned char *)t->key, (unsigned)strlen(t->key)};
    int rc;

    *field = "cert";
    rc = gnutls_x509_crt_list_import(crts, &ncrt, &cert, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || ncrt == 0) {
        snprintf(buf, len, "not a PEM certificate (GnuTLS: %s)",
                 rc < 0 ? gnutls_strerror(rc) : "no certificate found");
        return buf;
    }
    for (unsigned i = 0; i < ncrt; i++)
        gnutls_x509_crt_deinit(crts[i]);
    *field = "key";
    if (gnutls_x509_privkey_init(&pk) < 0)
        return "out of memory";
    rc = gnutls_x509_privkey_import2(pk, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_x509_privkey_deinit(pk);
    if (rc < 0) {
        snprintf(buf, len, "not an unencrypted PEM private key (GnuTLS: %s)", gnutls_strerror(rc));
        return buf;
    }
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return "out of memory";
    rc = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (rc >= 0 && t->client_ca) {
        gnutls_datum_t ca = {(unsigned char *)t->client_ca, (unsigned)strlen(t->client_ca)};
        int n = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (n <= 0) {
            gnutls_certificate_free_credentials(cred);
            *field = "client_ca";
            snprintf(buf, len, "not a PEM certificate (GnuTLS: %s)",
                     n < 0 ? gnutls_strerror(n) : "no certificate found");
            return buf;
        }
    }
    gnutls_certificate_free_credentials(cred);
    if (rc < 0)
        return gnutls_strerror(rc); /* the key does not match the certificate */
    if (t->priorities) {
        gnutls_priority_t prio;
        const char *where = NULL;
        *field = "priorities";
        rc = gnutls_priority_init(&prio, t->priorities, &where);
        if (rc < 0) {
            snprintf(buf, len, "%s (at '%s')", gnutls_strerror(rc), where ? where : "");
            return buf;
        }
        gnutls_priority_deinit(prio);
    }
    return NULL;
}
#else
static const char *check_tls(const struct tls *t, const char **field, char *buf, size_t len)
{
    (void)t, (void)buf, (void)len;
    *field = "tls_server_config";
    return "TLS is not built into this memwatch (it was built without GnuTLS)";
}
#endif

/* core.tls_check(tls) -> true | nil, message, field */
static int l_tls_check(lua_State *L)
{
    struct tls *t;
    const char *why, *field = NULL;
    char buf[256];
    lua_settop(L, 1);
    t = read_tls(L, 1);
    why = check_tls(t, &field, buf, sizeof buf);
    if (why) {
        luaL_pushfail(L);
        lua_pushstring(L, why);
        lua_pushstring(L, field);
        free_tls(t);
        return 3;
    }
    free_tls(t);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- the daemon --------------------------------------------------------------------- */

/* Starts MHD on the kept listening socket with the current TLS material. */
static int start_daemon(struct server *s)
{
    struct MHD_OptionItem o[12];
    size_t n = 0;
    unsigned flags = s->flags;

    if (s->listen_fd < 0)
        return -EBADF;
#define OPT(opt, v, p) o[n++] = (struct MHD_OptionItem){(opt), (intptr_t)(v), (p)}
    OPT(MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, s->max_connections, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, s->timeout, NULL);
    OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->memory_limit, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL);
    if (s->tls) {
        flags |= MHD_USE_TLS;
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls->cert);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls->key);
        if (s->tls->client_ca)
            OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, s->tls->client_ca);
        if (s->tls->priorities)
            OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, s->tls->priorities);
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    s->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, o, MHD_OPTION_END);
    if (!s->daemon)
        return -EIO;
    if (s->epoll && !MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD)) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
        return -EIO;
    }
    return 0;
}

/*
 * Stops the daemon. MHD must not be stopped with a connection suspended:
 * the password checks are stopped first, their requests resumed and let go
 * (503), then MHD stops. quiesce keeps the listening socket for a restart.
 */
static void stop_daemon(struct server *s, int quiesce)
{
    if (!s->daemon)
        return;
    if (s->auth) {
        mw_auth_stop(s->auth);
        auth_results(s);
        MHD_run(s->daemon);
        mw_auth_free(s->auth);
        s->auth = NULL;
    }
    /* Without the socket back, MHD closes it: no restart then (start_daemon fails). */
    if (quiesce && MHD_quiesce_daemon(s->daemon) == MHD_INVALID_SOCKET)
        s->listen_fd = -1;
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
}

/* http_listen(address, port [, {max_connections=, memory_limit=, timeout=, tls=, access=}])
 * access = true: the server may get users (configure), whose requests wait
 * suspended for their password check. */
static int l_http_listen(lua_State *L)
{
    size_t alen;
    const char *addr = luaL_checklstring(L, 1, &alen);
    lua_Integer port = luaL_checkinteger(L, 2);
    lua_Integer maxc, mem, tmo;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char host[INET6_ADDRSTRLEN + 2], buf[256];
    int family, fd, one = 1, e;
    unsigned flags = 0;
    const void *raw;
    struct server *s;
    struct tls *tls = NULL;
    const char *why, *field;

    luaL_argcheck(L, port >= 0 && port <= 65535, 2, "port must be in 0..65535");
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
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

    /* The userdata first (closed), so nothing below leaks when it raises. */
    s = (struct server *)lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->listen_fd = -1;
    luaL_setmetatable(L, SERVER_MT);
    if (!lua_isnil(L, 3) && lua_getfield(L, 3, "tls") != LUA_TNIL) {
        s->tls = tls = read_tls(L, -1);
        why = check_tls(tls, &field, buf, sizeof buf);
        if (why) {
            luaL_pushfail(L);
            lua_pushfstring(L, "tls %s: %s", field, why);
            lua_pushinteger(L, EINVAL);
            return 3;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            luaL_pushfail(L);
            lua_pushliteral(L, "this libmicrohttpd has no TLS support");
            lua_pushinteger(L, ENOTSUP);
            return 3;
        }
    }
    lua_settop(L, 4); /* the server on top, to be returned */
    s->fails = (struct mw_addr_buckets *)calloc(1, sizeof *s->fails);
    if (!s->fails)
        return luaL_error(L, "http: out of memory");

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
    /* Requests wait (suspended) for their password check: only a server
     * made for access checks has MHD's suspend/resume (and its ITC). */
    if (!lua_isnil(L, 3) && lua_getfield(L, 3, "access") != LUA_TNIL && lua_toboolean(L, -1))
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    lua_settop(L, 4);
    s->flags = flags;
    s->max_connections = (unsigned)maxc;
    s->timeout = (unsigned)tmo;
    s->memory_limit = (size_t)mem;
    s->listen_fd = fd;
    if (start_daemon(s) < 0) {
        close(fd);
        s->listen_fd = -1;
        return fail(L, EIO, "cannot start the HTTP server on %s:%d: %s", addr, (int)port);
    }
    return 1;
}

/*
 * server:set_tls(tls) -> true | nil, message
 * New TLS material (a reloaded web configuration): the daemon restarts on
 * the same socket, so new connections get it; open ones are closed. On a
 * failure the old material stays in use.
 */
static int l_set_tls(lua_State *L)
{
    struct server *s = open_server(L, 1, "set_tls");
    struct tls *t, *old = s->tls;
    const char *why, *field;
    char buf[256];

    if (s->call)
        return luaL_error(L, "http: set_tls: not from a handler");
    if (!s->tls)
        return luaL_error(L, "http: set_tls: the server was started without TLS");
    t = read_tls(L, 2);
    why = check_tls(t, &field, buf, sizeof buf);
    if (why) {
        free_tls(t);
        luaL_pushfail(L);
        lua_pushfstring(L, "tls %s: %s", field, why);
        return 2;
    }
    stop_daemon(s, 1);
    s->tls = t;
    if (start_daemon(s) == 0) {
        free_tls(old);
        lua_pushboolean(L, 1);
        return 1;
    }
    s->tls = old;
    free_tls(t);
    if (start_daemon(s) < 0)
        return luaL_error(L, "http: set_tls: cannot restart the HTTP server");
    luaL_pushfail(L);
    lua_pushliteral(L, "libmicrohttpd refused the new TLS settings");
    return 2;
}

static void clear_access(struct server *s)
{
    for (size_t i = 0; i < s->nusers; i++) {
        free(s->users[i].name);
        free(s->users[i].hash);
    }
    free(s->users);
    s->users = NULL;
    s->nusers = 0;
    for (size_t i = 0; i < s->nheaders; i++) {
        free(s->headers[i].name);
        free(s->headers[i].value);
    }
    s->nheaders = 0;
}

/*
 * server:configure{users = {name = bcrypt hash}, headers = {name = value},
 *                  rate_limit = {interval = seconds, burst = n}}
 * Replaces the access settings (each one absent: off). Raises on misuse.
 */
static int l_configure(lua_State *L)
{
    struct server *s = open_server(L, 1, "configure");
    size_t nusers = 0, nheaders = 0;
    double interval = 0, burst = 0;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    if (lua_getfield(L, 2, "users") != LUA_TNIL) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "http: configure: users must map names to hashes");
            if (!mw_webconfig_bcrypt_shape(lua_tostring(L, -1)))
                return luaL_error(L, "http: configure: the hash of '%s' is not bcrypt",
                                  lua_tostring(L, -2));
            nusers++;
            lua_pop(L, 1);
        }
        if (nusers && !mw_auth_available())
            return luaL_error(L, "http: configure: this build cannot check bcrypt passwords");
        if (nusers && !(s->flags & MHD_ALLOW_SUSPEND_RESUME))
            return luaL_error(L,
                              "http: configure: users need a server listening with access = true");
    }
    if (lua_getfield(L, 2, "headers") != LUA_TNIL) {
        luaL_checktype(L, 4, LUA_TTABLE);
        lua_pushnil(L);
        while (lua_next(L, 4)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "http: configure: headers must map strings to strings");
            if (++nheaders > MAX_HEADERS)
                return luaL_error(L, "http: configure: more than %d headers", MAX_HEADERS);
            lua_pop(L, 1);
        }
    }
    if (lua_getfield(L, 2, "rate_limit") != LUA_TNIL) {
        luaL_checktype(L, 5, LUA_TTABLE);
        lua_getfield(L, 5, "interval");
        lua_getfield(L, 5, "burst");
        interval = luaL_checknumber(L, -2);
        burst = luaL_checknumber(L, -1);
        luaL_argcheck(L, interval >= 0 && burst >= 0, 2, "rate_limit must be >= 0");
        lua_pop(L, 2);
    }

    clear_access(s);
    if (nusers) {
        s->users = (struct user *)calloc(nusers, sizeof *s->users);
        if (!s->users)
            return luaL_error(L, "http: out of memory");
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            struct user *u = &s->users[s->nusers];
            u->name = strdup(lua_tostring(L, -2));
            u->hash = strdup(lua_tostring(L, -1));
            s->nusers++;
            lua_pop(L, 1);
            if (!u->name || !u->hash) {
                clear_access(s);
                return luaL_error(L, "http: out of memory");
            }
        }
    }
    if (nheaders) {
        lua_pushnil(L);
        while (lua_next(L, 4)) {
            s->headers[s->nheaders].name = strdup(lua_tostring(L, -2));
            s->headers[s->nheaders].value = strdup(lua_tostring(L, -1));
            s->nheaders++;
            lua_pop(L, 1);
            if (!s->headers[s->nheaders - 1].name || !s->headers[s->nheaders - 1].value) {
                clear_access(s);
                return luaL_error(L, "http: out of memory");
            }
        }
    }
    if (interval != s->rate_interval || burst != s->rate_burst)
        memset(&s->rate, 0, sizeof s->rate);
    s->rate_interval = interval;
    s->rate_burst = burst;
    return 0;
}

/* server:stats() -> {auth_failures=, auth_throttled=, rate_limited=, cert_refused=} */
static int l_stats(lua_State *L)
{
    struct server *s = check_server(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, s->stats.auth_failures);
    lua_setfield(L, -2, "auth_failures");
    lua_pushinteger(L, s->stats.auth_throttled);
    lua_setfield(L, -2, "auth_throttled");
    lua_pushinteger(L, s->stats.rate_limited);
    lua_setfield(L, -2, "rate_limited");
    lua_pushinteger(L, s->stats.cert_refused);
    lua_setfield(L, -2, "cert_refused");
    return 1;
}

static int l_tls(lua_State *L)
{
    lua_pushboolean(L, open_server(L, 1, "tls")->tls != NULL);
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
        for (int fd = 0; fd <= (int)max && fd < FD_SETSIZE - 1; fd++) {
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
    if (s->auth) { /* a password check done */
        pfds[n].fd = mw_auth_fd(s->auth);
        pfds[n].events = POLLIN;
        pfds[n++].revents = 0;
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
    auth_results(s);
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
    stop_daemon(s, 0); /* closes the listening socket too */
    s->listen_fd = -1;
    clear_access(s);
    free_tls(s->tls);
    s->tls = NULL;
    free(s->fails);
    s->fails = NULL;
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
    {"serve", l_serve},
    {"port", l_port},
    {"address", l_address},
    {"loopback", l_loopback},
    {"close", l_close},
    {"set_tls", l_set_tls},
    {"configure", l_configure},
    {"stats", l_stats},
    {"tls", l_tls},
    {NULL, NULL},
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
    lua_pushcfunction(L, l_tls_check);
    lua_setfield(L, -2, "tls_check");
    lua_pushboolean(L, mw_auth_available());
    lua_setfield(L, -2, "bcrypt");
}
