/*
 * core.web_config(text, name) -> config | nil, message
 *
 * The web configuration (http/webconfig.c) as a Lua table, for serve's
 * policy in cli/serve.lua, which reads the files it names:
 *   tls = nil | {cert_file=, key_file=, cert=, key=, client_ca_file=,
 *                client_ca=, and each one's line as <key>_line; line=,
 *                client_auth = "none"|"verify_if_given"|"require_and_verify",
 *                priorities = GnuTLS priority string, allowed_sans = {...}}
 *   http2 = boolean, http2_line = n (when given)
 *   headers = {name = value}, users = {name = bcrypt hash}
 *   rate_limit = nil | {interval = seconds, burst = n}
 * message is "NAME:LINE: what is wrong".
 */
#include "lua/lwebconfig.h"

#include "http/webconfig.h"

#include <errno.h>
#include <string.h>

#include <lauxlib.h>

static void set_value(lua_State *L, const char *key, const struct mw_webconfig_value *v)
{
    if (!v->text)
        return;
    lua_pushstring(L, v->text);
    lua_setfield(L, -2, key);
    lua_pushinteger(L, v->line);
    lua_pushfstring(L, "%s_line", key);
    lua_insert(L, -2);
    lua_settable(L, -3);
}

static void push_config(lua_State *L, const struct mw_webconfig *c)
{
    static const char *const modes[] = {"none", "verify_if_given", "require_and_verify"};
    lua_createtable(L, 0, 6);
    if (c->tls) {
        lua_createtable(L, 0, 16);
        lua_pushinteger(L, c->tls_line);
        lua_setfield(L, -2, "line");
        set_value(L, "cert_file", &c->cert_file);
        set_value(L, "key_file", &c->key_file);
        set_value(L, "cert", &c->cert);
        set_value(L, "key", &c->key);
        set_value(L, "client_ca_file", &c->client_ca_file);
        set_value(L, "client_ca", &c->client_ca);
        lua_pushstring(L, modes[c->client_auth]);
        lua_setfield(L, -2, "client_auth");
        lua_pushstring(L, c->priorities);
        lua_setfield(L, -2, "priorities");
        lua_createtable(L, (int)c->client_allowed_sans.n, 0);
        for (size_t i = 0; i < c->client_allowed_sans.n; i++) {
            lua_pushstring(L, c->client_allowed_sans.items[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        lua_setfield(L, -2, "allowed_sans");
        lua_setfield(L, -2, "tls");
    }
    lua_pushboolean(L, c->http2);
    lua_setfield(L, -2, "http2");
    if (c->http2_line) {
        lua_pushinteger(L, c->http2_line);
        lua_setfield(L, -2, "http2_line");
    }
    lua_createtable(L, 0, (int)c->nheaders);
    for (size_t i = 0; i < c->nheaders; i++) {
        lua_pushstring(L, c->headers[i].value);
        lua_setfield(L, -2, c->headers[i].name);
    }
    lua_setfield(L, -2, "headers");
    lua_createtable(L, 0, (int)c->nusers);
    for (size_t i = 0; i < c->nusers; i++) {
        lua_pushstring(L, c->users[i].hash);
        lua_setfield(L, -2, c->users[i].name);
    }
    lua_setfield(L, -2, "users");
    if (c->rate_interval > 0) {
        lua_createtable(L, 0, 2);
        lua_pushnumber(L, c->rate_interval);
        lua_setfield(L, -2, "interval");
        lua_pushinteger(L, c->rate_burst);
        lua_setfield(L, -2, "burst");
        lua_setfield(L, -2, "rate_limit");
    }
}

static int build_config(lua_State *L)
{
    push_config(L, (const struct mw_webconfig *)lua_touserdata(L, 1));
    return 1;
}

static int l_web_config(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *name = luaL_checkstring(L, 2);
    struct mw_webconfig cfg;
    char err[512];
    int rc = mw_webconfig_parse(text, len, name, &cfg, err, sizeof err);

    if (rc == -ENOMEM)
        return luaL_error(L, "web_config: out of memory");
    if (rc < 0) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    /* The table is built in protected mode, so the struct is freed even when
     * building it runs out of memory. */
    lua_pushcfunction(L, build_config);
    lua_pushlightuserdata(L, &cfg);
    rc = lua_pcall(L, 1, 1, 0);
    mw_webconfig_free(&cfg);
    if (rc != LUA_OK)
        return lua_error(L);
    return 1;
}

void mw_lua_register_webconfig(lua_State *L)
{
    lua_pushcfunction(L, l_web_config);
    lua_setfield(L, -2, "web_config");
}
