/*
 * Alert delivery in memwatch.core: the Lua face of src/delivery (HTTP
 * requests through libcurl's multi interface). One engine per Lua state,
 * made on first use; destinations are userdata. Policy (bodies, labels,
 * re-posting, what a report looks like) is in Lua: memwatch.delivery and
 * memwatch.actions.alertmanager / .webhook.
 *
 * The engine is driven from the one wait (lsignal.c, lhttp.c): each wait
 * also watches the engine's descriptors and ends no later than its timeout,
 * and each wake-up lets it progress, so a tick's sleep moves deliveries
 * along without ever waiting for them.
 */
#ifndef MEMWATCH_LUA_LDELIVERY_H
#define MEMWATCH_LUA_LDELIVERY_H

#include <poll.h>
#include <stddef.h>

#include <lua.h>

/* How long the executable's exit waits for deliveries still under way. */
#define MW_L_DELIVERY_EXIT_SECONDS 5.0

/*
 * Before a wait: appends the descriptors the delivery engine waits on to
 * fds (from fds[*n], at most cap entries in all, *n updated), and lowers
 * *seconds to when the engine has work anyway. Nothing without an engine.
 */
void mw_l_delivery_wait_fds(lua_State *L, struct pollfd *fds, size_t cap, size_t *n,
                            double *seconds);

/*
 * After a wait: progress without blocking, then hand what the engine has to
 * report to the Lua reporter (core.delivery_reporter). Nothing without an
 * engine.
 */
void mw_l_delivery_progress(lua_State *L);

/*
 * The executable's normal exit: wait up to seconds for what is queued or in
 * flight, reporting as usual and naming what is left unsent.
 */
void mw_l_delivery_finish(lua_State *L, double seconds);

/*
 * Adds delivery_destination, delivery_perform, delivery_flush,
 * delivery_reporter, redact_url and hostname to the memwatch.core table on
 * top of the stack.
 */
void mw_lua_register_delivery(lua_State *L);

#endif
