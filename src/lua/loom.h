/* OOM-kill evidence in memwatch.core: oom_kill_count, oom_kills_since. */
#ifndef MEMWATCH_LUA_LOOM_H
#define MEMWATCH_LUA_LOOM_H

#include <lua.h>

/* Adds the OOM functions to the memwatch.core table on top of the stack
 * (after the sampler, whose context they read through). */
void mw_lua_register_oom(lua_State *L);

#endif
