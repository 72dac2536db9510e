/*
 * core.json_encode(value [, sort_keys]) and core.json_decode(text), on
 * jansson. Lua integers stay exact integers (jansson keeps a 64-bit
 * json_int_t; double-based encoders print sizes above 2^53 wrongly; floats
 * print with 15 significant digits, as exact as the times they carry), and
 * strings that are not valid UTF-8 (process names are arbitrary bytes) have
 * each bad byte replaced by U+FFFD so the output is always valid JSON.
 */
#include "lua/ljson.h"

#include "lua/lrecord.h"
#include "memwatch/text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <lauxlib.h>

#define MAX_DEPTH 64

/*
 * No Lua allocation happens while a jansson tree is being built (a memory
 * error would unwind past it and leak it): the U+FFFD copy is made with
 * malloc.
 */
/* Appends to a buffer big enough for everything (see make_string). */
struct copy {
    char *p;
    size_t len;
};

static void copy_sink(void *ud, const char *p, size_t n)
{
    struct copy *c = ud;
    memcpy(c->p + c->len, p, n);
    c->len += n;
}

static json_t *make_stringn(const char *s, size_t n)
{
    struct copy c = {NULL, 0};
    json_t *j;

    if (mw_utf8_valid_prefix(s, n) == n)
        return json_stringn_nocheck(s, n);
    /* Each bad byte becomes three. */
    if (n > ((size_t)-1 - 1) / 3 || !(c.p = malloc(n * 3 + 1)))
        return NULL;
    mw_utf8_clean(s, n, copy_sink, &c);
    j = json_stringn_nocheck(c.p, c.len);
    free(c.p);
    return j;
}

static json_t *make_string(lua_State *L, int idx)
{
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    return make_stringn(s, n);
}

/* A table is an array when its keys are exactly 1..n (n >= 1). */
static int is_array(lua_State *L, int idx, lua_Integer *len)
{
    lua_Integer n = 0, max = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        n++;
        if (lua_tointeger(L, -1) > max)
            max = lua_tointeger(L, -1);
    }
    *len = n;
    return n > 0 && n == max;
}

static json_t *to_json(lua_State *L, int idx, int depth);

/*
 * Raises on what JSON cannot express, before anything is allocated, so an
 * error never leaves jansson objects behind.
 */
static void check_encodable(lua_State *L, int idx, int depth)
{
    luaL_checkstack(L, 6, "json: nesting");
    if (mw_l_is_record(L, idx)) {
        /* what a script stored in it (its read values are all encodable) */
        lua_getiuservalue(L, idx, 1);
        check_encodable(L, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE)
        return;
    if (depth > MAX_DEPTH)
        luaL_error(L, "json: tables nested too deeply (or a cycle)");
    luaL_checkstack(L, 4, "json: nesting");
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING && !lua_isinteger(L, -2))
            luaL_error(L, "json: object keys must be strings or integers, got %s",
                       luaL_typename(L, -2));
        check_encodable(L, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
}

/* The stack room was made by check_encodable, which walked the same tables
 * to the same depth: growing it here could raise and leak the tree. */
static json_t *table_to_json(lua_State *L, int idx, int depth)
{
    lua_Integer n;
    json_t *out;

    if (is_array(L, idx, &n)) {
        out = json_array();
        for (lua_Integer i = 1; i <= n; i++) {
            json_t *v;
            lua_rawgeti(L, idx, i);
            v = to_json(L, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
            if (v)
                json_array_append_new(out, v);
        }
        return out;
    }
    out = json_object();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        char numkey[32];
        const char *key;
        json_t *v;
        if (lua_type(L, -2) == LUA_TSTRING) {
            key = lua_tostring(L, -2);
        } else {
            snprintf(numkey, sizeof numkey, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, -2));
            key = numkey;
        }
        v = to_json(L, lua_gettop(L), depth + 1);
        if (v)
            json_object_set_new(out, key, v);
        lua_pop(L, 1);
    }
    return out;
}

/* Adds one of a record's values to the object in ud (the "denied" object
 * made on the first refused key). */
struct record_json {
    json_t *out, *denied;
};

static int add_record_value(void *ud, const char *key, enum mw_l_record_kind kind, long long i,
                            double d, const char *s, size_t n)
{
    struct record_json *r = ud;
    json_t *v = NULL;

    switch (kind) {
    case MW_L_REC_INT:
        v = json_integer((json_int_t)i);
        break;
    case MW_L_REC_NUMBER:
        v = isfinite(d) ? json_real(d) : json_null();
        break;
    case MW_L_REC_STRING:
        v = make_stringn(s, n);
        break;
    case MW_L_REC_TRUE:
        v = json_true();
        break;
    case MW_L_REC_DENIED:
        if (!r->denied && (r->denied = json_object()) != NULL)
            json_object_set_new(r->out, "denied", r->denied);
        if (r->denied)
            json_object_set_new(r->denied, key, json_true());
        return 0;
    }
    if (v)
        json_object_set_new(r->out, key, v);
    return 0;
}

/* A process record: an object of its values, then what was stored in it. */
static json_t *record_to_json(lua_State *L, int idx, int depth)
{
    struct record_json r = {json_object(), NULL};

    if (!r.out)
        return NULL;
    mw_l_record_each(L, idx, add_record_value, &r); /* pushes what was stored */
    if (lua_istable(L, -1)) {
        json_t *stored = table_to_json(L, lua_gettop(L), depth);
        if (stored && json_is_object(stored))
            json_object_update(r.out, stored);
        json_decref(stored);
    }
    lua_pop(L, 1);
    return r.out;
}

/* Values JSON has no form for (functions, other userdata) are left out. */
static json_t *to_json(lua_State *L, int idx, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx))
            return json_integer((json_int_t)lua_tointeger(L, idx));
        if (!isfinite(lua_tonumber(L, idx)))
            return json_null();
        return json_real(lua_tonumber(L, idx));
    case LUA_TSTRING:
        return make_string(L, idx);
    case LUA_TTABLE:
        return table_to_json(L, idx, depth);
    case LUA_TUSERDATA:
        return mw_l_is_record(L, idx) ? record_to_json(L, idx, depth) : NULL;
    default:
        return NULL;
    }
}

/*
 * What a call holds outside Lua's heap (a jansson tree, the text jansson
 * printed), in a userdata whose __gc frees it: a Lua error (a memory error
 * above all) that unwinds the call leaks nothing.
 */
#define JSON_BOX_KEY "memwatch.json_box"

typedef struct json_box {
    json_t *j;
    char *text;
} json_box;

static void json_free_text(char *text)
{
    json_malloc_t m;
    json_free_t f;
    json_get_alloc_funcs(&m, &f);
    (f ? f : free)(text);
}

static int json_box_gc(lua_State *L)
{
    json_box *box = luaL_checkudata(L, 1, JSON_BOX_KEY);
    if (box->j)
        json_decref(box->j);
    if (box->text)
        json_free_text(box->text);
    box->j = NULL;
    box->text = NULL;
    return 0;
}

static json_box *new_json_box(lua_State *L)
{
    json_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->j = NULL;
    box->text = NULL;
    luaL_setmetatable(L, JSON_BOX_KEY);
    return box;
}

static int l_json_encode(lua_State *L)
{
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);
    json_box *box;

    luaL_checkany(L, 1);
    if (lua_toboolean(L, 2))
        flags |= JSON_SORT_KEYS;
    lua_settop(L, 1);
    check_encodable(L, 1, 0);
    box = new_json_box(L);
    box->j = to_json(L, 1, 0);
    if (!box->j)
        return luaL_error(L, "json: cannot encode a %s", luaL_typename(L, 1));
    box->text = json_dumps(box->j, flags);
    json_decref(box->j);
    box->j = NULL;
    if (!box->text)
        return luaL_error(L, "json: encoding failed");
    lua_pushstring(L, box->text);
    json_free_text(box->text);
    box->text = NULL;
    return 1;
}

static void push_json(lua_State *L, json_t *j, int depth)
{
    luaL_checkstack(L, 4, "json: nesting");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        lua_createtable(L, 0, (int)json_object_size(j));
        json_object_foreach(j, key, v)
        {
            if (json_is_null(v))
                continue;
            push_json(L, v, depth + 1);
            lua_setfield(L, -2, key);
        }
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        lua_createtable(L, (int)json_array_size(j), 0);
        json_array_foreach(j, i, v)
        {
            push_json(L, v, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(j));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(j));
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    default:
        lua_pushnil(L);
    }
}

/* json_decode(text) -> value | nil, message (line:column) */
static int l_json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    json_box *box = new_json_box(L);
    json_error_t err;

    box->j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!box->j) {
        luaL_pushfail(L);
        lua_pushfstring(L, "json: %s at line %d, column %d", err.text, err.line, err.column);
        return 2;
    }
    push_json(L, box->j, 0);
    json_decref(box->j);
    box->j = NULL;
    return 1;
}

void mw_lua_register_json(lua_State *L)
{
    if (luaL_newmetatable(L, JSON_BOX_KEY)) {
        lua_pushcfunction(L, json_box_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
}
