/* The memwatch.core Lua module: thin bindings over the sampler core. */
#ifndef MEMWATCH_LUA_LMEMWATCH_H
#define MEMWATCH_LUA_LMEMWATCH_H

#include <signal.h>

#include <lua.h>

/* Opens memwatch.core: pushes its table. */
int luaopen_memwatch_core(lua_State *L);

/*
 * Set by the executable's SIGINT handler. memwatch.sleep and the scan loops
 * check it so Ctrl-C interrupts them even while no Lua code runs (a count
 * hook fires only between Lua instructions).
 */
extern volatile sig_atomic_t mw_lua_interrupted;

#endif
