/*
 * core.send_datagram(path, bytes): one AF_UNIX datagram, through the system
 * call table (mw_sys_send_datagram) so the fault-injection tests reach it.
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment (no socket there, nobody reading it) returns nil, message,
 * errno.
 */
#include "lua/ldatagram.h"

#include "memwatch/memwatch.h"
#include "memwatch/sys.h"

#include <errno.h>

#include <lauxlib.h>

/* core.send_datagram(path, bytes) -> true | nil, "PATH: reason", errno */
static int l_send_datagram(lua_State *L)
{
    size_t len;
    const char *path = luaL_checkstring(L, 1);
    const char *msg = luaL_checklstring(L, 2, &len);
    int r;

    luaL_argcheck(L, len > 0, 2, "empty datagram");
    r = mw_sys_send_datagram(&mw_sys_default, path, msg, len);
    if (r == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    luaL_pushfail(L);
    if (r == -EINVAL)
        lua_pushfstring(L, "%s: not a socket path or @abstract name", path);
    else if (r == -ENAMETOOLONG)
        lua_pushfstring(L, "%s: too long for a socket address", path);
    else
        lua_pushfstring(L, "%s: %s", path, mw_strerror(r));
    lua_pushinteger(L, -r);
    return 3;
}

static const luaL_Reg datagram_funcs[] = {
    {"send_datagram", l_send_datagram},
    {NULL, NULL},
};

void mw_lua_register_datagram(lua_State *L)
{
    luaL_setfuncs(L, datagram_funcs, 0);
}
