/*
 * The read-evaluate-print loop, with the semantics of Lua's own lua.c: a
 * line is tried as an expression first ("return <line>"), then as a
 * statement; a chunk that ends early asks for more lines; "=expr" works;
 * errors print with a traceback and the loop goes on.
 */
#include "app/repl.h"

#include "app/lstate.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#define MW_MAX_INPUT 4096
#define EOF_MARK     "<eof>"

static const char *get_prompt(lua_State *L, int first)
{
    const char *p;
    if (lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
        lua_pop(L, 1);
        return first ? "> " : ">> ";
    }
    p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    lua_pop(L, 1); /* the string stays alive in the global */
    return p;
}

/* Reads one line into a Lua string on the stack; 0 at end of input. */
static int push_line(lua_State *L, int first)
{
    char buf[MW_MAX_INPUT];
    size_t len;
    int tty = isatty(STDIN_FILENO);

    if (tty) {
        fputs(get_prompt(L, first), stdout);
        fflush(stdout);
    }
    if (fgets(buf, sizeof buf, stdin) == NULL)
        return 0;
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (first && buf[0] == '=')
        lua_pushfstring(L, "return %s", buf + 1);
    else
        lua_pushlstring(L, buf, len);
    return 1;
}

static int incomplete(lua_State *L, int status)
{
    if (status == LUA_ERRSYNTAX) {
        size_t lmsg;
        const char *msg = lua_tolstring(L, -1, &lmsg);
        size_t mark = sizeof(EOF_MARK) - 1;
        if (lmsg >= mark && strcmp(msg + lmsg - mark, EOF_MARK) == 0) {
            lua_pop(L, 1);
            return 1;
        }
    }
    return 0;
}

/* Try "return <line>" first, so a bare expression prints its value. */
static int add_return(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *retline = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
    if (status == LUA_OK)
        lua_remove(L, -2);
    else
        lua_pop(L, 2);
    return status;
}

static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *line = lua_tolstring(L, 1, &len);
        int status = luaL_loadbuffer(L, line, len, "=stdin");
        if (!incomplete(L, status) || !push_line(L, 0))
            return status;
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Reads a whole chunk; leaves the compiled function (or error) on the stack. */
static int load_line(lua_State *L)
{
    int status;
    lua_settop(L, 0);
    if (!push_line(L, 1))
        return -1;
    if ((status = add_return(L)) != LUA_OK)
        status = multiline(L);
    lua_remove(L, 1);
    return status;
}

/* Print results through the global print, which scripts may replace (the
 * memwatch module installs a pretty-printer there for the prompt). */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n > 0) {
        luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
        if (lua_getglobal(L, "memwatch") == LUA_TTABLE) {
            lua_getfield(L, -1, "_print_results");
            lua_remove(L, -2);
        }
        if (!lua_isfunction(L, -1)) {
            lua_pop(L, 1);
            lua_getglobal(L, "print");
        }
        lua_insert(L, 1);
        if (lua_pcall(L, n, 0, 0) != LUA_OK)
            mw_report(L, LUA_ERRRUN);
    }
}

int mw_repl(lua_State *L)
{
    int status;
    while ((status = load_line(L)) != -1) {
        if (status == LUA_OK)
            status = mw_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L);
        else
            mw_report(L, status);
    }
    lua_settop(L, 0);
    if (isatty(STDIN_FILENO))
        fputc('\n', stdout);
    fflush(stdout);
    return 0;
}
