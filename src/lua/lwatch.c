/*
 * The primitives the watch runner (scripts/memwatch/watch.lua) and its
 * actions (scripts/memwatch/actions.lua) need from C: starting commands
 * without a shell, signals in both directions, and the two limits on user
 * callbacks (an instruction budget and a cap on the interpreter's memory).
 * Policy stays in Lua; these functions only do what Lua cannot.
 *
 * Conventions as in lmemwatch.c: misuse raises; a failure of the environment
 * returns nil, message, errno.
 */
#include "lua/lwatch.h"

#include "lua/laux.h"

#include "lua/lmemwatch.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#ifdef __APPLE__
#include <crt_externs.h>
#define environ (*_NSGetEnviron())
#endif

/* ---- signal names ------------------------------------------------------------ */

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {NULL, 0},
};

/* A signal given as a number or as a name ("TERM", "SIGTERM"). */
static int check_signal(lua_State *L, int arg)
{
    const char *name;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, arg);
        luaL_argcheck(L, n >= 0 && n < 65, arg, "invalid signal number");
        return (int)n;
    }
    name = luaL_checkstring(L, arg);
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (int i = 0; signal_names[i].name; i++) {
        if (strcmp(signal_names[i].name, name) == 0)
            return signal_names[i].sig;
    }
    return luaL_argerror(L, arg,
                         lua_pushfstring(L,
                                         "unknown signal '%s' (expected HUP, INT, QUIT, KILL, "
                                         "USR1, USR2, TERM, STOP, CONT or a number)",
                                         lua_tostring(L, arg)));
}

/* ---- child processes -------------------------------------------------------------- */

/*
 * core.spawn(argv [, env]) -> pid | nil, message, errno
 * Starts argv[1] (searched in PATH) with the arguments argv[2..], no shell in
 * between. env adds or replaces environment variables (false removes one).
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

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    argc = luaL_len(L, 1);
    luaL_argcheck(L, argc >= 1, 1, "the argument list is empty");
    argv = lua_newuserdatauv(L, (size_t)(argc + 1) * sizeof *argv, 0); /* index 3 */
    for (lua_Integer i = 1; i <= argc; i++) {
        if (lua_geti(L, 1, i) != LUA_TSTRING)
            return luaL_error(L, "spawn: argument %d must be a string, got %s", (int)i,
                              luaL_typename(L, -1));
        argv[i - 1] = (char *)mw_l_unconst(lua_tostring(L, -1)); /* anchored by the table */
        lua_pop(L, 1);
    }
    argv[argc] = NULL;

    /* Anchor for the "NAME=value" strings made below. */
    lua_newtable(L); /* index 4 */
    if (!lua_isnil(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return luaL_error(L, "spawn: environment names must be strings");
            if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
                lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
                lua_rawseti(L, 4, ++nextra);
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
    envp = lua_newuserdatauv(L, (size_t)(nenv + nextra + 1) * sizeof *envp, 0); /* index 5 */
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
        lua_rawgeti(L, 4, i);
        envp[k++] = (char *)mw_l_unconst(lua_tostring(L, -1)); /* anchored by table 4 */
        lua_pop(L, 1);
    }
    envp[k] = NULL;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
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
    int sig = check_signal(L, 2);

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

/* ---- signals to memwatch ------------------------------------------------------------- */

static volatile sig_atomic_t got_int, got_term, got_hup;
static struct sigaction saved_int, saved_term, saved_hup;
static int catching;

/* Only sets flags; the runner looks at them between ticks. A second Ctrl-C
 * before the first was handled gets the default action (as lua.c does). */
static void on_signal(int sig)
{
    if (sig == SIGINT) {
        if (got_int) {
            signal(SIGINT, SIG_DFL);
            raise(SIGINT);
            return;
        }
        got_int = 1;
    } else if (sig == SIGTERM) {
        got_term = 1;
    } else if (sig == SIGHUP) {
        got_hup = 1;
    }
}

/* core.catch_signals(on): while on, SIGINT, SIGTERM and SIGHUP only set flags
 * (see take_signal); off restores the handlers that were there before. */
static int l_catch_signals(lua_State *L)
{
    int on = lua_toboolean(L, 1);
    if (on && !catching) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: waits must wake up */
        got_int = got_term = got_hup = 0;
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
        sigaction(SIGHUP, &sa, &saved_hup);
        catching = 1;
    } else if (!on && catching) {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
        sigaction(SIGHUP, &saved_hup, NULL);
        catching = 0;
    }
    return 0;
}

/* core.take_signal() -> "TERM" | "INT" | "HUP" | nil; clears what it returns. */
static int l_take_signal(lua_State *L)
{
    if (got_term) {
        got_term = 0;
        lua_pushliteral(L, "TERM");
    } else if (got_int) {
        got_int = 0;
        lua_pushliteral(L, "INT");
    } else if (got_hup) {
        got_hup = 0;
        lua_pushliteral(L, "HUP");
    } else {
        lua_pushnil(L);
    }
    return 1;
}

static int signal_pending(void)
{
    return got_int || got_term || got_hup;
}

/*
 * core.wait_signal(seconds) -> true when a caught signal is pending (it may
 * end the wait early), false when the time ran out. The signals are blocked
 * between the check and the wait, and pselect unblocks them atomically, so
 * one arriving in between is not lost until the next tick.
 */
static int l_wait_signal(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    sigset_t block, old;
    struct timespec ts;

    luaL_argcheck(L, isfinite(s) && s >= 0, 1, "duration must be >= 0");
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (!signal_pending() && !mw_lua_interrupted && s > 0) {
        ts.tv_sec = (time_t)s;
        ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
        pselect(0, NULL, NULL, NULL, &ts, &old);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (mw_lua_interrupted) {
        /* Not catching: the executable's Ctrl-C handler fired. */
        mw_lua_interrupted = 0;
        return luaL_error(L, "interrupted!");
    }
    lua_pushboolean(L, signal_pending());
    return 1;
}

/* ---- the instruction budget --------------------------------------------------------- */

#define BUDGET_STEP 1000

typedef struct budget {
    lua_Integer limit; /* instructions; 0: no limit */
    int step;          /* instructions between two calls of the hook */
    lua_Integer used;
    double seconds;  /* CPU seconds; 0: no limit */
    double deadline; /* process CPU time at which it runs out */
    int expired;
} budget;

static budget *active_budget;

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Counts instructions in steps. Once the budget is spent the hook re-arms
 * itself to fire on every instruction and line and raises each time, so a
 * pcall inside the callback can catch the error but never run another
 * instruction afterwards: the error reaches budget_call's own pcall.
 */
static void budget_hook(lua_State *L, lua_Debug *ar)
{
    budget *b = active_budget;
    (void)ar;
    if (!b)
        return;
    if (!b->expired) {
        b->used += b->step;
        if ((b->limit > 0 && b->used >= b->limit) ||
            (b->seconds > 0 && cpu_seconds() >= b->deadline)) {
            b->expired = 1;
            lua_sethook(L, budget_hook, LUA_MASKLINE | LUA_MASKCOUNT, 1);
        } else {
            return;
        }
    }
    /* Level 0 inside a hook is the Lua function that was running. */
    luaL_where(L, 0);
    if (b->limit > 0 && b->used >= b->limit)
        lua_pushfstring(L, "CPU budget exceeded (more than %I instructions)", b->limit);
    else
        lua_pushfstring(L, "CPU budget exceeded (more than %f s of CPU time)",
                        (lua_Number)b->seconds);
    lua_concat(L, 2);
    lua_error(L);
}

/*
 * core.budget_call(instructions, seconds, f, ...) ->
 *     true, results... | false, message, kind
 * Calls f like pcall, stopping it once it has run `instructions` VM
 * instructions (0 or nil: no limit) or used `seconds` of CPU time (checked
 * every 1000 instructions; 0 or nil: no limit). kind is "budget" when the
 * budget stopped it, "memory" for an allocation failure (the memory cap),
 * "error" otherwise. Coroutines created inside f inherit the budget.
 */
static int l_budget_call(lua_State *L)
{
    lua_Integer limit = luaL_optinteger(L, 1, 0);
    lua_Number seconds = luaL_optnumber(L, 2, 0);
    budget b, *prev = active_budget;
    lua_Hook old_hook = lua_gethook(L);
    int old_mask = lua_gethookmask(L), old_count = lua_gethookcount(L);
    int status, nargs;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, limit >= 0, 1, "instruction budget must be >= 0");
    luaL_argcheck(L, isfinite(seconds) && seconds >= 0, 2, "time budget must be >= 0");
    nargs = lua_gettop(L) - 3;
    memset(&b, 0, sizeof b);
    b.limit = limit;
    b.seconds = seconds;
    b.deadline = seconds > 0 ? cpu_seconds() + seconds : 0;
    b.step = limit > 0 && limit < BUDGET_STEP ? (int)limit : BUDGET_STEP;
    active_budget = &b;
    if (limit > 0 || seconds > 0)
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, b.step);
    status = lua_pcall(L, nargs, LUA_MULTRET, 0);
    lua_sethook(L, old_hook, old_mask, old_count);
    active_budget = prev;
    if (status == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_insert(L, 3);
        return lua_gettop(L) - 2;
    }
    lua_pushboolean(L, 0);
    if (lua_type(L, -2) == LUA_TSTRING || lua_type(L, -2) == LUA_TNUMBER)
        lua_pushvalue(L, -2);
    else if (!luaL_callmeta(L, -2, "__tostring") || lua_type(L, -1) != LUA_TSTRING)
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -2));
    if (b.expired)
        lua_pushliteral(L, "budget");
    else if (status == LUA_ERRMEM)
        lua_pushliteral(L, "memory");
    else
        lua_pushliteral(L, "error");
    return 3;
}

/* ---- the memory cap ------------------------------------------------------------------- */

/*
 * A counting wrapper around the state's allocator, installed at run time
 * with lua_setallocf, so it works in the memwatch executable and in a stock
 * lua5.4 alike. Over the limit it returns NULL: Lua then collects garbage,
 * retries, and raises an ordinary "not enough memory" error (LUA_ERRMEM).
 * One process-wide instance, bound to the first state that asks.
 */
typedef struct memcap {
    lua_Alloc f;
    void *ud;
    const void *owner; /* the main thread of the state it serves */
    long long used;
    long long limit; /* 0: no limit */
    lua_Integer hits;
} memcap;

static memcap cap;

static void *cap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    memcap *c = ud;
    long long old = ptr ? (long long)osize : 0;
    void *p;

    if (nsize == 0) {
        c->used -= old;
        return c->f(c->ud, ptr, osize, nsize);
    }
    if (c->limit > 0 && (long long)nsize > old && c->used - old + (long long)nsize > c->limit) {
        c->hits++;
        return NULL;
    }
    p = c->f(c->ud, ptr, osize, nsize);
    if (p)
        c->used += (long long)nsize - old;
    return p;
}

/*
 * core.memory_limit([bytes]) -> limit, used, hits
 * With bytes, sets the cap on the interpreter's memory (0 removes it);
 * always returns the cap (0: none), the bytes in use and how many
 * allocations the cap has refused so far.
 */
static int l_memory_limit(lua_State *L)
{
    const void *owner;
    void *ud;
    lua_Alloc f;

    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    owner = lua_topointer(L, -1);
    lua_pop(L, 1);
    f = lua_getallocf(L, &ud);
    if (!lua_isnoneornil(L, 1)) {
        lua_Integer n = luaL_checkinteger(L, 1);
        luaL_argcheck(L, n >= 0, 1, "memory limit must be >= 0");
        if (f != cap_alloc) {
            if (cap.owner && cap.owner != owner)
                return luaL_error(L, "memory cap: already in use by another Lua state");
            cap.f = f;
            cap.ud = ud;
            cap.owner = owner;
            cap.used = (long long)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + lua_gc(L, LUA_GCCOUNTB, 0);
            lua_setallocf(L, cap_alloc, &cap);
        }
        cap.limit = n;
    }
    if (lua_getallocf(L, &ud) == cap_alloc) {
        lua_pushinteger(L, (lua_Integer)cap.limit);
        lua_pushinteger(L, (lua_Integer)cap.used);
        lua_pushinteger(L, cap.hits);
    } else {
        lua_pushinteger(L, 0);
        lua_pushinteger(L,
                        (lua_Integer)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + lua_gc(L, LUA_GCCOUNTB, 0));
        lua_pushinteger(L, 0);
    }
    return 3;
}

/* core.cpu_time() -> CPU seconds this process has used (user + system). */
static int l_cpu_time(lua_State *L)
{
    lua_pushnumber(L, cpu_seconds());
    return 1;
}

static const luaL_Reg watch_funcs[] = {
    {"budget_call", l_budget_call},
    {"catch_signals", l_catch_signals},
    {"child_status", l_child_status},
    {"cpu_time", l_cpu_time},
    {"getppid", l_getppid},
    {"kill", l_kill},
    {"memory_limit", l_memory_limit},
    {"spawn", l_spawn},
    {"take_signal", l_take_signal},
    {"wait_signal", l_wait_signal},
    {NULL, NULL},
};

void mw_lua_register_watch(lua_State *L)
{
    luaL_setfuncs(L, watch_funcs, 0);
    lua_createtable(L, 0, 10);
    for (int i = 0; signal_names[i].name; i++) {
        lua_pushinteger(L, signal_names[i].sig);
        lua_setfield(L, -2, signal_names[i].name);
    }
    lua_setfield(L, -2, "signals");
}
