/*
 * Datagrams to local sockets in memwatch.core: send_datagram, the primitive
 * under memwatch.actions.syslog (which formats the message and decides what
 * to say when no one listens).
 */
#ifndef MEMWATCH_LUA_LDATAGRAM_H
#define MEMWATCH_LUA_LDATAGRAM_H

#include <lua.h>

/* Adds send_datagram to the memwatch.core table on top of the stack. */
void mw_lua_register_datagram(lua_State *L);

#endif
