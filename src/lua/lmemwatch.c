/*
 * memwatch.core: the C primitives under the memwatch Lua module. This file
 * only puts the bindings together; each concern has its own file:
 *
 *   lsampler.c  the sampler: records, system memory, ledgers, regions, users
 *   loom.c      OOM-kill evidence: the kernel's kill count and log
 *   lunits.c    sizes, durations, clocks
 *   ltext.c     printable text and UTF-8 cleaning
 *   lproc.c     process control: spawn, reap, kill
 *   lsignal.c   the interrupt flag, caught signals, the one wait
 *   llimits.c   the instruction budget and the memory cap
 *   ljson.c     JSON
 *   lhttp.c     the HTTP server of memwatch serve
 *   lnotify.c   the service manager: readiness datagrams, journal streams
 *   ldatagram.c datagrams to local sockets (the system log)
 *   ldelivery.c alert delivery over HTTP (libcurl), driven from the one wait
 *   ltrend.c    a growth rule's window of least-squares moments
 *
 * The curses binding (lcurses.c, memwatch.curses) is a module of its own,
 * registered by the executable only (app/lstate.c): the memwatch/core.so
 * module for a stock lua5.4 does not link ncurses.
 */
#include "lua/lmemwatch.h"

#include "lua/ldatagram.h"
#include "lua/ldelivery.h"
#include "lua/lhttp.h"
#include "lua/ljson.h"
#include "lua/llimits.h"
#include "lua/lnotify.h"
#include "lua/loom.h"
#include "lua/lproc.h"
#include "lua/lrecord.h"
#include "lua/lsampler.h"
#include "lua/lsignal.h"
#include "lua/ltext.h"
#include "lua/ltrend.h"
#include "lua/lunits.h"
#include "lua/lwebconfig.h"

#include "memwatch/version.h"

#include <lauxlib.h>

int luaopen_memwatch_core(lua_State *L)
{
    luaL_checkversion(L);
    lua_newtable(L);
    mw_lua_register_units(L);
    mw_lua_register_text(L);
    mw_lua_register_proc(L);
    mw_lua_register_signal(L);
    mw_lua_register_limits(L);
    mw_lua_register_json(L);
    mw_lua_register_http(L);
    mw_lua_register_webconfig(L);
    mw_lua_register_notify(L);
    mw_lua_register_datagram(L);
    mw_lua_register_delivery(L);
    mw_lua_register_sampler(L);
    mw_lua_register_record(L, mw_lua_sampler_user_name);
    mw_lua_register_oom(L);
    mw_lua_register_trend(L);
    lua_pushstring(L, MW_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}
