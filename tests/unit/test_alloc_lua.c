/*
 * Allocation failure under the Lua state (Lua's ltests "failnext" idea): the
 * state runs on an allocator that fails every allocation from the Nth on,
 * while a chunk calls memwatch.processes/process/self/system/ledger/bytes and
 * the JSON encoder and decoder over the basic fixture tree. For each N until
 * the chunk completes:
 *   - the chunk fails with Lua's memory error, "not enough memory", never
 *     another error and never a crash;
 *   - after a full collection no block of the core (memwatch/alloc.h) or of
 *     jansson is left beyond what the state keeps for the next call, so
 *     nothing was lost when the error unwound C code;
 *   - at lua_close every Lua block is back.
 * The same state goes on after each failure, as a watcher would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "app/lstate.h"
#include "memwatch/alloc.h"

#define BASIC MW_FIXTURES_DIR "/linux/basic"

/* ---- Lua's allocator, failing from the nth allocation on ------------------------------ */

static struct {
    long allocs;  /* allocations (growing calls) so far */
    long fail_at; /* 0: never */
    long failed;
    size_t bytes; /* in use */
} la;

static void *lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (!ptr)
        osize = 0;
    if (nsize == 0) {
        la.bytes -= osize;
        free(ptr);
        return NULL;
    }
    /* Lua relies on shrinking never failing (manual, lua_Alloc). */
    if (nsize > osize) {
        la.allocs++;
        if (la.fail_at && la.allocs >= la.fail_at) {
            la.failed++;
            return NULL;
        }
    }
    ptr = realloc(ptr, nsize);
    if (ptr)
        la.bytes = la.bytes - osize + nsize;
    return ptr;
}

/* ---- counting the core's and jansson's blocks ------------------------------------------- */

static long core_live, json_live;

/*
 * Core blocks carry a header that links them into a list, so a block a Lua
 * error unwound past is still reachable: the test counts it, reports it and
 * frees it at the end (LSan would otherwise stop the run at exit first).
 */
typedef struct block {
    struct block *prev, *next;
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} block;

static block blocks = {&blocks, &blocks, 0, 0};

static void *link_block(block *b, size_t n)
{
    b->size = n;
    b->next = blocks.next;
    b->prev = &blocks;
    blocks.next->prev = b;
    blocks.next = b;
    core_live++;
    return b + 1;
}

static void unlink_block(block *b)
{
    b->prev->next = b->next;
    b->next->prev = b->prev;
    core_live--;
}

static void *core_malloc(size_t n)
{
    block *b = malloc(sizeof *b + n);
    return b ? link_block(b, n) : NULL;
}

static void *core_calloc(size_t c, size_t n)
{
    void *p;
    if (n && c > ((size_t)-1 - sizeof(block)) / n)
        return NULL;
    p = core_malloc(c * n);
    if (p)
        memset(p, 0, c * n);
    return p;
}

static void *core_realloc(void *old, size_t n)
{
    block *b, *nb;
    if (!old)
        return core_malloc(n);
    b = (block *)old - 1;
    unlink_block(b);
    nb = realloc(b, sizeof *nb + n);
    if (!nb) {
        link_block(b, b->size);
        return NULL;
    }
    return link_block(nb, n);
}

static void core_free(void *p)
{
    if (p) {
        block *b = (block *)p - 1;
        unlink_block(b);
        free(b);
    }
}

/* Free the blocks left over; returns how many there were. */
static long free_leftovers(void)
{
    long n = 0;
    while (blocks.next != &blocks) {
        block *b = blocks.next;
        unlink_block(b);
        free(b);
        n++;
    }
    return n;
}

static const mw_allocator core_counting = {core_malloc, core_calloc, core_realloc, core_free};

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    json_live += p != NULL;
    return p;
}

static void json_free(void *p)
{
    json_live -= p != NULL;
    free(p);
}

/* ---- the chunk ------------------------------------------------------------------------- */

static const char chunk[] =
    "local mw = memwatch\n"
    "local core = require 'memwatch.core'\n"
    "local json = require 'memwatch.json'\n"
    "local root = ...\n"
    "local sum = 0\n"
    "for _, p in ipairs(mw.processes(nil, 'all')) do sum = sum + (p.footprint or 0) end\n"
    "local some = mw.processes({name = 'firefox'})\n"
    "local one = mw.process(100, 'all')\n"
    "assert(one and one.cmdline and one.path)\n"
    "local sys = assert(mw.system())\n"
    "local led = assert(mw.ledger(100))\n"
    "local text = mw.bytes(123456789) .. mw.bytes(1.5) .. mw.bytes(-7)\n"
    "local n = mw.parse_bytes('1.5G') + mw.parse_duration('30s')\n"
    "local j = json.encode({procs = mw.processes(), sys = sys, led = led, s = text,\n"
    "                       bad = 'a\\255b', n = n, list = {1, 2.5, true}}, true)\n"
    "local back = assert(json.decode(j))\n"
    "assert(back.sys.total == sys.total and #back.led == #led)\n"
    "assert(core.set_root('/proc'))\n"
    "local me = mw.self()\n"
    "assert(me.pid == core.getpid())\n"
    "assert(core.set_root(root))\n"
    "return sum + #some + #text\n";

static int setup_state(lua_State *L)
{
    mw_state_setup(L);
    return 0;
}

static void test_lua_oom(void **state)
{
    lua_State *L;
    long base_core, base_json, runs = 0, memerr = 0, first_alloc;
    /* lmemwatch.c keeps C results in boxes and builds scan records under
     * lua_pcall, so no memory error may lose a core block. */
    (void)state;

    mw_alloc_set(&core_counting);
    json_set_alloc_funcs(json_malloc, json_free);
    setenv("MEMWATCH_ROOT", BASIC, 1);

    L = lua_newstate(lua_alloc, NULL);
    assert_non_null(L);
    lua_pushcfunction(L, setup_state);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK)
        fail_msg("setting up the state: %s", lua_tostring(L, -1));
    assert_int_equal(luaL_loadstring(L, chunk), LUA_OK);
    lua_setglobal(L, "oom_chunk");

    /* Twice without failures: the second run shows the steady state (the
     * user-name cache, the descriptor cache and the read buffer kept). */
    for (int i = 0; i < 2; i++) {
        lua_getglobal(L, "oom_chunk");
        lua_pushstring(L, BASIC);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK)
            fail_msg("the chunk fails without injected failures: %s", lua_tostring(L, -1));
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT);
    }
    base_core = core_live;
    base_json = json_live;
    assert_int_equal(base_json, 0);

    for (long n = 1;; n++) {
        int status;

        lua_getglobal(L, "oom_chunk");
        lua_pushstring(L, BASIC);
        first_alloc = la.allocs;
        la.failed = 0;
        la.fail_at = first_alloc + n;
        status = lua_pcall(L, 1, 1, 0);
        la.fail_at = 0;
        runs++;
        if (status == LUA_OK) {
            assert_int_equal(la.failed, 0);
            lua_settop(L, 0);
            break;
        }
        /* A C function that caught the memory error in a protected call and
         * raised it again (lua_error) gives LUA_ERRRUN with the same text. */
        if ((status != LUA_ERRMEM && status != LUA_ERRRUN) || !lua_isstring(L, -1) ||
            strcmp(lua_tostring(L, -1), "not enough memory") != 0)
            fail_msg("allocation #%ld failing: status %d, error \"%s\" (want a memory error)", n,
                     status, lua_isstring(L, -1) ? lua_tostring(L, -1) : "(not a string)");
        memerr++;
        lua_settop(L, 0);
        /* A scan interrupted by the error may have left the sampler pointed
         * at /proc; point it back. */
        lua_getglobal(L, "require");
        lua_pushstring(L, "memwatch.core");
        lua_call(L, 1, 1);
        lua_getfield(L, -1, "set_root");
        lua_pushstring(L, BASIC);
        lua_call(L, 1, 0);
        lua_settop(L, 0);
        lua_gc(L, LUA_GCCOLLECT);
        lua_gc(L, LUA_GCCOLLECT);
        if (json_live != 0)
            fail_msg("allocation #%ld failing: %ld jansson block(s) leaked", n, json_live);
        if (core_live > base_core)
            fail_msg("allocation #%ld failing: %ld core block(s) leaked", n, core_live - base_core);
        assert_true(n < 1000000);
    }
    print_message("lua: %ld runs, %ld memory errors, the chunk needs %ld allocations\n", runs,
                  memerr, runs);
    lua_close(L);
    assert_int_equal(la.bytes, 0);
    assert_int_equal(core_live, 0);
    free_leftovers();
    assert_int_equal(json_live, 0);
    mw_alloc_set(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lua_oom),
    };
    return cmocka_run_group_tests_name("alloc_lua", tests, NULL, NULL);
}
