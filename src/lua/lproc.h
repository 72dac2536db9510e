/* Process control in memwatch.core: spawn, child_status, kill, getpid,
 * getppid, isatty. */
#ifndef MEMWATCH_LUA_LPROC_H
#define MEMWATCH_LUA_LPROC_H

#include <lua.h>

/* Adds the process functions to the memwatch.core table on top of the stack. */
void mw_lua_register_proc(lua_State *L);

#endif
