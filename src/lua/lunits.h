/* Units and clocks in memwatch.core: bytes, parse_bytes, parse_duration,
 * now, time. */
#ifndef MEMWATCH_LUA_LUNITS_H
#define MEMWATCH_LUA_LUNITS_H

#include <lua.h>

/* Adds the unit and clock functions to the memwatch.core table on top of the stack. */
void mw_lua_register_units(lua_State *L);

#endif
