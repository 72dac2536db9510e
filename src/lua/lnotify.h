/*
 * Talking to the service manager in memwatch.core: notify (the sd_notify(3)
 * datagram to $NOTIFY_SOCKET) and stream_id (which journal stream a file is
 * connected to, for systemd.exec(5)'s $JOURNAL_STREAM). Policy (what to send
 * when, which levels to prefix) is in Lua: memwatch.service and memwatch.log.
 */
#ifndef MEMWATCH_LUA_LNOTIFY_H
#define MEMWATCH_LUA_LNOTIFY_H

#include <lua.h>

/* Adds notify and stream_id to the memwatch.core table on top of the stack. */
void mw_lua_register_notify(lua_State *L);

#endif
