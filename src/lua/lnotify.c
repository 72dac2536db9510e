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

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

/*
 * Fills addr from the socket name; returns the address length, or -errno:
 * -EAFNOSUPPORT for a name that is neither a path nor '@' (systemd also
 * knows "vsock:", which memwatch does not speak), -ENAMETOOLONG when it does
 * not fit sun_path.
 */
static int notify_address(const char *name, struct sockaddr_un *addr)
{
    size_t len = strlen(name);

    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (name[0] != '/' && name[0] != '@')
        return -EAFNOSUPPORT;
    if (len < 2 || len > sizeof addr->sun_path - (name[0] == '/'))
        return len < 2 ? -EAFNOSUPPORT : -ENAMETOOLONG;
    memcpy(addr->sun_path, name, len);
    if (name[0] == '@')
        addr->sun_path[0] = '\0';
    return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}

/* Sends one datagram; 0 or -errno. */
static int notify_send(const struct sockaddr_un *addr, int addrlen, const char *msg, size_t len)
{
    int fd, r = 0;
    ssize_t n;

#ifdef SOCK_CLOEXEC
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#else
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd >= 0)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    if (fd < 0)
        return -errno;
    do {
        n = sendto(fd, msg, len, 0, (const struct sockaddr *)addr, (socklen_t)addrlen);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        r = -errno;
    else if ((size_t)n != len)
        r = -EMSGSIZE;
    close(fd);
    return r;
}

/*
 * core.notify(text) -> true | false (no $NOTIFY_SOCKET: not run by a
 * service manager that listens) | nil, "notify: message", errno.
 */
static int l_notify(lua_State *L)
{
    size_t len;
    const char *msg = luaL_checklstring(L, 1, &len);
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    int addrlen, r;

    luaL_argcheck(L, len > 0, 1, "empty notification");
    if (!name || !*name) {
        lua_pushboolean(L, 0);
        return 1;
    }
    addrlen = notify_address(name, &addr);
    if (addrlen < 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "notify: NOTIFY_SOCKET '%s': %s", name,
                        addrlen == -EAFNOSUPPORT ? "not a socket path or @abstract name"
                                                 : "too long for a socket address");
        lua_pushinteger(L, -addrlen);
        return 3;
    }
    r = notify_send(&addr, addrlen, msg, len);
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
