/*
 * Process control in memwatch.core, for the watch runner's actions
 * (scripts/memwatch/actions.lua): starting commands without a shell, reaping
 * them, sending signals, and this process's own identity.
 *
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment returns nil, message, errno.
 */
#include "lua/lproc.h"

#include "lua/laux.h"
#include "lua/lsignal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#ifdef __APPLE__
#include <crt_externs.h>
#define environ (*_NSGetEnviron())
#endif

/*
 * core.spawn(argv [, env [, stderr_path]]) -> pid | nil, message, errno
 * Starts argv[1] (searched in PATH) with the arguments argv[2..], no shell in
 * between. env adds or replaces environment variables (false removes one).
 * stderr_path, when given, receives the child's stderr (created or truncated,
 * mode 0600), so a caller can report a tool's errors in its own words.
 * The child gets /dev/null as stdin, default signal dispositions, an empty
 * signal mask and its own process group, so a Ctrl-C meant for memwatch does
 * not cut an action short.
 */
static int l_spawn(lua_State *L)
{
    lua_Integer argc, nenv = 0, nextra = 0, k = 0;
    char **argv, **envp;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t defaults, empty;
    pid_t pid;
    int rc;
    const char *err_path = luaL_optstring(L, 3, NULL);

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3); /* index 3 anchors err_path */
    argc = luaL_len(L, 1);
    luaL_argcheck(L, argc >= 1, 1, "the argument list is empty");
    argv = lua_newuserdatauv(L, (size_t)(argc + 1) * sizeof *argv, 0); /* index 4 */
    for (lua_Integer i = 1; i <= argc; i++) {
        if (lua_geti(L, 1, i) != LUA_TSTRING)
            return luaL_error(L, "spawn: argument %d must be a string, got %s", (int)i,
                              luaL_typename(L, -1));
        argv[i - 1] = (char *)mw_l_unconst(lua_tostring(L, -1)); /* anchored by the table */
        lua_pop(L, 1);
    }
    argv[argc] = NULL;

    /* Anchor for the "NAME=value" strings made below. */
    lua_newtable(L); /* index 5 */
    if (!lua_isnil(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "spawn: environment names must be strings");
            if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
                lua_rawseti(L, 5, ++nextra);
            } else if (!(lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1))) {
                return luaL_error(L,
                                  "spawn: environment variable '%s' must be a string, a number "
                                  "or false, got %s",
                                  lua_tostring(L, -2), luaL_typename(L, -1));
            }
            lua_pop(L, 1);
        }
    }
    for (char **e = environ; e && *e; e++)
        nenv++;
    envp = lua_newuserdatauv(L, (size_t)(nenv + nextra + 1) * sizeof *envp, 0); /* index 6 */
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        int overridden = 0;
        if (eq && !lua_isnil(L, 2)) {
            lua_pushlstring(L, *e, (size_t)(eq - *e));
            overridden = lua_rawget(L, 2) != LUA_TNIL;
            lua_pop(L, 1);
        }
        if (!overridden)
            envp[k++] = *e;
    }
    for (lua_Integer i = 1; i <= nextra; i++) {
        lua_rawgeti(L, 5, i);
        envp[k++] = (char *)mw_l_unconst(lua_tostring(L, -1)); /* anchored by table 5 */
        lua_pop(L, 1);
    }
    envp[k] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (err_path)
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
    posix_spawnattr_init(&at);
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setsigmask(&at, &empty);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);
    rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return mw_l_fail(L, -rc, argv[0]);
    lua_pushinteger(L, (lua_Integer)pid);
    return 1;
}

/*
 * core.child_status(pid [, block]) -> "running" | "exit", code | "signal", signo
 *                                    | nil, message, errno
 * Reaps one child started by spawn; waits for it only when block is true.
 */
static int l_child_status(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    int block = lua_toboolean(L, 2);
    int status;
    pid_t r;

    luaL_argcheck(L, pid > 0, 1, "pid must be > 0");
    do {
        r = waitpid((pid_t)pid, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return mw_l_fail(L, -errno, lua_pushfstring(L, "pid %I", pid));
    if (r == 0) {
        lua_pushliteral(L, "running");
        return 1;
    }
    if (WIFSIGNALED(status)) {
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WTERMSIG(status));
    } else {
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    return 2;
}

/* core.kill(pid, sig) -> true | nil, message, errno. pid must be > 0: the
 * process-group and broadcast forms of kill(2) are not reachable from Lua. */
static int l_kill(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    int sig = mw_l_check_signal(L, 2);

    luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 1, "pid must be > 0");
    if (kill((pid_t)pid, sig) < 0)
        return mw_l_fail(L, -errno, lua_pushfstring(L, "pid %I", pid));
    lua_pushboolean(L, 1);
    return 1;
}

static int l_getppid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getppid());
    return 1;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

static const luaL_Reg proc_funcs[] = {
    {"child_status", l_child_status},
    {"getpid", l_getpid},
    {"getppid", l_getppid},
    {"isatty", l_isatty},
    {"kill", l_kill},
    {"spawn", l_spawn},
    {NULL, NULL},
};

void mw_lua_register_proc(lua_State *L)
{
    luaL_setfuncs(L, proc_funcs, 0);
}
