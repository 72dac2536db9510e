/*
 * memwatch.curses: thin bindings over ncurses for the live view. The view
 * itself (columns, sorting, grouping, keys) is Lua: scripts/memwatch/cli/top.lua.
 * Strings drawn here must already be printable (memwatch.text.printable).
 */
#include "lua/lcurses.h"

#include <langinfo.h>
#include <stdlib.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include <curses.h>
#include <lauxlib.h>

static int active;

enum { PAIR_HEADER = 1, PAIR_TITLE, PAIR_SELECTED, PAIR_WARN, PAIR_GOOD };

static int l_init(lua_State *L)
{
    if (active) {
        lua_pushboolean(L, 1);
        return 1;
    }
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        luaL_pushfail(L);
        lua_pushliteral(L, "not a terminal");
        return 2;
    }
    setlocale(LC_ALL, "");
    /* newterm instead of initscr: initscr exits the process when TERM is
     * unknown, and a library must not do that. */
    if (newterm(NULL, stdout, stdin) == NULL) {
        luaL_pushfail(L);
        lua_pushfstring(L, "cannot use terminal type '%s'", getenv("TERM") ? getenv("TERM") : "");
        return 2;
    }
    active = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(PAIR_HEADER, COLOR_CYAN, -1);
        init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_GREEN);
        init_pair(PAIR_SELECTED, COLOR_BLACK, COLOR_CYAN);
        init_pair(PAIR_WARN, COLOR_RED, -1);
        init_pair(PAIR_GOOD, COLOR_GREEN, -1);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_done(lua_State *L)
{
    (void)L;
    if (active) {
        endwin();
        active = 0;
    }
    return 0;
}

static int l_size(lua_State *L)
{
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    lua_pushinteger(L, rows);
    lua_pushinteger(L, cols);
    return 2;
}

static const struct {
    int code;
    const char *name;
} key_names[] = {
    {KEY_UP, "up"},         {KEY_DOWN, "down"},
    {KEY_LEFT, "left"},     {KEY_RIGHT, "right"},
    {KEY_PPAGE, "pgup"},    {KEY_NPAGE, "pgdown"},
    {KEY_HOME, "home"},     {KEY_END, "end"},
    {KEY_RESIZE, "resize"}, {KEY_BACKSPACE, "backspace"},
    {KEY_ENTER, "enter"},   {KEY_DC, "delete"},
    {KEY_F(1), "f1"},       {KEY_F(10), "f10"},
};

/* getkey(ms): the next key as a name ("q", "up", "resize", "enter"), or nil
 * when none came within ms milliseconds. */
static int l_getkey(lua_State *L)
{
    lua_Integer ms = luaL_optinteger(L, 1, -1);
    int c;
    timeout(ms < 0 ? -1 : (int)ms);
    c = getch();
    if (c == ERR)
        return 0;
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++) {
        if (key_names[i].code == c) {
            lua_pushstring(L, key_names[i].name);
            return 1;
        }
    }
    if (c == '\r' || c == '\n')
        lua_pushliteral(L, "enter");
    else if (c == 27)
        lua_pushliteral(L, "esc");
    else if (c == 127 || c == 8)
        lua_pushliteral(L, "backspace");
    else if (c >= 0 && c < 256) {
        char ch = (char)c;
        lua_pushlstring(L, &ch, 1);
    } else
        lua_pushfstring(L, "key%d", c);
    return 1;
}

static int attr_of(const char *name)
{
    if (!name)
        return A_NORMAL;
    if (strcmp(name, "bold") == 0)
        return A_BOLD;
    if (strcmp(name, "reverse") == 0)
        return A_REVERSE;
    if (strcmp(name, "dim") == 0)
        return A_DIM;
    if (strcmp(name, "header") == 0)
        return has_colors() ? COLOR_PAIR(PAIR_HEADER) | A_BOLD : A_BOLD;
    if (strcmp(name, "title") == 0)
        return has_colors() ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;
    if (strcmp(name, "selected") == 0)
        return has_colors() ? COLOR_PAIR(PAIR_SELECTED) : A_REVERSE;
    if (strcmp(name, "warn") == 0)
        return has_colors() ? COLOR_PAIR(PAIR_WARN) | A_BOLD : A_BOLD;
    if (strcmp(name, "good") == 0)
        return has_colors() ? COLOR_PAIR(PAIR_GOOD) : A_NORMAL;
    return A_NORMAL;
}

/* put(y, x, text [, attr]): draw text clipped to the screen width. */
static int l_put(lua_State *L)
{
    int y = (int)luaL_checkinteger(L, 1), x = (int)luaL_checkinteger(L, 2);
    size_t len;
    const char *s = luaL_checklstring(L, 3, &len);
    int attr = attr_of(luaL_optstring(L, 4, NULL));
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    if (y < 0 || y >= rows || x < 0 || x >= cols)
        return 0;
    attron(attr);
    mvaddnstr(y, x, s, (int)len);
    attroff(attr);
    return 0;
}

/* fill(y, attr): paint a whole row (a title bar, the selection). */
static int l_fill(lua_State *L)
{
    int y = (int)luaL_checkinteger(L, 1);
    int attr = attr_of(luaL_optstring(L, 2, NULL));
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    if (y < 0 || y >= rows)
        return 0;
    mvchgat(y, 0, cols, attr, (short)PAIR_NUMBER(attr), NULL);
    return 0;
}

static int l_erase(lua_State *L)
{
    (void)L;
    erase();
    return 0;
}

static int l_refresh(lua_State *L)
{
    (void)L;
    refresh();
    return 0;
}

static int l_beep(lua_State *L)
{
    (void)L;
    beep();
    return 0;
}

/* Whether the terminal's character set can show the sparkline blocks. */
static int l_utf8(lua_State *L)
{
    const char *cs;
    setlocale(LC_CTYPE, "");
    cs = nl_langinfo(CODESET);
    lua_pushboolean(L, cs && strcmp(cs, "UTF-8") == 0);
    return 1;
}

static const luaL_Reg curses_funcs[] = {
    {"beep", l_beep},     {"done", l_done}, {"erase", l_erase}, {"fill", l_fill},
    {"getkey", l_getkey}, {"init", l_init}, {"put", l_put},     {"refresh", l_refresh},
    {"size", l_size},     {"utf8", l_utf8}, {NULL, NULL},
};

int luaopen_memwatch_curses(lua_State *L)
{
    luaL_newlib(L, curses_funcs);
    return 1;
}
