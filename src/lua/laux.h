/* Small helpers the memwatch.core binding files share. */
#ifndef MEMWATCH_LUA_LAUX_H
#define MEMWATCH_LUA_LAUX_H

#include <lua.h>

/*
 * An environmental failure as Lua functions return it (luaL_fileresult
 * style): nil, "what: message", errno. code is -errno or an MW_E* status;
 * the third value is the errno, or 0 for MW_E* codes. Returns 3.
 */
int mw_l_fail(lua_State *L, int code, const char *what);

/* p without const, for C APIs whose parameter lacks const but which only read
 * it (posix_spawn's argv, libmicrohttpd's copied buffers). */
void *mw_l_unconst(const void *p);

#endif
