/*
 * The two limits on user callbacks in memwatch.core: an instruction (and
 * CPU-time) budget for one call, and a cap on the interpreter's memory.
 * Both work in the memwatch executable and in a stock lua5.4 alike.
 *
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment returns nil, message, errno.
 */
#include "lua/llimits.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

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

static const luaL_Reg limits_funcs[] = {
    {"budget_call", l_budget_call},
    {"cpu_time", l_cpu_time},
    {"memory_limit", l_memory_limit},
    {NULL, NULL},
};

void mw_lua_register_limits(lua_State *L)
{
    luaL_setfuncs(L, limits_funcs, 0);
}
