-- memwatch.suggest: the "closest" hints given when a selection matches
-- nothing (a name cut to 15 bytes, a typo, a name on the command line).
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local eq = T.eq

local suggest = require "memwatch.suggest"

local RECS = {
    { pid = 4242, name = "my-leaky-servic", comm = "my-leaky-servic", path = "/opt/app/my-leaky-service-long" },
    { pid = 10, name = "postgres", comm = "postgres", cmdline = "/usr/lib/postgresql/15/bin/postgres -D /var/lib" },
    { pid = 11, name = "postgre", comm = "postgre" },
    { pid = 12, name = "java", comm = "java", cmdline = "java -jar /srv/inventory-service.jar" },
    { pid = 13, name = "bash", comm = "bash", cmdline = "bash" },
}

T.test("distance", function()
    eq(suggest.distance("kitten", "sitting"), 3)
    eq(suggest.distance("", "abc"), 3)
    eq(suggest.distance("same", "same"), 0)
    -- Cut short past the limit.
    eq(suggest.distance("abcdef", "uvwxyz", 2), 3)
    eq(suggest.distance("a", "abcdefgh", 2), 3)
end)

T.test("describe", function()
    eq(suggest.describe({ name = "my-app" }), "name 'my-app'")
    eq(suggest.describe({ name = "x", user = "www-data", pid = { 1, 2 } }), "name 'x', user 'www-data', pid '1,2'")
    eq(suggest.describe({}), "the selection")
end)

T.test("a name cut to 15 bytes comes first, with where it runs from", function()
    eq(suggest.closest_text("my-leaky-service-long", RECS),
        "closest: my-leaky-servic[4242], from /opt/app/my-leaky-service-long")
end)

T.test("typos within a small edit distance, nearest first", function()
    local list = suggest.closest("postgress", RECS)
    eq(#list, 2)
    eq(list[1].rec.pid, 10)
    eq(list[2].rec.pid, 11)
    eq(suggest.closest_text("POSTGRES", RECS), "closest: postgres[10]; postgre[11]")
end)

T.test("a name found on a command line", function()
    eq(suggest.closest_text("inventory-service", RECS),
        "closest: java[12], from java -jar /srv/inventory-service.jar")
end)

T.test("nothing close, skipped records, hostile names", function()
    eq(suggest.closest_text("zzzzzzzzzz", RECS), nil)
    eq(suggest.closest_text("", RECS), nil)
    eq(suggest.closest_text("postgres", RECS, nil, function(r) return r.pid ~= 11 end),
        "closest: postgre[11]")
    local hostile = { { pid = 1, name = "ab\27[2Jc" } }
    eq(suggest.closest_text("ab\27[2Jd", hostile, function(s) return (s:gsub("\27", "\\e")) end),
        "closest: ab\\e[2Jc[1]")
    eq(#suggest.closest("postgres", RECS, 1), 1)
end)

T.done()
