/*
 * The sampler binding of memwatch.core: one sampler context per Lua state,
 * and records, system memory, ledgers, app keys and user names from it.
 * Policy (filters, lazy fields, formats, rules) lives in the bundled Lua
 * modules; this file only moves data between the sampler core and Lua.
 *
 * The binding picks the backend, here and nowhere else in the bindings: on
 * Linux built with the BPF sampler, that one where it loads (or as
 * MEMWATCH_SAMPLER=proc|bpf|auto says), else the native one (backend.h);
 * what it is called comes from the context.
 *
 * Conventions (as Lua's own libraries): misuse raises an error; a failure of
 * the environment returns nil, message, errno.
 */
#include "lua/lsampler.h"

#include "lua/laux.h"
#include "lua/lrecord.h"
#include "lua/lsignal.h"

#include "memwatch/alloc.h"
#include "memwatch/backend.h"
#include "memwatch/memwatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

static const mw_backend_ops *const sampler_backend = &mw_backend_native;

/* The BPF sampler, or NULL in a build without it. */
static const mw_backend_ops *bpf_backend(void)
{
#ifdef __linux__
    return &mw_backend_bpf;
#else
    return NULL;
#endif
}

#define CTX_KEY "memwatch.ctx"

typedef struct ctx_box {
    mw_ctx *ctx;
} ctx_box;

static int ctx_gc(lua_State *L)
{
    ctx_box *box = luaL_checkudata(L, 1, CTX_KEY);
    mw_ctx_close(box->ctx);
    box->ctx = NULL;
    return 0;
}

static mw_ctx *get_ctx(lua_State *L);

/* Which sampler the context uses, and why (core.sampler()). */
#define SAMPLER_KEY "memwatch.sampler"

static void set_sampler(lua_State *L, const char *name, const char *why)
{
    lua_pushstring(L, name);
    lua_setfield(L, LUA_REGISTRYINDEX, SAMPLER_KEY);
    lua_pushstring(L, why);
    lua_setfield(L, LUA_REGISTRYINDEX, SAMPLER_KEY "_why");
}

/* Why sampling calls fail ("" when they do not). */
static void set_open_error(lua_State *L, const char *text)
{
    lua_pushstring(L, text);
    lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY "_error");
}

static int open_with(lua_State *L, const mw_backend_ops *ops, const char *root, char *why,
                     size_t whylen)
{
    mw_ctx_cfg cfg;
    ctx_box *box;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    cfg.backend = ops;
    cfg.root = root;
    cfg.max_cached_fds = -1;
    cfg.why = why;
    cfg.whylen = whylen;
    box = lua_newuserdatauv(L, sizeof *box, 0);
    box->ctx = NULL; /* closed state first, so __gc is always safe */
    luaL_setmetatable(L, CTX_KEY);
    rc = mw_ctx_open(&cfg, &box->ctx);
    if (rc < 0) {
        lua_pop(L, 1);
        return rc;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY "_instance");
    return 0;
}

/* The native sampler's name in memwatch.sampler(): "proc" on Linux. */
static const char *native_name(void)
{
    return strcmp(sampler_backend->platform, "linux") == 0 ? "proc" : sampler_backend->platform;
}

/*
 * Open the sampler MEMWATCH_SAMPLER asks for (auto when unset): the BPF
 * sampler where it loads, else /proc with the reason. Asked for by name, a
 * sampler that cannot open leaves no context: sampling calls raise why.
 * Returns 0 or the failure's code (its text then set as the open error).
 */
static int open_ctx(lua_State *L, const char *root, const char *mode)
{
    char why[256] = "", text[320];
    int rc;

    if (strcmp(mode, "proc") != 0 && strcmp(mode, "bpf") != 0 && strcmp(mode, "auto") != 0) {
        snprintf(text, sizeof text, "MEMWATCH_SAMPLER is '%s'; it takes proc, bpf or auto", mode);
        set_open_error(L, text);
        return MW_EINVAL;
    }
    if (!bpf_backend()) {
        snprintf(why, sizeof why, "%s",
                 strcmp(sampler_backend->platform, "linux") == 0
                     ? "this memwatch is built without it"
                     : "there is no BPF on this platform");
    } else if (strcmp(mode, "proc") != 0) {
        rc = open_with(L, bpf_backend(), root ? root : "/proc", why, sizeof why);
        if (rc == 0) {
            mw_ctx *ctx = get_ctx(L);
            set_sampler(L, "bpf", mw_ctx_backend(ctx)->detail(mw_ctx_backend_state(ctx)));
            set_open_error(L, "");
            return 0;
        }
    }
    if (strcmp(mode, "bpf") == 0) {
        snprintf(text, sizeof text, "MEMWATCH_SAMPLER=bpf: the BPF sampler cannot load: %s", why);
        set_open_error(L, text);
        return -EPERM;
    }
    if (strcmp(mode, "proc") == 0)
        snprintf(text, sizeof text, "MEMWATCH_SAMPLER=proc");
    else
        snprintf(text, sizeof text, "the BPF sampler cannot load: %s", why);
    rc = open_with(L, sampler_backend, root, NULL, 0);
    if (rc < 0) {
        snprintf(text, sizeof text, "%s: %s", root ? root : "/proc", mw_strerror(rc));
        set_open_error(L, text);
        return rc;
    }
    set_sampler(L, native_name(), text);
    set_open_error(L, "");
    return 0;
}

/* Open the context unless that was tried already (here or by set_root). */
static void open_once(lua_State *L)
{
    const char *root = getenv("MEMWATCH_ROOT"), *mode = getenv("MEMWATCH_SAMPLER");
    int tried = lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY "_tried") != LUA_TNIL;

    lua_pop(L, 1);
    if (tried)
        return;
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY "_tried");
    open_ctx(L, root && *root ? root : NULL, mode && *mode ? mode : "auto");
}

/*
 * The context, opened on first use: loading the BPF program costs more than
 * a command that never scans (units, the prompt's help) should pay. Opened
 * on MEMWATCH_ROOT (or /proc) with the sampler MEMWATCH_SAMPLER names.
 */
static mw_ctx *get_ctx(lua_State *L)
{
    ctx_box *box;
    open_once(L);
    lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY "_instance");
    box = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (!box || !box->ctx) {
        lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY "_error");
        luaL_error(L, "memwatch: the sampler is not open (%s)", lua_tostring(L, -1));
        return NULL; /* not reached: luaL_error raises */
    }
    return box->ctx;
}

mw_ctx *mw_lua_sampler_ctx(lua_State *L)
{
    return get_ctx(L);
}

const char *mw_lua_sampler_user_name(lua_State *L, int64_t uid)
{
    return mw_user_name(get_ctx(L), uid);
}

/* ---- records ------------------------------------------------------------------ */

/*
 * A scan packs its records (lrecord.h) into one buffer while mw_scan runs,
 * then makes a userdata of each once it has returned: nothing can raise
 * inside mw_scan (a memory error unwinding through it would leak its pid
 * list and skip the end-of-scan sweep). The buffer is kept for the next
 * scan, in a box the collector frees. A scan takes the box out of the
 * registry while it uses it: making the userdata can run finalizers, and a
 * finalizer that scans gets a box of its own rather than this one, which is
 * still being read.
 */
#define PACK_BOX "memwatch.pack_box"

struct pack_box {
    char *buf;
    size_t len, cap;
};

static int pack_box_gc(lua_State *L)
{
    struct pack_box *box = luaL_checkudata(L, 1, PACK_BOX);
    mw_free(box->buf);
    box->buf = NULL;
    box->len = box->cap = 0;
    return 0;
}

/* (the registry's PACK_BOX itself is the box's metatable) */
#define PACK_BOX_KEPT PACK_BOX "_buffer"

/* Pushes the kept box, taken out of the registry, or a new one. */
static struct pack_box *take_pack_box(lua_State *L)
{
    struct pack_box *box;
    if (lua_getfield(L, LUA_REGISTRYINDEX, PACK_BOX_KEPT) == LUA_TUSERDATA) {
        lua_pushnil(L);
        lua_setfield(L, LUA_REGISTRYINDEX, PACK_BOX_KEPT);
        box = lua_touserdata(L, -1);
    } else {
        lua_pop(L, 1);
        box = lua_newuserdatauv(L, sizeof *box, 0);
        memset(box, 0, sizeof *box);
        luaL_setmetatable(L, PACK_BOX);
    }
    box->len = 0;
    return box;
}

static unsigned check_want(lua_State *L, int arg)
{
    lua_Integer want = luaL_optinteger(L, arg, MW_SRC_STATUS);
    luaL_argcheck(L, want >= 0 && want <= MW_SRC_ALL, arg, "invalid source mask");
    return (unsigned)want;
}

struct scan_ud {
    struct pack_box *box;
    unsigned want;
    size_t count;
    int failed; /* out of memory */
};

/* One size_t (the packed size) then the packed record, for each process. */
static int scan_cb(void *ud, const mw_proc *p)
{
    struct scan_ud *su = ud;
    struct pack_box *box = su->box;
    size_t n = mw_l_record_size(p), need = box->len + sizeof n + n;

    if (mw_lua_interrupted)
        return 1;
    if (need > box->cap) {
        char *grown = mw_grow(box->buf, &box->cap, need, 1, (size_t)64 * 1024);
        if (!grown) {
            su->failed = 1;
            return 1;
        }
        box->buf = grown;
    }
    memcpy(box->buf + box->len, &n, sizeof n);
    mw_l_record_pack(box->buf + box->len + sizeof n, p, su->want);
    box->len = need;
    su->count++;
    return 0;
}

/* core.scan(want, {pids...}|nil, uid|nil, name|nil) -> array of records */
static int l_scan(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    mw_scan_opts opts;
    struct scan_ud su = {NULL, 0, 0, 0};
    int32_t *pids = NULL;
    int rc, results, mt, boxed;

    memset(&opts, 0, sizeof opts);
    opts.want = check_want(L, 1);
    opts.uid = luaL_optinteger(L, 3, -1);
    opts.name = luaL_optstring(L, 4, NULL);
    if (!lua_isnoneornil(L, 2)) {
        lua_Integer n;
        luaL_checktype(L, 2, LUA_TTABLE);
        n = luaL_len(L, 2);
        /* A userdata buffer: freed by the GC even if an error unwinds. */
        pids = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *pids, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_Integer pid;
            lua_geti(L, 2, i);
            pid = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
            pids[i - 1] = pid > 0 && pid <= INT32_MAX ? (int32_t)pid : -1;
        }
        opts.pids = pids;
        opts.npids = (size_t)n;
    }
    su.box = take_pack_box(L);
    boxed = lua_gettop(L);
    su.want = opts.want;
    rc = mw_scan(ctx, &opts, scan_cb, &su);
    if (su.failed)
        return luaL_error(L, "not enough memory");
    if (rc == 1)
        mw_l_check_interrupt(L);
    lua_createtable(L, su.count < INT_MAX ? (int)su.count : 0, 0);
    results = lua_gettop(L);
    mw_l_record_push_metatable(L);
    mt = lua_gettop(L);
    for (size_t off = 0, i = 0; off < su.box->len; i++) {
        size_t n;
        memcpy(&n, su.box->buf + off, sizeof n);
        mw_l_record_push_packed(L, su.box->buf + off + sizeof n, n, mt);
        lua_rawseti(L, results, (lua_Integer)i + 1);
        off += sizeof n + n;
    }
    lua_pushvalue(L, boxed);
    lua_setfield(L, LUA_REGISTRYINDEX, PACK_BOX_KEPT);
    lua_settop(L, results);
    return 1;
}

/*
 * C results that own memory (a record's path and command line, a ledger's
 * rows) are kept in a userdata while Lua tables are built from them, so a
 * memory error raised meanwhile still frees them (the box's __gc).
 */
#define PROC_BOX    "memwatch.proc_box"
#define LEDGER_BOX  "memwatch.ledger_box"
#define REGIONS_BOX "memwatch.regions_box"
#define APPS_BOX    "memwatch.apps_box"

static int proc_box_gc(lua_State *L)
{
    mw_proc_release(luaL_checkudata(L, 1, PROC_BOX));
    return 0;
}

static int ledger_box_gc(lua_State *L)
{
    mw_ledger_release(luaL_checkudata(L, 1, LEDGER_BOX));
    return 0;
}

static int regions_box_gc(lua_State *L)
{
    mw_regions_release(luaL_checkudata(L, 1, REGIONS_BOX));
    return 0;
}

static int apps_box_gc(lua_State *L)
{
    mw_app_list_release(luaL_checkudata(L, 1, APPS_BOX));
    return 0;
}

static void *new_box(lua_State *L, size_t size, const char *mt)
{
    void *box = lua_newuserdatauv(L, size, 0);
    memset(box, 0, size);
    luaL_setmetatable(L, mt);
    return box;
}

/* core.read(pid, want) -> record | nil, msg, errno */
static int l_read(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    lua_Integer pid = luaL_checkinteger(L, 1);
    unsigned want = check_want(L, 2);
    mw_proc *p;
    int rc;

    if (pid <= 0 || pid > INT32_MAX)
        return mw_l_fail(L, -ESRCH, lua_pushfstring(L, "pid %I", pid));
    p = new_box(L, sizeof *p, PROC_BOX);
    rc = mw_proc_read(ctx, (int32_t)pid, want, p);
    if (rc < 0)
        return mw_l_fail(L, rc == -ENOENT ? -ESRCH : rc, lua_pushfstring(L, "pid %I", pid));
    {
        size_t n = mw_l_record_size(p);
        void *packed = lua_newuserdatauv(L, n, 0); /* p is in its box: an error leaks nothing */
        mw_l_record_pack(packed, p, want);
        mw_l_record_push_metatable(L);
        mw_l_record_push_packed(L, packed, n, -1);
    }
    mw_proc_release(p);
    return 1;
}

static void set_int(lua_State *L, const char *k, int64_t v)
{
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static int l_system(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    mw_system s;
    int rc = mw_system_read(ctx, &s);

    if (rc < 0)
        return mw_l_fail(L, rc, "system memory");
    lua_createtable(L, 0, 12);
#define HAS(bit) (s.present & ((uint64_t)1 << (bit)))
    if (HAS(MW_SYS_TOTAL))
        set_int(L, "total", s.total);
    if (HAS(MW_SYS_AVAILABLE))
        set_int(L, "available", s.available);
    if (HAS(MW_SYS_FREE))
        set_int(L, "free", s.free);
    if (HAS(MW_SYS_SWAP_TOTAL))
        set_int(L, "swap_total", s.swap_total);
    if (HAS(MW_SYS_SWAP_FREE))
        set_int(L, "swap_free", s.swap_free);
    if (HAS(MW_SYS_ACTIVE))
        set_int(L, "active", s.active);
    if (HAS(MW_SYS_INACTIVE))
        set_int(L, "inactive", s.inactive);
    if (HAS(MW_SYS_WIRED))
        set_int(L, "wired", s.wired);
    if (HAS(MW_SYS_COMPRESSED))
        set_int(L, "compressed", s.compressed);
    if (HAS(MW_SYS_PSI)) {
        lua_createtable(L, 0, 4);
        set_num(L, "some_avg10", s.some_avg10);
        set_num(L, "some_avg60", s.some_avg60);
        if (HAS(MW_SYS_PSI_FULL)) {
            set_num(L, "full_avg10", s.full_avg10);
            set_num(L, "full_avg60", s.full_avg60);
        }
        lua_setfield(L, -2, "pressure");
    }
    if (HAS(MW_SYS_PRESSURE_LEVEL)) {
        static const char *const levels[] = {"normal", "warn", "critical"};
        int lvl = s.pressure_level;
        set_int(L, "pressure_level", lvl);
        lua_pushstring(L, lvl >= 4 ? levels[2] : lvl >= 2 ? levels[1] : levels[0]);
        lua_setfield(L, -2, "pressure_state");
    }
#undef HAS
    return 1;
}

/* core.ledger(pid) -> {{group=, name=, balance=, credit=, debit=, unit=}, ...},
 *                     {{group=, source=}, ...} (refused) | nil, msg, errno */
static int l_ledger(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    lua_Integer pid = luaL_checkinteger(L, 1);
    mw_ledger *led;
    int rc;

    if (pid < 0 || pid > INT32_MAX)
        return mw_l_fail(L, -ESRCH, lua_pushfstring(L, "pid %I", pid));
    led = new_box(L, sizeof *led, LEDGER_BOX);
    rc = mw_ledger_read(ctx, (int32_t)pid, led);
    if (rc < 0)
        return mw_l_fail(L, rc == -ENOENT ? -ESRCH : rc, lua_pushfstring(L, "pid %I", pid));
    lua_createtable(L, (int)led->count, 0);
    for (size_t i = 0; i < led->count; i++) {
        const mw_ledger_row *r = &led->rows[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, r->group);
        lua_setfield(L, -2, "group");
        lua_pushstring(L, r->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, r->unit);
        lua_setfield(L, -2, "unit");
        set_int(L, "balance", r->balance);
        if (r->has_credit)
            set_int(L, "credit", r->credit);
        if (r->has_debit)
            set_int(L, "debit", r->debit);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    /* What the system would not let us read, so a short ledger says why: a
     * second value, so the rows stay a plain list (JSON, ipairs, #). */
    lua_createtable(L, (int)led->nrefused, 0);
    for (size_t i = 0; i < led->nrefused; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, led->refused[i].group);
        lua_setfield(L, -2, "group");
        lua_pushstring(L, led->refused[i].source);
        lua_setfield(L, -2, "source");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    mw_ledger_release(led);
    return 2;
}

#define MW_REGION_NAME(id, key, name) [MW_REGION_##id] = (name),
static const char *const region_names[MW_REGION_COUNT] = {MW_REGION_LIST(MW_REGION_NAME)};
#undef MW_REGION_NAME

static void push_region(lua_State *L, const mw_region *r)
{
    char dev[24];

    lua_createtable(L, 0, 24);
    set_int(L, "start", (int64_t)r->start);
    set_int(L, "end", (int64_t)r->end);
    set_int(L, "offset", (int64_t)r->offset);
    set_int(L, "inode", (int64_t)r->inode);
    snprintf(dev, sizeof dev, "%02x:%02x", r->dev_major, r->dev_minor);
    lua_pushstring(L, dev);
    lua_setfield(L, -2, "dev");
    lua_pushstring(L, r->perms);
    lua_setfield(L, -2, "perms");
    if (r->path) {
        lua_pushstring(L, r->path);
        lua_setfield(L, -2, "path");
    }
    lua_pushboolean(L, (r->flags & MW_REGION_SHMEM) != 0);
    lua_setfield(L, -2, "shmem");
    if (r->flags & MW_REGION_DELETED) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "deleted");
    }
    for (int f = 0; f < MW_REGION_COUNT; f++) {
        if ((r->present >> f) & 1u)
            set_int(L, region_names[f], r->v[f]);
    }
    if (r->stack_tid)
        set_int(L, "stack_tid", r->stack_tid);
    if (r->flags & MW_REGION_TAGGED)
        set_int(L, "tag", r->user_tag);
}

/* core.regions(pid) -> {region, ...}, truncated | nil, msg, errno
 * truncated: the listing ended inside a mapping (the process was exiting);
 * that mapping is left out. */
static int l_regions(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    lua_Integer pid = luaL_checkinteger(L, 1);
    mw_regions *rs;
    int rc;

    if (pid <= 0 || pid > INT32_MAX)
        return mw_l_fail(L, -ESRCH, lua_pushfstring(L, "pid %I", pid));
    rs = new_box(L, sizeof *rs, REGIONS_BOX);
    rc = mw_regions_read(ctx, (int32_t)pid, rs);
    if (rc == MW_ENOTSUP) {
        luaL_pushfail(L);
        lua_pushfstring(L, "regions: not supported on %s", mw_ctx_platform(ctx));
        lua_pushinteger(L, ENOTSUP);
        return 3;
    }
    if (rc < 0)
        return mw_l_fail(L, rc == -ENOENT ? -ESRCH : rc, lua_pushfstring(L, "pid %I", pid));
    lua_createtable(L, (int)rs->count, 0);
    for (size_t i = 0; i < rs->count; i++) {
        push_region(L, &rs->rows[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_pushboolean(L, rs->truncated);
    mw_regions_release(rs);
    return 2;
}

static int l_app_key(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    lua_Integer pid = luaL_checkinteger(L, 1);
    char buf[256];
    int rc;

    if (pid <= 0 || pid > INT32_MAX)
        return mw_l_fail(L, -ESRCH, lua_pushfstring(L, "pid %I", pid));
    rc = mw_app_key(ctx, (int32_t)pid, buf, sizeof buf);
    if (rc < 0)
        return mw_l_fail(L, rc, lua_pushfstring(L, "pid %I", pid));
    lua_pushstring(L, buf);
    return 1;
}

/* A ledger's rows as {name = balance} (the totals of an app). */
static void push_totals(lua_State *L, const mw_ledger *l)
{
    lua_createtable(L, 0, (int)l->count);
    for (size_t i = 0; i < l->count; i++)
        set_int(L, l->rows[i].name, l->rows[i].balance);
}

/* core.apps() -> {{key=, leader=, tasks=, totals={name=value}}, ...}
 *               | nil, msg, errno (not supported: linux) */
static int l_apps(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    mw_app_list *apps = new_box(L, sizeof *apps, APPS_BOX);
    int rc = mw_apps_read(ctx, apps);

    if (rc < 0)
        return mw_l_fail(L, rc, "apps");
    lua_createtable(L, (int)apps->count, 0);
    for (size_t i = 0; i < apps->count; i++) {
        const mw_app *a = &apps->apps[i];
        lua_createtable(L, 0, 4);
        lua_pushstring(L, a->key);
        lua_setfield(L, -2, "key");
        if (a->leader > 0)
            set_int(L, "leader", a->leader);
        set_int(L, "tasks", a->tasks);
        push_totals(L, &a->totals);
        lua_setfield(L, -2, "totals");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    mw_app_list_release(apps);
    return 1;
}

/* core.app_totals(key) -> {name=value} | nil, msg, errno */
static int l_app_totals(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    const char *key = luaL_checkstring(L, 1);
    mw_ledger *led = new_box(L, sizeof *led, LEDGER_BOX);
    int rc = mw_app_totals(ctx, key, led);

    if (rc < 0)
        return mw_l_fail(L, rc, lua_pushfstring(L, "app '%s'", key));
    push_totals(L, led);
    mw_ledger_release(led);
    return 1;
}

static void set_text(lua_State *L, const char *k, const char *v)
{
    if (*v) {
        lua_pushstring(L, v);
        lua_setfield(L, -2, k);
    }
}

/* core.cgroup_ids(pid) -> {unit=, container=, runtime=, pod=} (only the ones
 * found) | nil, msg, errno */
static int l_cgroup_ids(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    lua_Integer pid = luaL_checkinteger(L, 1);
    mw_cgroup_ids ids;
    int rc;

    if (pid <= 0 || pid > INT32_MAX)
        return mw_l_fail(L, -ESRCH, lua_pushfstring(L, "pid %I", pid));
    rc = mw_cgroup_ids_read(ctx, (int32_t)pid, &ids);
    if (rc < 0)
        return mw_l_fail(L, rc == -ENOENT ? -ESRCH : rc, lua_pushfstring(L, "pid %I", pid));
    lua_createtable(L, 0, 4);
    set_text(L, "unit", ids.unit);
    set_text(L, "container", ids.container);
    set_text(L, "runtime", ids.runtime);
    set_text(L, "pod", ids.pod);
    return 1;
}

static int l_user_uid(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    const char *name = luaL_checkstring(L, 1);
    int64_t uid;
    if (mw_user_uid(ctx, name, &uid) < 0)
        return mw_l_fail(L, -ENOENT, lua_pushfstring(L, "user '%s'", name));
    lua_pushinteger(L, (lua_Integer)uid);
    return 1;
}

static int l_user_name(lua_State *L)
{
    mw_ctx *ctx = get_ctx(L);
    const char *name = mw_user_name(ctx, luaL_checkinteger(L, 1));
    if (!name)
        return 0;
    lua_pushstring(L, name);
    return 1;
}

/* core.set_root(path): reopen the sampler on another /proc tree (fixtures):
 * the /proc sampler, the only one that reads a tree. */
static int l_set_root(lua_State *L)
{
    const char *root = luaL_checkstring(L, 1);
    int rc;

    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, CTX_KEY "_tried");
    rc = open_ctx(L, root, "proc");
    if (rc < 0)
        return mw_l_fail(L, rc, root);
    set_sampler(L, native_name(), lua_pushfstring(L, "the /proc root is %s", root));
    lua_pushboolean(L, 1);
    return 1;
}

/* core.sampler() -> "bpf" | "proc" (the platform's name elsewhere), why:
 * how the BPF sampler reads this kernel, or why /proc is used; opens the
 * sampler. nil, why when it cannot open (sampling calls raise that). */
static int l_sampler(lua_State *L)
{
    open_once(L);
    if (lua_getfield(L, LUA_REGISTRYINDEX, SAMPLER_KEY) == LUA_TNIL) {
        lua_getfield(L, LUA_REGISTRYINDEX, CTX_KEY "_error");
        return 2;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, SAMPLER_KEY "_why");
    return 2;
}

static void push_field_catalogue(lua_State *L)
{
    static const char *const kinds[] = {"count", "bytes", "seconds", "epoch"};
    lua_createtable(L, 0, MW_F_COUNT + 8);
    for (int f = 0; f < MW_F_COUNT; f++) {
        const mw_field_info *fi = mw_field_get((enum mw_field)f);
        lua_createtable(L, 0, 3);
        lua_pushstring(L, kinds[fi->kind]);
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, (lua_Integer)fi->sources);
        lua_setfield(L, -2, "sources");
        lua_pushinteger(L, f + 1);
        lua_setfield(L, -2, "order");
        lua_setfield(L, -2, fi->name);
    }
}

static const luaL_Reg sampler_funcs[] = {
    {"app_key", l_app_key},   {"app_totals", l_app_totals},
    {"apps", l_apps},         {"cgroup_ids", l_cgroup_ids},
    {"ledger", l_ledger},     {"read", l_read},
    {"regions", l_regions},   {"sampler", l_sampler},
    {"scan", l_scan},         {"set_root", l_set_root},
    {"system", l_system},     {"user_name", l_user_name},
    {"user_uid", l_user_uid}, {NULL, NULL},
};

static void new_metatable(lua_State *L, const char *name, lua_CFunction gc)
{
    if (luaL_newmetatable(L, name)) {
        lua_pushcfunction(L, gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
}

void mw_lua_register_sampler(lua_State *L)
{
    luaL_setfuncs(L, sampler_funcs, 0);
    new_metatable(L, CTX_KEY, ctx_gc);
    new_metatable(L, PROC_BOX, proc_box_gc);
    new_metatable(L, PACK_BOX, pack_box_gc);
    new_metatable(L, LEDGER_BOX, ledger_box_gc);
    new_metatable(L, REGIONS_BOX, regions_box_gc);
    new_metatable(L, APPS_BOX, apps_box_gc);
    /* The sampler opens on first use (get_ctx); the platform is its backend's. */
    lua_pushstring(L, sampler_backend->platform);
    lua_setfield(L, -2, "platform");
    push_field_catalogue(L);
    lua_setfield(L, -2, "fields");
    lua_createtable(L, 0, 6);
    set_int(L, "status", MW_SRC_STATUS);
    set_int(L, "stat", MW_SRC_STAT);
    set_int(L, "smaps", MW_SRC_SMAPS);
    set_int(L, "io", MW_SRC_IO);
    set_int(L, "cmdline", MW_SRC_CMDLINE);
    set_int(L, "path", MW_SRC_PATH);
    set_int(L, "ident", MW_SRC_IDENT);
    lua_setfield(L, -2, "sources");
}
