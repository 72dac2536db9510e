/*
 * The JSON writer and reader (core.json_encode / core.json_decode, ljson.c)
 * through a Lua state, as scripts call them. Each input is used twice:
 *   - as JSON text: decoding never raises; what decodes encodes to valid JSON
 *     that decodes and encodes to the same text again (sorted keys);
 *   - as the bytes of a process name inside a record: the encoding is always
 *     valid JSON (invalid UTF-8 becomes U+FFFD) and a valid UTF-8 name comes
 *     back unchanged.
 */
#include "fuzz.h"

#include <lauxlib.h>
#include <lualib.h>

#include "lua/ljson.h"

static const char harness[] =
    "local enc, dec = ...\n"
    "return function(text)\n"
    "  local ok, v, err = pcall(dec, text)\n"
    "  assert(ok, v)\n"
    "  if v == nil then\n"
    "    assert(err == nil or type(err) == 'string')\n"
    "  else\n"
    "    local ok1, e1 = pcall(enc, v, true)\n"
    "    if not ok1 then\n"
    "      assert(tostring(e1):find('nested too deeply', 1, true), e1)\n"
    "    else\n"
    "      local v2, err2 = dec(e1)\n"
    "      assert(v2 ~= nil or e1 == 'null', err2)\n"
    "      if v2 ~= nil then\n"
    "        local e2 = enc(v2, true)\n"
    "        local d3, derr3 = dec(e2)\n"
    "        assert(d3 ~= nil, derr3) -- false is a value, not a failure\n"
    "        local e3 = enc(d3, true)\n"
    "        assert(e2 == e3, 'encoding is not stable')\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  local rec = {name = text, pid = 42, list = {text, 1, 2.5, -3}}\n"
    "  local e = enc(rec, true)\n"
    "  local back, derr = dec(e)\n"
    "  assert(back, derr)\n"
    "  assert(utf8.len(back.name), 'name is not valid UTF-8')\n"
    "  assert(utf8.len(back.list[1]), 'list item is not valid UTF-8')\n"
    "  if utf8.len(text) then\n"
    "    assert(back.name == text and back.list[1] == text, 'valid UTF-8 changed')\n"
    "  end\n"
    "  assert(back.pid == 42 and math.type(back.pid) == 'integer')\n"
    "  assert(back.list[2] == 1 and back.list[3] == 2.5 and back.list[4] == -3)\n"
    "end\n";

static lua_State *L;
static int check_ref;

static void setup(void)
{
    L = luaL_newstate();
    FUZZ_CHECK(L != NULL);
    luaL_openlibs(L);
    FUZZ_CHECK(luaL_loadstring(L, harness) == LUA_OK);
    lua_newtable(L);
    mw_lua_register_json(L);
    lua_getfield(L, -1, "json_encode");
    lua_getfield(L, -2, "json_decode");
    lua_remove(L, -3);
    FUZZ_CHECK(lua_pcall(L, 2, 1, 0) == LUA_OK);
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L)
        setup();
    lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "json: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_settop(L, 0);
    /* Collect now and then so garbage does not look like a leak. */
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
