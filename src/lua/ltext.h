/* memwatch.core's text functions: the C escaper and UTF-8 cleaner for Lua. */
#ifndef MEMWATCH_LUA_LTEXT_H
#define MEMWATCH_LUA_LTEXT_H

#include <lua.h>

/* Adds printable and utf8_clean to the memwatch.core table on top of the stack. */
void mw_lua_register_text(lua_State *L);

#endif
