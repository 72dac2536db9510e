/* Setting up a Lua state the way the executable runs scripts. */
#ifndef MEMWATCH_APP_LSTATE_H
#define MEMWATCH_APP_LSTATE_H

#include <lua.h>

/*
 * Open the standard libraries, register the bundled modules as
 * package.preload loaders, drop relative entries from package.path and
 * package.cpath, and make `memwatch` a global. Raises on failure.
 */
void mw_state_setup(lua_State *L);

/* Run the function on top of the stack with nargs arguments below it, under
 * a traceback handler and with Ctrl-C armed; as lua.c's docall. */
int mw_docall(lua_State *L, int nargs, int nres);

/* Print the error on top of the stack to stderr (and pop it). An
 * "interrupted!" error prints just that word. */
void mw_report(lua_State *L, int status);

/* True when the error on top of the stack is Ctrl-C's "interrupted!". */
int mw_is_interrupt(lua_State *L);

#endif
