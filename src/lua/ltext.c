/*
 * core.printable(v) and core.utf8_clean(s): memwatch.text's escaping and
 * cleaning, done by the same C code (core/text.c) as the executable's error
 * reports and the JSON writer, so the rules live in one place.
 */
#include "lua/ltext.h"

#include "memwatch/text.h"

#include <lauxlib.h>

static void buffer_sink(void *ud, const char *p, size_t n)
{
    luaL_addlstring((luaL_Buffer *)ud, p, n);
}

/*
 * core.printable(v) -> string | nil
 * nil stays nil; anything else goes through tostring first. Control
 * characters, C1 controls and invalid UTF-8 become visible escapes
 * (memwatch/text.h); newline, tab, CR and backslash become \n, \t, \r, \\.
 */
static int l_printable(lua_State *L)
{
    luaL_Buffer b;
    size_t n;
    const char *s;

    if (lua_isnoneornil(L, 1)) {
        lua_pushnil(L);
        return 1;
    }
    s = luaL_tolstring(L, 1, &n);
    if (mw_text_is_printable(s, n, 0))
        return 1;
    luaL_buffinit(L, &b);
    mw_text_printable(s, n, 0, buffer_sink, &b);
    luaL_pushresult(&b);
    return 1;
}

/*
 * core.utf8_clean(s) -> s with every byte that starts no valid UTF-8
 * sequence replaced by U+FFFD. A valid string (or a number) comes back as
 * it was given.
 */
static int l_utf8_clean(lua_State *L)
{
    luaL_Buffer b;
    size_t n;
    const char *s;

    if (lua_type(L, 1) == LUA_TNUMBER) { /* its digits are ASCII */
        lua_settop(L, 1);
        return 1;
    }
    s = luaL_checklstring(L, 1, &n);
    if (mw_utf8_valid_prefix(s, n) == n) {
        lua_settop(L, 1);
        return 1;
    }
    luaL_buffinit(L, &b);
    mw_utf8_clean(s, n, buffer_sink, &b);
    luaL_pushresult(&b);
    return 1;
}

static const luaL_Reg text_funcs[] = {
    {"printable", l_printable},
    {"utf8_clean", l_utf8_clean},
    {NULL, NULL},
};

void mw_lua_register_text(lua_State *L)
{
    luaL_setfuncs(L, text_funcs, 0);
}
