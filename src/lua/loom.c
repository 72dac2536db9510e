/*
 * OOM-kill evidence in memwatch.core, thin over the sampler context: the
 * watch engine (memwatch.watch.engine) decides what a vanished group's
 * evidence means.
 *
 *   core.oom_kill_count() -> n | nil, msg, errno
 *   core.oom_kills_since(cursor) -> {{pid=, comm=, seq=, usec=}, ...}, next | nil, msg, errno
 *
 * Where the system keeps no such evidence (macOS) both return nil,
 * "...: not supported on this platform", ENOTSUP.
 */
#include "lua/loom.h"

#include "lua/laux.h"
#include "lua/lsampler.h"

#include "memwatch/memwatch.h"

#include <errno.h>

#include <lauxlib.h>

static int fail(lua_State *L, int rc, const char *what)
{
    int n = mw_l_fail(L, rc, what);
    if (rc == MW_ENOTSUP) {
        /* Our own code for it, and the errno a caller can test. */
        lua_pop(L, 1);
        lua_pushinteger(L, ENOTSUP);
    }
    return n;
}

static int l_oom_kill_count(lua_State *L)
{
    mw_ctx *ctx = mw_lua_sampler_ctx(L);
    int64_t n;
    int rc = mw_oom_kill_count(ctx, &n);

    if (rc < 0)
        return fail(L, rc, "OOM kill count");
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* Kills gathered in a userdata before any Lua table is made: a memory error
 * raised while building tables cannot then skip the reader's cleanup. */
#define MAX_KILLS 256

struct kills_ud {
    mw_oom_kill *kills;
    size_t n;
};

static int take_kill(void *ud, const mw_oom_kill *k)
{
    struct kills_ud *u = ud;
    if (u->n == MAX_KILLS)
        return 1; /* the rest on the next call, from the cursor returned */
    u->kills[u->n++] = *k;
    return 0;
}

static int l_oom_kills_since(lua_State *L)
{
    mw_ctx *ctx = mw_lua_sampler_ctx(L);
    lua_Integer cursor = luaL_optinteger(L, 1, 0);
    struct kills_ud u = {NULL, 0};
    uint64_t next = 0;
    int rc;

    luaL_argcheck(L, cursor >= 0, 1, "a cursor is 0 or a value oom_kills_since returned");
    u.kills = lua_newuserdatauv(L, MAX_KILLS * sizeof *u.kills, 0);
    rc = mw_oom_kills_since(ctx, (uint64_t)cursor, take_kill, &u, &next);
    if (rc < 0)
        return fail(L, rc, "kernel log");
    lua_createtable(L, (int)u.n, 0);
    for (size_t i = 0; i < u.n; i++) {
        const mw_oom_kill *k = &u.kills[i];
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, k->pid);
        lua_setfield(L, -2, "pid");
        lua_pushstring(L, k->comm);
        lua_setfield(L, -2, "comm");
        lua_pushinteger(L, (lua_Integer)k->seq);
        lua_setfield(L, -2, "seq");
        lua_pushinteger(L, (lua_Integer)k->usec);
        lua_setfield(L, -2, "usec");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushinteger(L, (lua_Integer)next);
    return 2;
}

void mw_lua_register_oom(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"oom_kill_count", l_oom_kill_count},
        {"oom_kills_since", l_oom_kills_since},
        {NULL, NULL},
    };
    luaL_setfuncs(L, funcs, 0);
}
