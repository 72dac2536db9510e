/*
 * Process records as Lua sees them: a small userdata holding the values a
 * read gave, packed (the fields present, the name, comm, path and command
 * line), with the metatable "memwatch.process" making it read like a table.
 * A record costs one allocation and no hashing; a field becomes a Lua value
 * when it is read. Whatever a script stores in a record, and whatever a lazy
 * read adds (pss, cmdline, ...), goes into a table of its own, made on the
 * first such write.
 */
#ifndef MEMWATCH_LUA_LRECORD_H
#define MEMWATCH_LUA_LRECORD_H

#include <stddef.h>
#include <stdint.h>

#include <lua.h>

#include "memwatch/memwatch.h"

/* The bytes the packed form of p takes. */
size_t mw_l_record_size(const mw_proc *p);

/* Packs p into dst (mw_l_record_size(p) bytes, aligned for int64_t);
 * attempted: the MW_SRC_* bits the read was asked for, so a lazy read of
 * them is not tried again. */
void mw_l_record_pack(void *dst, const mw_proc *p, unsigned attempted);

/* Pushes a record made from a packed one (mw_l_record_pack) of size bytes;
 * the record metatable must be at index mt. May raise a memory error. */
void mw_l_record_push_packed(lua_State *L, const void *packed, size_t size, int mt);

/* Pushes the record metatable. */
void mw_l_record_push_metatable(lua_State *L);

/* Whether the value at idx is a record. */
int mw_l_is_record(lua_State *L, int idx);

/* What mw_l_record_each gives for each key. */
enum mw_l_record_kind {
    MW_L_REC_INT,    /* i */
    MW_L_REC_NUMBER, /* d */
    MW_L_REC_STRING, /* s, n */
    MW_L_REC_TRUE,
    MW_L_REC_DENIED /* key is a field the system refused to give */
};
typedef int (*mw_l_record_fn)(void *ud, const char *key, enum mw_l_record_kind kind, long long i,
                              double d, const char *s, size_t n);

/*
 * Calls fn for each value the record at idx holds from its read (not what a
 * script stored in it: that table is pushed, or nil), with no Lua
 * allocation; stops at fn's first non-zero return, which it returns.
 */
int mw_l_record_each(lua_State *L, int idx, mw_l_record_fn fn, void *ud);

/* The name of user uid, or NULL; allocates nothing in L. */
typedef const char *(*mw_l_user_name_fn)(lua_State *L, int64_t uid);

/* Adds record_metatable, set_record_fallback, peek, is_record,
 * record_attempted, record_attempt and record_merge to the memwatch.core
 * table on top; a record's `user` comes from user_names. */
void mw_lua_register_record(lua_State *L, mw_l_user_name_fn user_names);

#endif
