/* The sampler binding of memwatch.core: scan, read, system, ledger, app_key,
 * user names, set_root, set_record_metatable, fields, sources, platform. */
#ifndef MEMWATCH_LUA_LSAMPLER_H
#define MEMWATCH_LUA_LSAMPLER_H

#include <lua.h>

/*
 * Opens the sampler on MEMWATCH_ROOT (or /proc) and adds its functions and
 * tables to the memwatch.core table on top of the stack. When the sampler
 * cannot open, the table gets open_error and sampling calls raise.
 */
void mw_lua_register_sampler(lua_State *L);

struct mw_ctx;
/* The state's sampler context; raises when the sampler could not open. */
struct mw_ctx *mw_lua_sampler_ctx(lua_State *L);

#endif
