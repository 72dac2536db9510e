/* Limits on user callbacks in memwatch.core: budget_call (an instruction
 * and CPU-time budget), memory_limit (a cap on the interpreter's memory),
 * cpu_time. */
#ifndef MEMWATCH_LUA_LLIMITS_H
#define MEMWATCH_LUA_LLIMITS_H

#include <lua.h>

/* Adds the limit functions to the memwatch.core table on top of the stack. */
void mw_lua_register_limits(lua_State *L);

#endif
