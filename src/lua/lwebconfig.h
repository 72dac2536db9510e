/* core.web_config: the exporter-toolkit web configuration parsed (http/webconfig.c). */
#ifndef MEMWATCH_LUA_LWEBCONFIG_H
#define MEMWATCH_LUA_LWEBCONFIG_H

#include <lua.h>

/* Adds web_config to the memwatch.core table on top of the stack. */
void mw_lua_register_webconfig(lua_State *L);

#endif
