/*
 * Signals and the one wait: see lsignal.h. Policy (what a signal means to a
 * command) stays in Lua; this file only records signals and waits for them.
 *
 * Conventions as in the other bindings: misuse raises; a failure of the
 * environment returns nil, message, errno.
 */
#include "lua/lsignal.h"

#include "lua/ldelivery.h"
#include "memwatch/memwatch.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include <lauxlib.h>

volatile sig_atomic_t mw_lua_interrupted = 0;

void mw_l_check_interrupt(lua_State *L)
{
    if (mw_lua_interrupted) {
        mw_lua_interrupted = 0;
        luaL_error(L, "interrupted!");
    }
}

/* ---- signal names ------------------------------------------------------------ */

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {NULL, 0},
};

int mw_l_check_signal(lua_State *L, int arg)
{
    const char *name;
    if (lua_type(L, arg) == LUA_TNUMBER) {
        lua_Integer n = luaL_checkinteger(L, arg);
        luaL_argcheck(L, n >= 0 && n < 65, arg, "invalid signal number");
        return (int)n;
    }
    name = luaL_checkstring(L, arg);
    if (strncmp(name, "SIG", 3) == 0)
        name += 3;
    for (int i = 0; signal_names[i].name; i++) {
        if (strcmp(signal_names[i].name, name) == 0)
            return signal_names[i].sig;
    }
    return luaL_argerror(L, arg,
                         lua_pushfstring(L,
                                         "unknown signal '%s' (expected HUP, INT, QUIT, KILL, "
                                         "USR1, USR2, TERM, STOP, CONT or a number)",
                                         lua_tostring(L, arg)));
}

/* ---- caught signals ------------------------------------------------------------ */

static volatile sig_atomic_t got_int, got_term, got_hup;
static struct sigaction saved_int, saved_term, saved_hup;
static int catching;

/* Only sets flags; the runner looks at them between ticks. A second Ctrl-C
 * before the first was handled gets the default action (as lua.c does). */
static void on_signal(int sig)
{
    if (sig == SIGINT) {
        if (got_int) {
            signal(SIGINT, SIG_DFL);
            raise(SIGINT);
            return;
        }
        got_int = 1;
    } else if (sig == SIGTERM) {
        got_term = 1;
    } else if (sig == SIGHUP) {
        got_hup = 1;
    }
}

static int signal_pending(void)
{
    return got_int || got_term || got_hup;
}

/* core.catch_signals(on): while on, SIGINT, SIGTERM and SIGHUP only set flags
 * (see take_signal); off restores the handlers that were there before. */
static int l_catch_signals(lua_State *L)
{
    int on = lua_toboolean(L, 1);
    if (on && !catching) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0; /* no SA_RESTART: waits must wake up */
        got_int = got_term = got_hup = 0;
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
        sigaction(SIGHUP, &sa, &saved_hup);
        catching = 1;
    } else if (!on && catching) {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
        sigaction(SIGHUP, &saved_hup, NULL);
        catching = 0;
    }
    return 0;
}

/* core.take_signal() -> "TERM" | "INT" | "HUP" | nil; clears what it returns. */
static int l_take_signal(lua_State *L)
{
    if (got_term) {
        got_term = 0;
        lua_pushliteral(L, "TERM");
    } else if (got_int) {
        got_int = 0;
        lua_pushliteral(L, "INT");
    } else if (got_hup) {
        got_hup = 0;
        lua_pushliteral(L, "HUP");
    } else {
        lua_pushnil(L);
    }
    return 1;
}

/* ---- the wait ------------------------------------------------------------------- */

void mw_l_wait_begin(mw_l_wait *w)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &w->saved);
}

void mw_l_wait_end(const mw_l_wait *w)
{
    sigprocmask(SIG_SETMASK, &w->saved, NULL);
}

/*
 * One wait with the saved mask in force. Linux has ppoll(2); elsewhere (macOS
 * has no ppoll) pselect(2) over the same descriptors, which POSIX specifies
 * with the same atomic mask swap.
 */
static int wait_with_mask(struct pollfd *fds, size_t nfds, const struct timespec *ts,
                          const sigset_t *mask)
{
#ifdef __linux__
    int r = ppoll(fds, (nfds_t)nfds, ts, mask);
    return r < 0 ? -errno : r;
#else
    fd_set rs, ws, es;
    int max = -1, r;

    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    for (size_t i = 0; i < nfds; i++) {
        int fd = fds[i].fd;
        fds[i].revents = 0;
        if (fd < 0)
            continue;
        if (fd >= FD_SETSIZE)
            return -EMFILE;
        if (fds[i].events & POLLIN)
            FD_SET(fd, &rs);
        if (fds[i].events & POLLOUT)
            FD_SET(fd, &ws);
        if (fds[i].events & POLLPRI)
            FD_SET(fd, &es);
        if (fd > max)
            max = fd;
    }
    r = pselect(max + 1, &rs, &ws, &es, ts, mask);
    if (r < 0)
        return -errno;
    r = 0;
    for (size_t i = 0; i < nfds; i++) {
        int fd = fds[i].fd;
        if (fd < 0)
            continue;
        if (FD_ISSET(fd, &rs))
            fds[i].revents |= POLLIN;
        if (FD_ISSET(fd, &ws))
            fds[i].revents |= POLLOUT;
        if (FD_ISSET(fd, &es))
            fds[i].revents |= POLLPRI;
        r += fds[i].revents != 0;
    }
    return r;
#endif
}

int mw_l_wait_fds(const mw_l_wait *w, struct pollfd *fds, size_t nfds, double seconds,
                  unsigned flags)
{
    struct timespec ts;

    if (mw_lua_interrupted || ((flags & MW_L_WAKE_CAUGHT) && signal_pending()))
        return -EINTR;
    if (!(seconds > 0))
        seconds = 0;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    return wait_with_mask(fds, nfds, &ts, &w->saved);
}

/* Descriptors a sleep watches for deliveries (ldelivery.h); more are
 * looked at by the engine's own poll after the wait. */
#define DELIVERY_FDS 32

/*
 * One wait of at most seconds, which also lets alert deliveries progress:
 * the wait watches their descriptors, ends no later than they need, and
 * the engine moves them along afterwards (never waiting for them).
 */
static int wait_delivering(lua_State *L, const mw_l_wait *w, double seconds, unsigned flags)
{
    struct pollfd fds[DELIVERY_FDS];
    size_t n = 0;
    int rc;

    mw_l_delivery_wait_fds(L, fds, DELIVERY_FDS, &n, &seconds);
    rc = mw_l_wait_fds(w, fds, n, seconds, flags);
    mw_l_delivery_progress(L);
    return rc;
}

/*
 * core.sleep(seconds): sleeps, but wakes for Ctrl-C: either the executable's
 * handler set the interrupt flag (raises "interrupted!"), or (in a stock
 * lua5.4) lua.c's handler armed a hook that raises as soon as we return to
 * Lua. Other signals (a caught SIGTERM) do not cut the sleep short, nor do
 * deliveries.
 */
static int l_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    double deadline;
    mw_l_wait w;

    luaL_argcheck(L, isfinite(s) && s >= 0, 1, "duration must be >= 0");
    deadline = mw_now() + s;
    mw_l_wait_begin(&w);
    for (;;) {
        double left = deadline - mw_now();
        int rc;
        if (left <= 0)
            break; /* the time ran out */
        rc = wait_delivering(L, &w, left, 0);
        if (rc == -EINTR && (mw_lua_interrupted || lua_gethook(L) != NULL))
            break;
        if (rc < 0 && rc != -EINTR)
            break;
    }
    mw_l_wait_end(&w);
    mw_l_check_interrupt(L);
    return 0;
}

/*
 * core.wait_signal(seconds) -> true when a caught signal is pending (it may
 * end the wait early), false when the time ran out.
 */
static int l_wait_signal(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    double deadline;
    mw_l_wait w;

    luaL_argcheck(L, isfinite(s) && s >= 0, 1, "duration must be >= 0");
    deadline = mw_now() + s;
    mw_l_wait_begin(&w);
    for (;;) {
        double left = deadline - mw_now();
        if (left <= 0 || wait_delivering(L, &w, left, MW_L_WAKE_CAUGHT) < 0)
            break; /* the time ran out, or a signal */
    }
    mw_l_wait_end(&w);
    /* Not catching: the executable's Ctrl-C handler fired. */
    mw_l_check_interrupt(L);
    lua_pushboolean(L, signal_pending());
    return 1;
}

static int l_interrupted(lua_State *L)
{
    lua_pushboolean(L, mw_lua_interrupted != 0);
    return 1;
}

static const luaL_Reg signal_funcs[] = {
    {"catch_signals", l_catch_signals}, {"interrupted", l_interrupted}, {"sleep", l_sleep},
    {"take_signal", l_take_signal},     {"wait_signal", l_wait_signal}, {NULL, NULL},
};

void mw_lua_register_signal(lua_State *L)
{
    luaL_setfuncs(L, signal_funcs, 0);
    lua_createtable(L, 0, 10);
    for (int i = 0; signal_names[i].name; i++) {
        lua_pushinteger(L, signal_names[i].sig);
        lua_setfield(L, -2, signal_names[i].name);
    }
    lua_setfield(L, -2, "signals");
}
