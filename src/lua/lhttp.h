/* A small HTTP server for memwatch serve, on libmicrohttpd, run from the Lua
 * thread (external event loop: no MHD threads ever call into Lua). */
#ifndef MEMWATCH_LUA_LHTTP_H
#define MEMWATCH_LUA_LHTTP_H

#include <lua.h>

/* Adds http_listen to the memwatch.core table on top of the stack. */
void mw_lua_register_http(lua_State *L);

#endif
