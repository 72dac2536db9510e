/*
 * memwatch.core's delivery functions in a build without alert delivery
 * (-DMEMWATCH_WITH_DELIVERY=OFF: no libcurl for the target, as in the macOS
 * cross-build). Making a destination fails with a message saying so; with no
 * destination there is never an engine, so the wait hooks have nothing to
 * do. URL redaction and the host name work as in the full build.
 */
#include "lua/ldelivery.h"

#include "delivery/delivery.h"
#include "lua/laux.h"
#include "memwatch/memwatch.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#define REPORTER_KEY "memwatch.delivery.reporter"

/* core.delivery_destination(cfg) -> nil, message, errno: not built in. */
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

static int l_reporter(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, REPORTER_KEY);
    return 0;
}

static int l_redact_url(lua_State *L)
{
    size_t len;
    const char *url = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *buf = luaL_buffinitsize(L, &b, len + 1);

    mw_delivery_redact_url(url, buf, len + 1);
    luaL_pushresultsize(&b, strlen(buf));
    return 1;
}

static int l_hostname(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0)
        return mw_l_fail(L, -errno, "gethostname");
    name[sizeof name - 1] = '\0';
    lua_pushstring(L, name);
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
    luaL_setfuncs(L, delivery_funcs, 0);
}
