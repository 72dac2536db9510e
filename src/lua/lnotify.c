/*
 * The service manager's two documented interfaces, written here rather than
 * by linking libsystemd: the module stays loadable where there is none
 * (macOS, containers), and both are a few lines.
 *
 *   notify     sd_notify(3): one datagram of "KEY=VALUE\n..." text on an
 *              AF_UNIX SOCK_DGRAM socket named by $NOTIFY_SOCKET; a leading
 *              '@' names the Linux abstract namespace (the '@' becomes a NUL
 *              byte and the address is not NUL-terminated).
 *   stream_id  "DEV:INO" of the file under a Lua file handle, to compare
 *              with $JOURNAL_STREAM, which systemd.exec(5) sets to the
 *              device and inode of the journal stream it connected stdout or
 *              stderr to (a child that inherited the variable but not the
 *              descriptor must not act on it).
 *
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment returns nil, message, errno.
 */
#include "lua/lnotify.h"

#include "lua/laux.h"

#include "memwatch/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

/*
 * core.notify(text) -> true | false (no $NOTIFY_SOCKET: not run by a
 * service manager that listens) | nil, "notify: message", errno.
 */
static int l_notify(lua_State *L)
{
    size_t len;
    const char *msg = luaL_checklstring(L, 1, &len);
    const char *name = getenv("NOTIFY_SOCKET");
    int r;

    luaL_argcheck(L, len > 0, 1, "empty notification");
    if (!name || !*name) {
        lua_pushboolean(L, 0);
        return 1;
    }
    /* One datagram, through the system call table (the datagram sender
     * syslog uses too). */
    r = mw_sys_send_datagram(&mw_sys_default, name, msg, len);
    if (r == -EINVAL || r == -ENAMETOOLONG) {
        /* systemd also knows "vsock:" names, which memwatch does not speak */
        luaL_pushfail(L);
        lua_pushfstring(L, "notify: NOTIFY_SOCKET '%s': %s", name,
                        r == -EINVAL ? "not a socket path or @abstract name"
                                     : "too long for a socket address");
        lua_pushinteger(L, r == -EINVAL ? EAFNOSUPPORT : ENAMETOOLONG);
        return 3;
    }
    if (r < 0)
        return mw_l_fail(L, r, "notify");
    lua_pushboolean(L, 1);
    return 1;
}

/* core.stream_id(file) -> "DEV:INO" (decimal, as systemd writes
 * $JOURNAL_STREAM) | nil, message, errno for a closed or unusable file. */
static int l_stream_id(lua_State *L)
{
    luaL_Stream *s = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
    struct stat st;
    char buf[48];

    if (s->closef == NULL || s->f == NULL)
        return mw_l_fail(L, -EBADF, "stream_id");
    if (fstat(fileno(s->f), &st) != 0)
        return mw_l_fail(L, -errno, "stream_id");
    snprintf(buf, sizeof buf, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg notify_funcs[] = {
    {"notify", l_notify},
    {"stream_id", l_stream_id},
    {NULL, NULL},
};

void mw_lua_register_notify(lua_State *L)
{
    luaL_setfuncs(L, notify_funcs, 0);
}
