#!/usr/bin/env bash
# Inside a pid namespace (unshare -fp --mount-proc), as in a container, pid 1
# and pid 2 are the application: every grouping shows them (record, plot, top --once
# --group=..., serve --group, the Lua group API). Init is a row of its own
# in a tree. Needs root and unshare; SKIPPED otherwise.
. "$(dirname "$0")/lib.sh"
mw_test_init pidns

if [ "$(id -u)" -ne 0 ]; then
    not_run "needs root for unshare -fp (a pid namespace)"
elif ! needs unshare; then
    :
elif ! unshare -fp --mount-proc true 2>"$TMP/unshare.err"; then
    not_run "unshare -fp --mount-proc is not allowed here: $(cat "$TMP/unshare.err")"
else
    # pid 1: this script (as mwnsinit); pid 2: a sleep copied to mwnsapp.
    cp "$(command -v sleep)" "$TMP/mwnsapp"
    # A script run through its own #! line, not env, so its name is its own.
    printf '#!%s\n' "$(command -v bash)" >"$TMP/mwnsinit"
    cat >>"$TMP/mwnsinit" <<'INNER'
out=$1
"$out/mwnsapp" 60 &
app=$!
echo "$$ $app" >"$out/pids"
for g in tree app name user; do
    "$MEMWATCH" top --once --group=$g >"$out/top.$g" 2>&1
    "$MEMWATCH" serve --textfile="$out/serve.$g.prom" --once --group=$g >/dev/null 2>"$out/serve.$g.err"
done
"$MEMWATCH" record "$out/rec.jsonl" --count=1 2>"$out/record.err"
"$MEMWATCH" -e '
local group = require "memwatch.group"
for _, how in ipairs { "none", "tree", "app", "name", "user" } do
    local where = {}
    for _, g in ipairs(group.group(memwatch.processes(), how)) do
        for _, p in ipairs(g.procs) do
            if p.pid <= 2 then where[p.pid] = string.format("%s/%d", g.label, g.count) end
        end
    end
    print(how, where[1] or "missing", where[2] or "missing")
end' >"$out/lua" 2>&1
kill "$app"
INNER
    chmod +x "$TMP/mwnsinit"
    unshare -fp --mount-proc "$TMP/mwnsinit" "$TMP" >"$TMP/ns.out" 2>&1
    expect_eq "$?" 0 "the namespace ran: $(cat "$TMP/ns.out")"

    case_ "pid 1 and 2 in the namespace"
    expect_eq "$(cat "$TMP/pids")" "1 2" "the script is pid 1, the app pid 2"

    case_ "the Lua group API"
    expect_eq "$(sed -n 1p "$TMP/lua")" $'none\tmwnsinit[1]/1\tmwnsapp[2]/1' "no grouping"
    expect_eq "$(sed -n 2p "$TMP/lua")" $'tree\tmwnsinit[1]/1\tmwnsapp[2]/1' "tree: init alone, the app its own tree"
    expect_eq "$(sed -n 3p "$TMP/lua")" $'app\tmwnsinit[1]/1\tmwnsapp[2]/1' "app (no unit): same-name trees below init"
    expect_eq "$(sed -n 4p "$TMP/lua")" $'name\tmwnsinit/1\tmwnsapp/1' "name"
    expect_match "$(sed -n 5p "$TMP/lua")" $'^user\troot/[0-9]+\troot/[0-9]+$' "user"

    case_ "top --once --group"
    for g in tree app; do
        expect_match "$(cat "$TMP/top.$g")" '^ +1 mwnsinit\[1\] +[0-9.]+[BKMG] +[0-9.]+[BKMG]' "top --group=$g: init's row"
        expect_match "$(cat "$TMP/top.$g")" '^ +1 mwnsapp\[2\] +[0-9.]+[BKMG] +[0-9.]+[BKMG]' "top --group=$g: pid 2's row"
    done
    expect_match "$(cat "$TMP/top.name")" '^ +1 mwnsinit +[0-9.]+[BKMG]' "top --group=name: init's row"
    expect_match "$(cat "$TMP/top.name")" '^ +1 mwnsapp +[0-9.]+[BKMG]' "top --group=name: pid 2's row"
    # user: one row holding every process of the namespace (init, the app,
    # memwatch; no kernel thread is visible here).
    expect_match "$(cat "$TMP/top.user")" '^ +[3-9] root +[0-9.]+[BKMG]' "top --group=user: init and pid 2 counted"
    expect_match "$(cat "$TMP/top.tree")" '^  PROCS GROUP +REAL MEMORY    MEMORY  CHANGE/MIN$' "grouped header"

    case_ "serve --group"
    for g in tree app; do
        expect_contains "$(cat "$TMP/serve.$g.prom")" "memwatch_group_processes{group=\"mwnsinit[1]\",grouping=\"$g\"} 1" \
            "serve --group=$g: init"
        expect_contains "$(cat "$TMP/serve.$g.prom")" "memwatch_group_processes{group=\"mwnsapp[2]\",grouping=\"$g\"} 1" \
            "serve --group=$g: pid 2"
    done
    expect_contains "$(cat "$TMP/serve.name.prom")" 'memwatch_group_processes{group="mwnsinit",grouping="name"} 1' \
        "serve --group=name: init"
    expect_contains "$(cat "$TMP/serve.name.prom")" 'memwatch_group_processes{group="mwnsapp",grouping="name"} 1' \
        "serve --group=name: pid 2"
    expect_match "$(cat "$TMP/serve.user.prom")" '^memwatch_group_processes\{group="root",grouping="user"\} [3-9]$' \
        "serve --group=user: init and pid 2 counted"

    case_ "record, and plot's groupings of the recording"
    expect_eq "$(grep -c '"pid":1,' "$TMP/rec.jsonl")" 1 "record: pid 1 recorded: $(cat "$TMP/record.err")"
    expect_eq "$(grep -c '"pid":2,' "$TMP/rec.jsonl")" 1 "record: pid 2 recorded"
    plot=$(MW_REC="$TMP/rec.jsonl" "$MEMWATCH" -e '
local P = require "memwatch.record.plot"
for _, how in ipairs { "none", "tree", "app", "name" } do
    local keys = {}
    for _, s in ipairs(P.series { path = os.getenv "MW_REC", group = how, warn = function() end }.series) do
        if s.key:find("^mwns") then keys[#keys + 1] = s.key end
    end
    table.sort(keys)
    print(how, table.concat(keys, " "))
end' 2>&1)
    expect_eq "$plot" $'none\tmwnsapp[2] mwnsinit[1]\ntree\tmwnsapp[2] mwnsinit[1]\napp\tmwnsapp[2] mwnsinit[1]\nname\tmwnsapp mwnsinit' \
        "plot: pid 1 and pid 2 in every grouping"
fi

mw_test_done
