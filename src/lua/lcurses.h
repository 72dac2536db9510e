/* memwatch.curses: the few ncurses calls `memwatch top` draws with. */
#ifndef MEMWATCH_LUA_LCURSES_H
#define MEMWATCH_LUA_LCURSES_H

#include <lua.h>

int luaopen_memwatch_curses(lua_State *L);

#endif
