/* Helpers shared by the memwatch.core binding files; see laux.h. */
#include "lua/laux.h"

#include "memwatch/memwatch.h"

#include <lauxlib.h>

int mw_l_fail(lua_State *L, int code, const char *what)
{
    luaL_pushfail(L);
    if (what)
        lua_pushfstring(L, "%s: %s", what, mw_strerror(code));
    else
        lua_pushstring(L, mw_strerror(code));
    lua_pushinteger(L, code < 0 && code > -4096 ? -code : 0);
    return 3;
}

void *mw_l_unconst(const void *p)
{
    union {
        const void *c;
        void *m;
    } u;
    u.c = p;
    return u.m;
}
