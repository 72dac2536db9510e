/* The interactive prompt (memwatch with no script on a terminal, or -i). */
#ifndef MEMWATCH_APP_REPL_H
#define MEMWATCH_APP_REPL_H

#include <lua.h>

/* Read-evaluate-print until end of input; returns the exit code. */
int mw_repl(lua_State *L);

#endif
