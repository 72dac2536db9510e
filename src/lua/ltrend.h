/* A growth rule's window in memwatch.core: trend_window (memwatch/trend.h). */
#ifndef MEMWATCH_LUA_LTREND_H
#define MEMWATCH_LUA_LTREND_H

#include <lua.h>

/* Adds trend_window to the memwatch.core table on top of the stack. */
void mw_lua_register_trend(lua_State *L);

#endif
