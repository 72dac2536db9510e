/* The memwatch.core Lua module: thin bindings over the sampler core. */
#ifndef MEMWATCH_LUA_LMEMWATCH_H
#define MEMWATCH_LUA_LMEMWATCH_H

#include <lua.h>

/* Opens memwatch.core: pushes its table. */
int luaopen_memwatch_core(lua_State *L);

#endif
