/* Lua state set-up, protected calls and error reports for the executable. */
#include "app/lstate.h"

#include "app/embedded.h"
#include "lua/lcurses.h"
#include "lua/lmemwatch.h"
#include "lua/lsignal.h"
#include "memwatch/text.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

static lua_State *signal_state;

/* Raised by the hook that the SIGINT handler arms. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    mw_lua_interrupted = 0;
    luaL_error(L, "interrupted!");
}

/*
 * Ctrl-C: never touch the Lua state beyond arming a hook (allowed from a
 * signal handler), and set a flag for C code that sleeps or scans. A second
 * Ctrl-C before the first is handled falls through to the default action.
 */
static void on_sigint(int sig)
{
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    signal(sig, SIG_DFL);
    mw_lua_interrupted = 1;
    if (signal_state)
        lua_sethook(signal_state, stop_hook, mask, 1);
}

static void set_sigint(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: sleeps must wake up */
    sigaction(SIGINT, &sa, NULL);
}

static int is_bundled(const char *source)
{
    for (const mw_embedded_script *s = mw_embedded_scripts; s->module; s++)
        if (strcmp(s->chunkname, source) == 0)
            return 1;
    return 0;
}

/*
 * The level the traceback starts at. An error the bundled modules raise on
 * the user's behalf (a bad rule definition, a bad option) already names the
 * user's file and line; its traceback starts there too, not at the bundled
 * module's frames that raised it, which would only point into memwatch.
 */
static int traceback_level(lua_State *L, const char *msg)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        char where[LUA_IDSIZE + 32];
        if (!lua_getinfo(L, "Sl", &ar))
            break;
        if (ar.currentline <= 0 || is_bundled(ar.source))
            continue;
        snprintf(where, sizeof where, "%s:%d:", ar.short_src, ar.currentline);
        return strncmp(msg, where, strlen(where)) == 0 ? level : 1;
    }
    return 1;
}

static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, traceback_level(L, msg));
    return 1;
}

int mw_docall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    int status;

    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    signal_state = L;
    mw_lua_interrupted = 0;
    set_sigint(on_sigint);
    status = lua_pcall(L, nargs, nres, base);
    set_sigint(SIG_DFL);
    signal_state = NULL;
    lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    return status;
}

static void file_sink(void *ud, const char *p, size_t n)
{
    fwrite(p, 1, n, (FILE *)ud);
}

/*
 * Error messages can quote process names, which are bytes chosen by whoever
 * started the process: write them with control characters (other than the
 * newlines and tabs of a traceback), C1 controls and invalid UTF-8 escaped,
 * so nothing reaches the terminal raw.
 */
static void write_printable(FILE *out, const char *text)
{
    mw_text_printable(text, strlen(text), MW_PRINTABLE_KEEP_LAYOUT, file_sink, out);
}

int mw_is_interrupt(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    return msg && strstr(msg, "interrupted!") != NULL &&
           (strncmp(msg, "interrupted!", 12) == 0 || strstr(msg, ": interrupted!") != NULL);
}

void mw_report(lua_State *L, int status)
{
    if (status == LUA_OK)
        return;
    if (mw_is_interrupt(L)) {
        fputs("interrupted!\n", stderr);
    } else {
        const char *msg = lua_tostring(L, -1);
        write_printable(stderr, msg ? msg : "(error object is not a string)");
        fputc('\n', stderr);
    }
    fflush(stderr);
    lua_pop(L, 1);
}

static int load_embedded(lua_State *L)
{
    const mw_embedded_script *s = &mw_embedded_scripts[lua_tointeger(L, lua_upvalueindex(1))];
    if (luaL_loadbufferx(L, (const char *)s->data, s->size, s->chunkname, "t") != LUA_OK)
        return lua_error(L);
    lua_pushstring(L, s->module);
    lua_pushstring(L, s->chunkname + 1);
    lua_call(L, 2, 1);
    return 1;
}

/* Remove ";./?.lua"-style entries: a script must not load code from
 * whatever directory it happens to be started in. */
static void drop_relative(lua_State *L, const char *field)
{
    luaL_Buffer b;
    const char *path, *p;

    lua_getfield(L, -1, field);
    path = lua_tostring(L, -1);
    luaL_buffinit(L, &b);
    for (p = path ? path : ""; *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        if (n > 0 && p[0] == '/') {
            if (luaL_bufflen(&b) > 0)
                luaL_addchar(&b, ';');
            luaL_addlstring(&b, p, n);
        }
        p += n;
        if (*p == ';')
            p++;
    }
    luaL_pushresult(&b);
    lua_setfield(L, -3, field);
    lua_pop(L, 1);
}

/*
 * The C modules the executable registers. This is where the executable and
 * the memwatch/core.so module for a stock lua5.4 differ: only the
 * executable links ncurses, so only it has memwatch.curses (memwatch top).
 */
static const luaL_Reg app_c_modules[] = {
    {"memwatch.core", luaopen_memwatch_core},
    {"memwatch.curses", luaopen_memwatch_curses},
    {NULL, NULL},
};

void mw_state_setup(lua_State *L)
{
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    drop_relative(L, "path");
    drop_relative(L, "cpath");
    lua_getfield(L, -1, "preload");
    for (int i = 0; app_c_modules[i].name; i++) {
        lua_pushcfunction(L, app_c_modules[i].func);
        lua_setfield(L, -2, app_c_modules[i].name);
    }
    for (int i = 0; mw_embedded_scripts[i].module; i++) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, mw_embedded_scripts[i].module);
    }
    lua_pop(L, 2);
    lua_getglobal(L, "require");
    lua_pushstring(L, "memwatch");
    lua_call(L, 1, 1);
    lua_setglobal(L, "memwatch");
}
