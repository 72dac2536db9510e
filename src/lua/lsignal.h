/*
 * Signals in memwatch.core: the interrupt flag, the signals a long-running
 * command catches (SIGINT, SIGTERM, SIGHUP), and the one wait primitive that
 * sleep, wait_signal and the HTTP server's serve block in.
 */
#ifndef MEMWATCH_LUA_LSIGNAL_H
#define MEMWATCH_LUA_LSIGNAL_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>

#include <lua.h>

/*
 * The interrupt flag: set by the executable's SIGINT handler (app/lstate.c)
 * while scripts run uncaught. The waits and the scan loop look at it so
 * Ctrl-C stops them even while no Lua code runs (a count hook fires only
 * between Lua instructions).
 */
extern volatile sig_atomic_t mw_lua_interrupted;

/* If the interrupt flag is set, clear it and raise "interrupted!". */
void mw_l_check_interrupt(lua_State *L);

/* A signal given at arg as a number or a name ("TERM", "SIGTERM"); raises
 * for anything else. */
int mw_l_check_signal(lua_State *L, int arg);

/*
 * The wait. Between mw_l_wait_begin and mw_l_wait_end SIGINT, SIGTERM and
 * SIGHUP are blocked, so whatever the caller checks in between (a pending
 * signal, a poll function) cannot miss one: mw_l_wait_fds unblocks them only
 * inside the wait itself (ppoll or pselect with the saved mask), and a
 * signal that arrived meanwhile ends the wait at once.
 */
typedef struct mw_l_wait {
    sigset_t saved; /* the mask before mw_l_wait_begin */
} mw_l_wait;

enum {
    /* End the wait (or skip it) for a caught signal too, not only for the
     * interrupt flag. */
    MW_L_WAKE_CAUGHT = 1u << 0
};

void mw_l_wait_begin(mw_l_wait *w);
void mw_l_wait_end(const mw_l_wait *w);

/*
 * Waits up to seconds for one of fds (may be NULL when nfds is 0) to be
 * ready. Returns how many are ready (revents set), 0 when the time ran out,
 * -EINTR when a signal ended the wait or the interrupt flag (or, with
 * MW_L_WAKE_CAUGHT, a caught signal) was already set, or another -errno.
 */
int mw_l_wait_fds(const mw_l_wait *w, struct pollfd *fds, size_t nfds, double seconds,
                  unsigned flags);

/*
 * Adds sleep, interrupted, signals, catch_signals, take_signal and
 * wait_signal to the memwatch.core table on top of the stack.
 */
void mw_lua_register_signal(lua_State *L);

#endif
