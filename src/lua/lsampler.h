/* The sampler binding of memwatch.core: scan, read, system, ledger, app_key,
 * user names, set_root, fields, sources, platform. Records: lrecord.h. */
#ifndef MEMWATCH_LUA_LSAMPLER_H
#define MEMWATCH_LUA_LSAMPLER_H

#include <stdint.h>

#include <lua.h>

/*
 * Adds the sampler's functions and tables to the memwatch.core table on top
 * of the stack. The sampler opens on first use, on MEMWATCH_ROOT (or /proc),
 * with the sampler MEMWATCH_SAMPLER names (proc, bpf, auto: the default);
 * when it cannot open, sampling calls raise why.
 */
void mw_lua_register_sampler(lua_State *L);

struct mw_ctx;
/* The state's sampler context; raises when the sampler could not open. */
struct mw_ctx *mw_lua_sampler_ctx(lua_State *L);

/* The name of user uid from the sampler's table of names, or NULL (raises
 * as mw_lua_sampler_ctx does). */
const char *mw_lua_sampler_user_name(lua_State *L, int64_t uid);

#endif
