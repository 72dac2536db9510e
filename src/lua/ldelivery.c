/*
 * Alert delivery in memwatch.core: see ldelivery.h. The engine lives in a
 * userdata kept in the registry; each destination's userdata holds the
 * engine as its user value, so the engine outlives every destination.
 *
 * The engine reports from inside its calls, where no Lua may run (the
 * callback must not raise through libcurl): reports are kept in the box and
 * handed to the Lua reporter after the call returns.
 *
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment returns nil, message, errno.
 *
 * Built without libcurl (-DMEMWATCH_WITH_DELIVERY=OFF, the macOS
 * cross-build), making a destination returns nil and says delivery is not
 * built in; redaction and the host name work as always.
 */
#include "lua/ldelivery.h"

#include "delivery/delivery.h"
#include "lua/laux.h"
#include "lua/lsignal.h"
#include "memwatch/alloc.h"
#include "memwatch/memwatch.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#define REPORTER_KEY "memwatch.delivery.reporter"

#ifdef MW_HAVE_DELIVERY
#define ENGINE_MT       "memwatch.delivery.engine"
#define DEST_MT         "memwatch.destination"
#define ENGINE_KEY      "memwatch.delivery.instance"
#define PENDING_REPORTS 16
#define HEADERS_MAX     32
#define FLUSH_FDS       64

/* A report waiting for the Lua reporter. */
struct report {
    int severity;
    char message[768];
};

struct engine_box {
    mw_delivery *d;           /* NULL once closed */
    mw_dest **dests;          /* every destination, for the exit's count */
    size_t ndests, dests_cap; /* of dests */
    struct report pending[PENDING_REPORTS];
    size_t npending;               /* reports waiting */
    unsigned long long unreported; /* reports that found no room */
    int finished;                  /* the exit's flush is done */
};

struct dest_box {
    mw_dest *dest;
};

static void on_report(void *ud, const mw_dest *dest, int severity, const char *message)
{
    struct engine_box *box = ud;
    struct report *r;

    (void)dest;
    if (box->npending == PENDING_REPORTS) {
        box->unreported++;
        return;
    }
    r = &box->pending[box->npending++];
    r->severity = severity;
    snprintf(r->message, sizeof r->message, "%s", message);
}

/* Without a reporter (or when it fails, or at close): stderr as it is. */
static void report_plain(int severity, const char *message)
{
    (void)severity;
    fprintf(stderr, "memwatch: %s\n", message);
    fflush(stderr);
}

/*
 * Hands the waiting reports to the reporter function in the registry,
 * reporter(severity, message), each in its own protected call; with lua
 * false (a finaliser, where no Lua should run) to stderr directly.
 */
static void drain(lua_State *L, struct engine_box *box, int lua)
{
    struct report batch[PENDING_REPORTS];
    size_t n = box->npending;
    unsigned long long lost = box->unreported;

    if (n == 0 && lost == 0)
        return;
    memcpy(batch, box->pending, n * sizeof batch[0]);
    box->npending = 0;
    box->unreported = 0;
    if (lost) {
        struct report *r = &batch[n < PENDING_REPORTS ? n++ : PENDING_REPORTS - 1];
        r->severity = MW_DELIVERY_WARNING;
        snprintf(r->message, sizeof r->message,
                 "delivery: %llu more reports came at once and were not shown", lost);
    }
    for (size_t i = 0; i < n; i++) {
        int done = 0;
        if (lua && lua_getfield(L, LUA_REGISTRYINDEX, REPORTER_KEY) == LUA_TFUNCTION) {
            lua_pushinteger(L, batch[i].severity);
            lua_pushstring(L, batch[i].message);
            done = lua_pcall(L, 2, 0, 0) == LUA_OK;
            if (!done)
                lua_pop(L, 1); /* the reporter's error: the line goes out plainly */
        } else if (lua) {
            lua_pop(L, 1);
        }
        if (!done)
            report_plain(batch[i].severity, batch[i].message);
    }
}

/* The engine of L, or NULL when none was made. */
static struct engine_box *engine_of(lua_State *L)
{
    struct engine_box *box = NULL;
    if (lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_KEY) == LUA_TUSERDATA)
        box = luaL_testudata(L, -1, ENGINE_MT);
    lua_pop(L, 1);
    return box && box->d ? box : NULL;
}

static int unsent(const struct engine_box *box)
{
    size_t n = 0;
    for (size_t i = 0; i < box->ndests; i++) {
        mw_dest_stats st;
        if (mw_delivery_stats(box->dests[i], &st) == 0)
            n += st.queued + st.in_flight;
    }
    return n > INT_MAX ? INT_MAX : (int)n;
}

/*
 * Lets deliveries progress until nothing is queued or in flight, or until
 * deadline, in the one wait (lsignal.h) over the engine's descriptors: so
 * Ctrl-C ends it as it ends every other wait. No Lua runs (it may be called
 * while the state closes). 0, -ETIMEDOUT, or -EINTR when interrupted.
 */
static int flush_in_wait(struct engine_box *box, double deadline)
{
    struct pollfd fds[FLUSH_FDS];
    mw_l_wait w;
    int rc;

    mw_l_wait_begin(&w);
    for (;;) {
        double now = mw_now(), wait = deadline - now, t;
        size_t n = 0;

        (void)mw_delivery_perform(box->d, now);
        if (unsent(box) == 0) {
            rc = 0;
            break;
        }
        if (wait <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        if (mw_delivery_pollfds(box->d, fds, FLUSH_FDS, &n) == -ENOBUFS) {
            n = FLUSH_FDS; /* the rest are looked at by perform's own poll, soon */
            if (wait > 0.05)
                wait = 0.05;
        }
        if (mw_delivery_timeout(box->d, now, &t) == 0 && t >= 0 && t < wait)
            wait = t;
        rc = mw_l_wait_fds(&w, fds, n, wait, 0);
        if (rc == -EINTR && mw_lua_interrupted)
            break; /* Ctrl-C: stop waiting; the caller says what is left */
    }
    mw_l_wait_end(&w);
    return rc;
}

/* Flush until deadline (or Ctrl-C); say what is left. */
static void finish(lua_State *L, struct engine_box *box, double seconds, int lua)
{
    int rc, left;

    if (box->finished)
        return;
    box->finished = 1;
    rc = flush_in_wait(box, mw_now() + seconds);
    drain(L, box, lua);
    left = rc < 0 ? unsent(box) : 0;
    if (left > 0) {
        char line[128], how[32];
        if (rc == -EINTR)
            snprintf(how, sizeof how, "interrupted");
        else
            snprintf(how, sizeof how, "waited %gs", seconds);
        snprintf(line, sizeof line, "delivery: %d %s not sent at exit (%s)", left,
                 left == 1 ? "delivery was" : "deliveries were", how);
        on_report(box, NULL, MW_DELIVERY_ERROR, line);
        drain(L, box, lua);
    }
}

static int engine_gc(lua_State *L)
{
    struct engine_box *box = luaL_checkudata(L, 1, ENGINE_MT);
    if (box->d) {
        finish(L, box, MW_L_DELIVERY_EXIT_SECONDS, 0);
        mw_delivery_close(box->d);
        box->d = NULL;
    }
    mw_free(box->dests);
    box->dests = NULL;
    box->ndests = box->dests_cap = 0;
    return 0;
}

/* The engine of L, made on first use (pushed), or nil, message, errno. */
static struct engine_box *engine_get(lua_State *L, int *nret)
{
    struct engine_box *box;
    mw_delivery_cfg cfg;
    int rc;

    *nret = 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_KEY) == LUA_TUSERDATA) {
        box = luaL_checkudata(L, -1, ENGINE_MT);
        if (box->d)
            return box;
        return (*nret = mw_l_fail(L, MW_ENOTSUP, "delivery: the engine is closed")), NULL;
    }
    lua_pop(L, 1);
    box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box); /* closed first, so __gc is always safe */
    luaL_setmetatable(L, ENGINE_MT);
    cfg.report = on_report;
    cfg.report_ud = box;
    rc = mw_delivery_open(&cfg, &box->d);
    if (rc < 0) {
        box->d = NULL;
        lua_pop(L, 1);
        *nret = mw_l_fail(L, rc, "delivery: cannot start libcurl");
        return NULL;
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINE_KEY);
    return box;
}

/* Reads an optional number field of the table at index 1. */
static double opt_number(lua_State *L, const char *field, double def)
{
    double v = def;
    if (lua_getfield(L, 1, field) != LUA_TNIL) {
        if (!lua_isnumber(L, -1))
            luaL_error(L, "delivery_destination: '%s' must be a number", field);
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static const char *opt_string(lua_State *L, const char *field)
{
    const char *s = NULL;
    int t = lua_getfield(L, 1, field);
    if (t != LUA_TNIL) {
        if (t != LUA_TSTRING)
            luaL_error(L, "delivery_destination: '%s' must be a string", field);
        s = lua_tostring(L, -1);
    }
    lua_pop(L, 1); /* the table keeps the string alive */
    return s;
}

/*
 * core.delivery_destination{url =, name =, method =, headers = {"Name: value", ...},
 *   timeout =, retries =, queue =, backoff =, backoff_max =, insecure =}
 * -> destination | nil, message, errno (libcurl cannot start).
 * Raises for a bad URL, header or value (with the URL redacted).
 */
static int l_destination(lua_State *L)
{
    const char *headers[HEADERS_MAX + 1];
    struct engine_box *box;
    struct dest_box *db;
    mw_dest_cfg cfg;
    mw_dest **grown;
    int nret, rc;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    mw_dest_cfg_init(&cfg);
    cfg.url = opt_string(L, "url");
    if (!cfg.url)
        return luaL_error(L, "delivery_destination: 'url' is required");
    cfg.name = opt_string(L, "name");
    cfg.method = opt_string(L, "method");
    cfg.timeout = opt_number(L, "timeout", cfg.timeout);
    cfg.retries = (int)opt_number(L, "retries", cfg.retries);
    cfg.queue = (int)opt_number(L, "queue", cfg.queue);
    cfg.backoff = opt_number(L, "backoff", cfg.backoff);
    cfg.backoff_max = opt_number(L, "backoff_max", cfg.backoff_max);
    lua_getfield(L, 1, "insecure");
    cfg.insecure = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (lua_getfield(L, 1, "headers") == LUA_TTABLE) { /* stays on the stack: index 2 */
        lua_Integer n = luaL_len(L, 2);
        if (n > HEADERS_MAX)
            return luaL_error(L, "delivery_destination: more than %d headers", HEADERS_MAX);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, 2, i) != LUA_TSTRING)
                return luaL_error(L, "delivery_destination: header %d must be a string", (int)i);
            headers[i - 1] = lua_tostring(L, -1);
            lua_pop(L, 1);
        }
        headers[n] = NULL;
        cfg.headers = headers;
    }

    box = engine_get(L, &nret); /* pushed */
    if (!box)
        return nret;
    grown = mw_grow(box->dests, &box->dests_cap, box->ndests + 1, sizeof(mw_dest *), 8);
    if (!grown)
        return mw_l_fail(L, -ENOMEM, "delivery");
    box->dests = grown;
    db = lua_newuserdatauv(L, sizeof *db, 1);
    db->dest = NULL;
    luaL_setmetatable(L, DEST_MT);
    rc = mw_delivery_add(box->d, &cfg, &db->dest);
    if (rc == MW_EINVAL) {
        char shown[512];
        mw_delivery_redact_url(cfg.url, shown, sizeof shown);
        return luaL_error(
            L,
            "delivery_destination: invalid destination %s (the URL must be "
            "http:// or https://, headers 'Name: value' on one line, values in range)",
            shown);
    }
    if (rc < 0)
        return mw_l_fail(L, rc, "delivery");
    box->dests[box->ndests++] = db->dest;
    lua_pushvalue(L, -2); /* the engine, kept alive by the destination */
    lua_setiuservalue(L, -2, 1);
    return 1;
}

static struct dest_box *check_dest(lua_State *L)
{
    struct dest_box *db = luaL_checkudata(L, 1, DEST_MT);
    if (!db->dest || !engine_of(L))
        luaL_error(L, "destination: the delivery engine is closed");
    return db;
}

/* dest:post(key, body [, content_type [, headers]]) -> true | nil, message, errno
 * headers: {"Name: value", ...} for this delivery only. */
static int l_post(lua_State *L)
{
    struct dest_box *db = check_dest(L);
    const char *key = luaL_optstring(L, 2, NULL);
    size_t len;
    const char *body = luaL_checklstring(L, 3, &len);
    const char *type = luaL_optstring(L, 4, NULL);
    const char *headers[HEADERS_MAX + 1];
    struct engine_box *box = engine_of(L);
    lua_Integer n = 0;
    int rc;

    if (type && strpbrk(type, "\r\n"))
        return luaL_argerror(L, 4, "a content type must be one line");
    if (!lua_isnoneornil(L, 5)) {
        luaL_checktype(L, 5, LUA_TTABLE);
        n = luaL_len(L, 5);
        luaL_argcheck(L, n <= HEADERS_MAX, 5, "too many headers");
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, 5, i) != LUA_TSTRING)
                return luaL_argerror(L, 5, "headers must be strings");
            headers[i - 1] = lua_tostring(L, -1);
            lua_pop(L, 1); /* the table keeps it */
        }
    }
    headers[n] = NULL;
    rc = mw_delivery_post_headers(box->d, db->dest, key, body, len, type, headers);
    drain(L, box, 1);
    if (rc == MW_EINVAL)
        return luaL_argerror(L, 5, "a header must be 'Name: value' on one line");
    if (rc < 0)
        return mw_l_fail(L, rc, "delivery");
    lua_pushboolean(L, 1);
    return 1;
}

static void set_count(lua_State *L, const char *field, uint64_t v)
{
    lua_pushinteger(L, v > (uint64_t)LUA_MAXINTEGER ? LUA_MAXINTEGER : (lua_Integer)v);
    lua_setfield(L, -2, field);
}

/* dest:stats() -> {sent, failed, dropped, retried, replaced, queued, in_flight,
 *   last_success (Unix time) | nil, last_error | nil} */
static int l_stats(lua_State *L)
{
    struct dest_box *db = check_dest(L);
    mw_dest_stats st;
    int rc = mw_delivery_stats(db->dest, &st);

    if (rc < 0)
        return mw_l_fail(L, rc, "delivery");
    lua_createtable(L, 0, 9);
    set_count(L, "sent", st.sent);
    set_count(L, "failed", st.failed);
    set_count(L, "dropped", st.dropped);
    set_count(L, "retried", st.retried);
    set_count(L, "replaced", st.replaced);
    set_count(L, "queued", st.queued);
    set_count(L, "in_flight", st.in_flight);
    if (st.last_success_unix > 0) {
        lua_pushnumber(L, st.last_success_unix);
        lua_setfield(L, -2, "last_success");
    }
    if (st.last_error[0]) {
        lua_pushstring(L, st.last_error);
        lua_setfield(L, -2, "last_error");
    }
    return 1;
}

static int l_url(lua_State *L)
{
    lua_pushstring(L, mw_dest_url(check_dest(L)->dest));
    return 1;
}

static int l_name(lua_State *L)
{
    lua_pushstring(L, mw_dest_name(check_dest(L)->dest));
    return 1;
}

static int l_dest_tostring(lua_State *L)
{
    struct dest_box *db = luaL_checkudata(L, 1, DEST_MT);
    if (db->dest && engine_of(L))
        lua_pushfstring(L, "destination (%s %s)", mw_dest_name(db->dest), mw_dest_url(db->dest));
    else
        lua_pushliteral(L, "destination (closed)");
    return 1;
}

/* core.delivery_perform(): progress now, without blocking. */
static int l_perform(lua_State *L)
{
    mw_l_delivery_progress(L);
    return 0;
}

/* core.delivery_flush(seconds) -> true when nothing is left, false when the
 * time ran out with deliveries queued or in flight. */
static int l_flush(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct engine_box *box = engine_of(L);
    int rc = 0;

    luaL_argcheck(L, isfinite(s) && s >= 0, 1, "duration must be >= 0");
    if (box) {
        rc = flush_in_wait(box, mw_now() + s);
        drain(L, box, 1);
    }
    /* Ctrl-C raises "interrupted!", as in sleep. */
    mw_l_check_interrupt(L);
    lua_pushboolean(L, rc == 0);
    return 1;
}

void mw_l_delivery_wait_fds(lua_State *L, struct pollfd *fds, size_t cap, size_t *n,
                            double *seconds)
{
    struct engine_box *box = engine_of(L);
    size_t got = 0;
    double t;

    if (!box || *n > cap)
        return;
    if (mw_delivery_pollfds(box->d, fds + *n, cap - *n, &got) == -ENOBUFS) {
        got = cap - *n; /* the rest are looked at by perform's own poll, soon */
        if (*seconds > 0.05)
            *seconds = 0.05;
    }
    *n += got;
    if (mw_delivery_timeout(box->d, mw_now(), &t) == 0 && t >= 0 && t < *seconds)
        *seconds = t;
}

void mw_l_delivery_progress(lua_State *L)
{
    struct engine_box *box = engine_of(L);
    if (!box)
        return;
    mw_delivery_perform(box->d, mw_now());
    drain(L, box, 1);
}

void mw_l_delivery_finish(lua_State *L, double seconds)
{
    struct engine_box *box = engine_of(L);
    if (box)
        finish(L, box, seconds, 1);
}

static const luaL_Reg dest_methods[] = {
    {"name", l_name}, {"post", l_post}, {"stats", l_stats}, {"url", l_url}, {NULL, NULL},
};

#else /* built without libcurl (-DMEMWATCH_WITH_DELIVERY=OFF) */

/* core.delivery_destination(cfg) -> nil, message, errno: not built in. With
 * no destination there is never an engine, so the hooks below have nothing
 * to do. */
static int l_destination(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_pushnil(L);
    lua_pushliteral(L, "alert delivery is not built in (memwatch was built without libcurl)");
    lua_pushinteger(L, ENOTSUP);
    return 3;
}

static int l_perform(lua_State *L)
{
    (void)L;
    return 0;
}

/* Nothing can be queued, so nothing is ever left. */
static int l_flush(lua_State *L)
{
    luaL_checknumber(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}

void mw_l_delivery_wait_fds(lua_State *L, struct pollfd *fds, size_t cap, size_t *n,
                            double *seconds)
{
    (void)L, (void)fds, (void)cap, (void)n, (void)seconds;
}

void mw_l_delivery_progress(lua_State *L)
{
    (void)L;
}

void mw_l_delivery_finish(lua_State *L, double seconds)
{
    (void)L, (void)seconds;
}
#endif

/* core.delivery_reporter(fn | nil): fn(severity, message) gets every report
 * (severity 3 error, 4 warning, 5 notice; the URL already redacted). */
static int l_reporter(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REPORTER_KEY);
    return 0;
}

/* core.redact_url(url) -> the URL with its credentials and tokens as "***" */
static int l_redact_url(lua_State *L)
{
    size_t len;
    const char *url = luaL_checklstring(L, 1, &len);
    char *buf;
    luaL_Buffer b;

    buf = luaL_buffinitsize(L, &b, len + 1);
    mw_delivery_redact_url(url, buf, len + 1); /* never longer: secrets become "***" */
    luaL_pushresultsize(&b, strlen(buf));
    return 1;
}

/* core.hostname() -> this host's name (the default instance label of alerts) */
static int l_hostname(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0)
        return mw_l_fail(L, -errno, "gethostname");
    name[sizeof name - 1] = '\0';
    lua_pushstring(L, name);
    return 1;
}

static const luaL_Reg delivery_funcs[] = {
    {"delivery_destination", l_destination},
    {"delivery_flush", l_flush},
    {"delivery_perform", l_perform},
    {"delivery_reporter", l_reporter},
    {"hostname", l_hostname},
    {"redact_url", l_redact_url},
    {NULL, NULL},
};

void mw_lua_register_delivery(lua_State *L)
{
#ifdef MW_HAVE_DELIVERY
    if (luaL_newmetatable(L, ENGINE_MT)) {
        lua_pushcfunction(L, engine_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    if (luaL_newmetatable(L, DEST_MT)) {
        luaL_newlib(L, dest_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_dest_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
#endif
    luaL_setfuncs(L, delivery_funcs, 0);
}
