/*
 * The CSV writer (memwatch.text csv_line, scripts/memwatch/text.lua) through a
 * Lua state. The input is split at 0x1F into fields; the line csv_line makes
 * must end in CRLF, parse back under RFC 4180 (quotes doubled inside quoted
 * fields; commas, quotes, CR and LF only inside quotes) to exactly the same
 * fields, whatever bytes they hold.
 */
#include "fuzz.h"

#include <lauxlib.h>
#include <lualib.h>

#ifndef MW_SOURCE_DIR
#error "MW_SOURCE_DIR must name the source tree"
#endif

static const char harness[] =
    "local text = ...\n"
    "local function parse(body)\n"
    "  local out, i, n = {}, 1, #body\n"
    "  while true do\n"
    "    if body:sub(i, i) == '\"' then\n"
    "      local buf = {}\n"
    "      i = i + 1\n"
    "      while true do\n"
    "        local q = body:find('\"', i, true)\n"
    "        assert(q, 'unterminated quoted field')\n"
    "        buf[#buf + 1] = body:sub(i, q - 1)\n"
    "        if body:sub(q + 1, q + 1) == '\"' then\n"
    "          buf[#buf + 1] = '\"'\n"
    "          i = q + 2\n"
    "        else\n"
    "          i = q + 1\n"
    "          break\n"
    "        end\n"
    "      end\n"
    "      out[#out + 1] = table.concat(buf)\n"
    "      local d = body:sub(i, i)\n"
    "      if d == '' then break end\n"
    "      assert(d == ',', 'text after a quoted field')\n"
    "      i = i + 1\n"
    "    else\n"
    "      local comma = body:find(',', i, true)\n"
    "      local f = body:sub(i, (comma or n + 1) - 1)\n"
    "      assert(not f:find('[\\r\\n\"]'), 'CR, LF or quote outside quotes')\n"
    "      out[#out + 1] = f\n"
    "      if not comma then break end\n"
    "      i = comma + 1\n"
    "    end\n"
    "  end\n"
    "  return out\n"
    "end\n"
    "return function(s)\n"
    "  local fields = {}\n"
    "  for f in (s .. '\\31'):gmatch('(.-)\\31') do fields[#fields + 1] = f end\n"
    "  local line = text.csv_line(fields)\n"
    "  assert(line:sub(-2) == '\\r\\n', 'no CRLF at the end')\n"
    "  local out = parse(line:sub(1, -3))\n"
    "  assert(#out == #fields, 'field count changed')\n"
    "  for k = 1, #fields do assert(out[k] == fields[k], 'field changed') end\n"
    "  -- nil values (absent fields) are empty fields\n"
    "  local holes = text.csv_line({nil, fields[1], nil}, 3)\n"
    "  local back = parse(holes:sub(1, -3))\n"
    "  assert(#back == 3 and back[1] == '' and back[2] == fields[1] and back[3] == '')\n"
    "end\n";

static lua_State *L;
static int check_ref;

static void setup(void)
{
    L = luaL_newstate();
    FUZZ_CHECK(L != NULL);
    luaL_openlibs(L);
    FUZZ_CHECK(luaL_loadstring(L, harness) == LUA_OK);
    if (luaL_dofile(L, MW_SOURCE_DIR "/scripts/memwatch/text.lua") != LUA_OK) {
        fprintf(stderr, "text.lua: %s\n", lua_tostring(L, -1));
        abort();
    }
    FUZZ_CHECK(lua_pcall(L, 1, 1, 0) == LUA_OK);
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L)
        setup();
    lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "csv: %s\n", lua_tostring(L, -1));
        abort();
    }
    lua_settop(L, 0);
    lua_gc(L, LUA_GCSTEP, 0);
    return 0;
}
