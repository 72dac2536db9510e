/*
 * A growth rule's window in memwatch.core: the least-squares moments of its
 * samples in a few cells (memwatch/trend.h), one userdata per group, so a
 * window of any length costs the same few hundred bytes. The engine
 * (memwatch.watch.engine) decides where the window starts.
 *
 *   local w = core.trend_window(window_seconds, cells)
 *   w:add(t, v, oldest)          -- drops cells before oldest, adds (t, v)
 *   slope, r2, n = w:fit()       -- nil, nil, n without a line
 */
#include "lua/ltrend.h"

#include "memwatch/trend.h"

#include <math.h>
#include <string.h>

#include <lauxlib.h>

#define TREND_MT "memwatch.trend_window"

/* The largest number of cells a window may have: enough to be exact for
 * any window a rule is likely to fit sample by sample. */
#define TREND_MAX_CELLS 4096

/* The grid, then its cells in the same block. */
struct trend_box {
    struct mw_trend_window w;
    struct mw_trend_cell cells[];
};

static int l_trend_window(lua_State *L)
{
    lua_Number window = luaL_checknumber(L, 1);
    lua_Integer cells = luaL_checkinteger(L, 2);
    struct trend_box *box;
    size_t nslots;

    luaL_argcheck(L, isfinite(window) && window > 0, 1, "window must be a duration greater than 0");
    luaL_argcheck(L, cells >= 1 && cells <= TREND_MAX_CELLS, 2, "cells must be from 1 to 4096");
    nslots = (size_t)cells + 1;
    box = lua_newuserdatauv(L, sizeof *box + nslots * sizeof box->cells[0], 0);
    memset(box, 0, sizeof *box + nslots * sizeof box->cells[0]);
    box->w.width = window / (lua_Number)cells;
    box->w.nslots = nslots;
    box->w.cells = box->cells;
    luaL_setmetatable(L, TREND_MT);
    return 1;
}

static int l_add(lua_State *L)
{
    struct trend_box *box = luaL_checkudata(L, 1, TREND_MT);
    lua_Number t = luaL_checknumber(L, 2);
    lua_Number v = luaL_checknumber(L, 3);
    lua_Number oldest = luaL_checknumber(L, 4);
    luaL_argcheck(L, isfinite(t), 2, "time must be finite");
    luaL_argcheck(L, isfinite(v), 3, "value must be finite");
    mw_trend_add(&box->w, t, v, oldest);
    return 0;
}

static int l_fit(lua_State *L)
{
    const struct trend_box *box = luaL_checkudata(L, 1, TREND_MT);
    double slope, r2, n;
    if (mw_trend_fit(&box->w, &slope, &r2, &n) < 0) {
        lua_pushnil(L);
        lua_pushnil(L);
    } else {
        lua_pushnumber(L, slope);
        lua_pushnumber(L, r2);
    }
    lua_pushinteger(L, (lua_Integer)n);
    return 3;
}

static const luaL_Reg trend_methods[] = {
    {"add", l_add},
    {"fit", l_fit},
    {NULL, NULL},
};

void mw_lua_register_trend(lua_State *L)
{
    if (luaL_newmetatable(L, TREND_MT)) {
        luaL_newlib(L, trend_methods);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_trend_window);
    lua_setfield(L, -2, "trend_window");
}
