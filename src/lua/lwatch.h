/* The C primitives under the watch runner and its actions (memwatch.watch,
 * memwatch.actions): child processes, signals, and limits on user callbacks. */
#ifndef MEMWATCH_LUA_LWATCH_H
#define MEMWATCH_LUA_LWATCH_H

#include <lua.h>

/*
 * Adds the watch primitives to the memwatch.core table on top of the stack:
 * spawn, child_status, kill, getppid, signals, catch_signals, take_signal,
 * wait_signal, budget_call, memory_limit, cpu_time.
 */
void mw_lua_register_watch(lua_State *L);

#endif
