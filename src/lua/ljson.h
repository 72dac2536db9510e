/* JSON for memwatch, through the jansson library: exact 64-bit integers,
 * valid UTF-8 whatever bytes a process name holds. */
#ifndef MEMWATCH_LUA_LJSON_H
#define MEMWATCH_LUA_LJSON_H

#include <lua.h>

/* Adds json_encode and json_decode to the table on top of the stack. */
void mw_lua_register_json(lua_State *L);

#endif
