/*
 * Units and clocks in memwatch.core: sizes and durations as people write
 * them (core/units.c), the monotonic clock and the wall clock.
 */
#include "lua/lunits.h"

#include "memwatch/memwatch.h"

#include <math.h>
#include <time.h>

#include <lauxlib.h>

static int l_bytes(lua_State *L)
{
    char buf[32];
    lua_Number n;
    luaL_checktype(L, 1, LUA_TNUMBER);
    if (lua_isinteger(L, 1)) {
        lua_pushstring(L, mw_format_bytes((int64_t)lua_tointeger(L, 1), buf, sizeof buf));
        return 1;
    }
    n = lua_tonumber(L, 1);
    luaL_argcheck(L, isfinite(n) && fabs(n) < 9.2e18, 1, "size out of range");
    lua_pushstring(L, mw_format_bytes((int64_t)llround(n), buf, sizeof buf));
    return 1;
}

static int l_parse_bytes(lua_State *L)
{
    const char *why;
    int64_t v;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, 1);
        luaL_argcheck(L, isfinite(n) && n >= 0 && n < 9.2e18, 1, "size must be >= 0");
        lua_pushinteger(L, (lua_Integer)llround(n));
        return 1;
    }
    if (mw_parse_bytes(luaL_checkstring(L, 1), &v, &why) < 0)
        return luaL_error(L, "invalid size '%s': %s", lua_tostring(L, 1), why);
    lua_pushinteger(L, (lua_Integer)v);
    return 1;
}

static int l_parse_duration(lua_State *L)
{
    const char *why;
    double s;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Number n = lua_tonumber(L, 1);
        luaL_argcheck(L, isfinite(n) && n >= 0, 1, "duration must be >= 0");
        lua_pushnumber(L, n);
        return 1;
    }
    if (mw_parse_duration(luaL_checkstring(L, 1), &s, &why) < 0)
        return luaL_error(L, "invalid duration '%s': %s", lua_tostring(L, 1), why);
    lua_pushnumber(L, s);
    return 1;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, mw_now());
    return 1;
}

static int l_time(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static const luaL_Reg units_funcs[] = {
    {"bytes", l_bytes},
    {"now", l_now},
    {"parse_bytes", l_parse_bytes},
    {"parse_duration", l_parse_duration},
    {"time", l_time},
    {NULL, NULL},
};

void mw_lua_register_units(lua_State *L)
{
    luaL_setfuncs(L, units_funcs, 0);
}
