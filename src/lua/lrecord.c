/*
 * Process records: packed values in a userdata, read through __index
 * (lrecord.h). A table per record, made at its final size, cost about nine
 * thousand instructions a record under the BPF sampler (twenty hashed
 * inserts, two allocations, the collector's work on 0.8 KiB); this is one
 * allocation of about 200 bytes and a copy.
 */
#include "lua/lrecord.h"

#include "memwatch/fields.h"

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>

#define RECORD_MT "memwatch.process"

/* Keys besides the catalogue's fields (which are codes 0..MW_F_COUNT-1). */
enum {
    K_NAME = MW_F_COUNT,
    K_COMM,
    K_STATE,
    K_USER,
    K_PATH,
    K_CMDLINE,
    K_KERNEL_THREAD,
    K_DENIED,
    K_COUNT
};

static const char *const extra_keys[K_COUNT - MW_F_COUNT] = {
    "name", "comm", "state", "user", "path", "cmdline", "kernel_thread", "denied",
};

/* The name of key code k. */
static const char *key_name(int k)
{
    return k < MW_F_COUNT ? mw_field_get((enum mw_field)k)->name : extra_keys[k - MW_F_COUNT];
}

/* The packed record; the values of the fields present follow (in field
 * order), then the name, comm, path and command line, unterminated. */
struct lrec {
    uint64_t present;
    uint32_t read, denied, attempted, flags;
    uint32_t cmdline_len; /* length + 1; 0 when unknown */
    uint16_t path_len;    /* length + 1; 0 when unknown */
    uint8_t name_len;
    uint8_t comm_len; /* 0: comm is the name */
    uint8_t has_name;
    char state;
    int64_t v[];
};

static int fallback_key; /* registry: the Lua function for keys a record lacks */

/* The sampler's user names (the same function for every state). */
static mw_l_user_name_fn user_name_of;

static int count_bits(uint64_t m)
{
    int n = 0;
    for (; m; m &= m - 1)
        n++;
    return n;
}

static size_t cap(size_t n, size_t max)
{
    return n < max ? n : max;
}

size_t mw_l_record_size(const mw_proc *p)
{
    int has_name = p->name[0] || (p->read & (MW_SRC_STATUS | MW_SRC_STAT));
    size_t name = cap(strlen(p->name), UINT8_MAX);
    size_t n = sizeof(struct lrec) + (size_t)count_bits(p->present) * sizeof(int64_t);

    if (has_name) {
        n += name;
        if (p->comm[0] && strcmp(p->comm, p->name) != 0)
            n += cap(strlen(p->comm), UINT8_MAX);
    }
    if (p->path)
        n += cap(strlen(p->path), UINT16_MAX - 1);
    if (p->cmdline)
        n += cap(strlen(p->cmdline), UINT32_MAX - 1);
    /* whole int64_t slots, so packed records can follow one another */
    return (n + sizeof(int64_t) - 1) & ~(sizeof(int64_t) - 1);
}

void mw_l_record_pack(void *dst, const mw_proc *p, unsigned attempted)
{
    struct lrec *r = dst;
    char *s;
    int k = 0;

    memset(r, 0, sizeof *r);
    r->present = p->present;
    r->read = p->read;
    r->denied = p->denied;
    r->attempted = attempted;
    r->flags = p->flags;
    r->state = p->state;
    for (int f = 0; f < MW_F_COUNT; f++)
        if (mw_proc_has(p, (enum mw_field)f))
            r->v[k++] = p->v[f];
    s = (char *)&r->v[k];
    r->has_name = p->name[0] || (p->read & (MW_SRC_STATUS | MW_SRC_STAT));
    if (r->has_name) {
        r->name_len = (uint8_t)cap(strlen(p->name), UINT8_MAX);
        memcpy(s, p->name, r->name_len);
        s += r->name_len;
        if (p->comm[0] && strcmp(p->comm, p->name) != 0) {
            r->comm_len = (uint8_t)cap(strlen(p->comm), UINT8_MAX);
            memcpy(s, p->comm, r->comm_len);
            s += r->comm_len;
        }
    }
    if (p->path) {
        size_t n = cap(strlen(p->path), UINT16_MAX - 1);
        r->path_len = (uint16_t)(n + 1);
        memcpy(s, p->path, n);
        s += n;
    }
    if (p->cmdline) {
        size_t n = cap(strlen(p->cmdline), UINT32_MAX - 1);
        r->cmdline_len = (uint32_t)(n + 1);
        memcpy(s, p->cmdline, n);
    }
}

static const char *name_of(const struct lrec *r)
{
    return (const char *)&r->v[count_bits(r->present)];
}

static const char *path_of(const struct lrec *r)
{
    return name_of(r) + r->name_len + r->comm_len;
}

static const char *cmdline_of(const struct lrec *r)
{
    return path_of(r) + (r->path_len ? r->path_len - 1 : 0);
}

static int has_field(const struct lrec *r, int f)
{
    return (int)((r->present >> f) & 1u);
}

static int64_t field_value(const struct lrec *r, int f)
{
    return r->v[count_bits(r->present & (((uint64_t)1 << f) - 1))];
}

static int is_seconds(int f)
{
    enum mw_kind kind = mw_field_get((enum mw_field)f)->kind;
    return kind == MW_KIND_SECONDS || kind == MW_KIND_EPOCH;
}

/* Whether field f is nil because the system refused the sources it needs. */
static int field_denied(const struct lrec *r, int f)
{
    const mw_field_info *fi = mw_field_get((enum mw_field)f);
    return (fi->sources & r->denied) && !(fi->sources & r->read) && !has_field(r, f);
}

/* Calls fn for each refused key; stops at its first non-zero return. */
static int each_denied(const struct lrec *r, mw_l_record_fn fn, void *ud)
{
    int rc = 0;
    for (int f = 0; f < MW_F_COUNT && !rc; f++)
        if (field_denied(r, f))
            rc = fn(ud, mw_field_get((enum mw_field)f)->name, MW_L_REC_DENIED, 0, 0, NULL, 0);
    if (!rc && (r->denied & MW_SRC_CMDLINE))
        rc = fn(ud, "cmdline", MW_L_REC_DENIED, 0, 0, NULL, 0);
    if (!rc && (r->denied & MW_SRC_PATH))
        rc = fn(ud, "path", MW_L_REC_DENIED, 0, 0, NULL, 0);
    return rc;
}

/*
 * Gives the value of key code k of r to fn (nothing when r has none);
 * returns fn's result, or 0. The user name needs the sampler's table of
 * names: L is used for it alone, and allocates nothing.
 */
static int give(lua_State *L, const struct lrec *r, int k, mw_l_record_fn fn, void *ud)
{
    const char *key = key_name(k);

    if (k < MW_F_COUNT) {
        if (!has_field(r, k))
            return 0;
        if (is_seconds(k))
            return fn(ud, key, MW_L_REC_NUMBER, 0, (double)field_value(r, k) / 1e9, NULL, 0);
        return fn(ud, key, MW_L_REC_INT, (long long)field_value(r, k), 0, NULL, 0);
    }
    switch (k) {
    case K_NAME:
        return r->has_name ? fn(ud, key, MW_L_REC_STRING, 0, 0, name_of(r), r->name_len) : 0;
    case K_COMM:
        if (!r->has_name)
            return 0;
        if (r->comm_len)
            return fn(ud, key, MW_L_REC_STRING, 0, 0, name_of(r) + r->name_len, r->comm_len);
        return fn(ud, key, MW_L_REC_STRING, 0, 0, name_of(r), r->name_len);
    case K_STATE:
        return r->state ? fn(ud, key, MW_L_REC_STRING, 0, 0, &r->state, 1) : 0;
    case K_USER:
        if (has_field(r, MW_F_UID)) {
            const char *user = user_name_of ? user_name_of(L, field_value(r, MW_F_UID)) : NULL;
            if (user)
                return fn(ud, key, MW_L_REC_STRING, 0, 0, user, strlen(user));
        }
        return 0;
    case K_PATH:
        return r->path_len ? fn(ud, key, MW_L_REC_STRING, 0, 0, path_of(r), r->path_len - 1u) : 0;
    case K_CMDLINE:
        return r->cmdline_len
                   ? fn(ud, key, MW_L_REC_STRING, 0, 0, cmdline_of(r), r->cmdline_len - 1u)
                   : 0;
    case K_KERNEL_THREAD:
        return (r->flags & MW_PROC_KTHREAD) ? fn(ud, key, MW_L_REC_TRUE, 0, 0, NULL, 0) : 0;
    default: /* K_DENIED: each_denied */
        return 0;
    }
}

/* A give() target that pushes the value (1: pushed). */
static int push_one(void *ud, const char *key, enum mw_l_record_kind kind, long long i, double d,
                    const char *s, size_t n)
{
    lua_State *L = ud;
    (void)key;
    switch (kind) {
    case MW_L_REC_INT:
        lua_pushinteger(L, (lua_Integer)i);
        break;
    case MW_L_REC_NUMBER:
        lua_pushnumber(L, d);
        break;
    case MW_L_REC_STRING:
        lua_pushlstring(L, s, n);
        break;
    default:
        lua_pushboolean(L, 1);
    }
    return 1;
}

static int add_denied(void *ud, const char *key, enum mw_l_record_kind kind, long long i, double d,
                      const char *s, size_t n)
{
    lua_State *L = ud;
    (void)kind, (void)i, (void)d, (void)s, (void)n;
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, key);
    return 0;
}

/* Pushes the value of key code k; 0 (nothing pushed) when r has none. */
static int push_key(lua_State *L, const struct lrec *r, int k)
{
    if (k == K_DENIED) {
        if (!r->denied)
            return 0;
        lua_createtable(L, 0, 4);
        each_denied(r, add_denied, L);
        return 1;
    }
    return give(L, r, k, push_one, L);
}

static struct lrec *to_record(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, RECORD_MT);
}

/* The key code of the key at idx (upvalue 1 maps names to codes), or -1. */
static int key_code(lua_State *L, int idx)
{
    int k = -1;
    if (lua_type(L, idx) != LUA_TSTRING)
        return -1;
    lua_pushvalue(L, idx);
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNUMBER)
        k = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return k;
}

/* Pushes what record r (at rec) holds for the key at key, without a lazy
 * read: what was stored in it first, then its packed values; 0 when none
 * (nothing pushed). */
static int push_held(lua_State *L, const struct lrec *r, int rec, int key)
{
    int k;
    if (lua_getiuservalue(L, rec, 1) == LUA_TTABLE) {
        lua_pushvalue(L, key);
        if (lua_rawget(L, -2) != LUA_TNIL) {
            lua_remove(L, -2);
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    k = key_code(L, key);
    return k >= 0 && push_key(L, r, k);
}

/* The record a metamethod was called on (argument 1): the metamethods can
 * be taken from the metatable and called on anything. mt: the upvalue that
 * holds the record metatable. */
static struct lrec *self_record(lua_State *L, int mt)
{
    struct lrec *r = lua_touserdata(L, 1);
    if (r && lua_getmetatable(L, 1)) {
        int same = lua_rawequal(L, -1, lua_upvalueindex(mt));
        lua_pop(L, 1);
        if (same)
            return r;
    }
    luaL_typeerror(L, 1, RECORD_MT);
    return NULL; /* not reached */
}

static int rec_index(lua_State *L)
{
    const struct lrec *r = self_record(L, 2);
    if (push_held(L, r, 1, 2))
        return 1;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &fallback_key) != LUA_TFUNCTION)
        return 0;
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

/* Pushes the table of what was stored in the record at idx, made if need. */
static void push_stored(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_getiuservalue(L, idx, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 2);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, idx, 1);
    }
}

static int rec_newindex(lua_State *L)
{
    self_record(L, 1);
    luaL_argcheck(L, !lua_isnil(L, 2), 2, "a record's key cannot be nil");
    push_stored(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

/* Pushes a plain table of everything the record at idx holds. */
static void push_as_table(lua_State *L, int idx)
{
    const struct lrec *r = lua_touserdata(L, idx);
    idx = lua_absindex(L, idx);
    lua_createtable(L, 0, count_bits(r->present) + 6);
    for (int k = 0; k < K_COUNT; k++) {
        const char *key = key_name(k);
        if (push_key(L, r, k))
            lua_setfield(L, -2, key);
    }
    if (lua_getiuservalue(L, idx, 1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -5);
        }
    }
    lua_pop(L, 1);
}

static int table_next(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_next(L, 1))
        return 2;
    lua_pushnil(L);
    return 1;
}

/* pairs(rec): over a plain copy (records are read whole rarely: printing,
 * formats that show every field). */
static int rec_pairs(lua_State *L)
{
    self_record(L, 1);
    lua_pushcfunction(L, table_next);
    push_as_table(L, 1);
    lua_pushnil(L);
    return 3;
}

/* core.peek(rec, key) -> what the record holds for key, with no lazy read;
 * rawget for a table (a replayed or grouped row). */
static int l_peek(lua_State *L)
{
    const struct lrec *r;
    lua_settop(L, 2);
    if (lua_istable(L, 1)) {
        lua_rawget(L, 1);
        return 1;
    }
    r = to_record(L, 1);
    luaL_argexpected(L, r != NULL, 1, "process record or table");
    if (!push_held(L, r, 1, 2))
        lua_pushnil(L);
    return 1;
}

static struct lrec *check_record(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, RECORD_MT);
}

/* core.record_attempted(rec) -> the MW_SRC_* bits (and bits of scan.lua's
 * own) already read, or tried, for it */
static int l_record_attempted(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_record(L, 1)->attempted);
    return 1;
}

/* core.record_attempt(rec, bits): adds bits to what was tried */
static int l_record_attempt(lua_State *L)
{
    struct lrec *r = check_record(L, 1);
    r->attempted |= (uint32_t)luaL_checkinteger(L, 2);
    return 0;
}

/* core.record_merge(rec, fresh): what fresh holds and rec does not, stored
 * in rec; fresh's read and refused sources added to rec's. */
static int l_record_merge(lua_State *L)
{
    struct lrec *r = check_record(L, 1);
    const struct lrec *fresh = check_record(L, 2);

    lua_settop(L, 2);
    push_stored(L, 1); /* 3 */
    for (int k = 0; k < K_COUNT; k++) {
        int stored;
        if (k == K_DENIED || (k < MW_F_COUNT && has_field(r, k)))
            continue;
        lua_pushstring(L, key_name(k)); /* 4 */
        lua_pushvalue(L, 4);
        stored = lua_rawget(L, 3) != LUA_TNIL;
        lua_pop(L, 1);
        /* (a field r has is skipped above; push_key below pushes r's own) */
        if (!stored && (k < MW_F_COUNT || !push_key(L, r, k)) && push_key(L, fresh, k))
            lua_rawset(L, 3); /* stored[key] = fresh's */
        lua_settop(L, 3);
    }
    r->read |= fresh->read;
    r->denied |= fresh->denied;
    return 0;
}

/* core.record_metatable() -> the metatable records share (scan.lua adds
 * __tostring) */
static int l_record_metatable(lua_State *L)
{
    mw_l_record_push_metatable(L);
    return 1;
}

/* core.set_record_fallback(fn): fn(rec, key) answers a key a record does
 * not hold (the lazily read fields) */
static int l_set_record_fallback(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &fallback_key);
    return 0;
}

void mw_l_record_push_metatable(lua_State *L)
{
    luaL_getmetatable(L, RECORD_MT);
}

int mw_l_is_record(lua_State *L, int idx)
{
    return to_record(L, idx) != NULL;
}

void mw_l_record_push_packed(lua_State *L, const void *packed, size_t size, int mt)
{
    mt = lua_absindex(L, mt);
    memcpy(lua_newuserdatauv(L, size, 1), packed, size);
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
}

int mw_l_record_each(lua_State *L, int idx, mw_l_record_fn fn, void *ud)
{
    const struct lrec *r = to_record(L, idx);
    int rc = 0;

    idx = lua_absindex(L, idx);
    for (int k = 0; k < K_COUNT && !rc; k++)
        rc = k == K_DENIED ? each_denied(r, fn, ud) : give(L, r, k, fn, ud);
    lua_getiuservalue(L, idx, 1);
    return rc;
}

/* core.is_record(v) -> whether v is a process record */
static int l_is_record(lua_State *L)
{
    lua_pushboolean(L, mw_l_is_record(L, 1));
    return 1;
}

static const luaL_Reg record_funcs[] = {
    {"is_record", l_is_record},
    {"peek", l_peek},
    {"record_attempt", l_record_attempt},
    {"record_attempted", l_record_attempted},
    {"record_merge", l_record_merge},
    {"record_metatable", l_record_metatable},
    {"set_record_fallback", l_set_record_fallback},
    {NULL, NULL},
};

/* Pushes the table from key names to key codes. */
static void push_key_codes(lua_State *L)
{
    lua_createtable(L, 0, K_COUNT);
    for (int k = 0; k < K_COUNT; k++) {
        lua_pushinteger(L, k);
        lua_setfield(L, -2, key_name(k));
    }
}

void mw_lua_register_record(lua_State *L, mw_l_user_name_fn user_names)
{
    user_name_of = user_names;
    push_key_codes(L);
    lua_pushvalue(L, -1);
    lua_insert(L, -3);                 /* codes, core, codes */
    luaL_setfuncs(L, record_funcs, 1); /* peek needs the codes, the rest ignore them */
    if (luaL_newmetatable(L, RECORD_MT)) {
        lua_pushvalue(L, -3);
        lua_pushvalue(L, -2);
        lua_pushcclosure(L, rec_index, 2);
        lua_setfield(L, -2, "__index");
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, rec_newindex, 1);
        lua_setfield(L, -2, "__newindex");
        lua_pushvalue(L, -1);
        lua_pushcclosure(L, rec_pairs, 1);
        lua_setfield(L, -2, "__pairs");
    }
    lua_pop(L, 1);
    lua_remove(L, -2);
}
