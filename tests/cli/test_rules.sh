#!/usr/bin/env bash
# memwatch check (a watch script loaded dry: its rules checked, what they
# select now) and memwatch rules --prometheus (the rules as Prometheus
# alerting rules, checked by promtool; each refusal's exact text), and
# serve --group given more than once.
set -u
export LC_ALL=C
: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
. "$(dirname "$0")/lib.sh"
mw_test_init rules
cd "$TMP" || exit 1

# A known child under a unique name.
CHILD_NAME="mwchk$$"
CHILD_NAME=${CHILD_NAME:0:15}
cp "$(command -v sleep)" "$TMP/$CHILD_NAME"
"$TMP/$CHILD_NAME" 120 &
CHILD=$!
PIDS+=("$CHILD")

# ---- memwatch check ----------------------------------------------------------------

case_ "check a good script"
cat >good.lua <<EOF
memwatch.watch { name = "mine", select = { name = "$CHILD_NAME" }, above = 0,
    on_alert = memwatch.actions.exec { "touch", "$TMP/ran" } }
memwatch.watch { name = "none", select = { name = "mwnosuchproc" }, above = "1G" }
print("run:", memwatch.run())
EOF
OUT=$("$MEMWATCH" check good.lua 2>err)
RC=$?
expect_eq "$RC" 0 "exit status"
expect_eq "$OUT" "run:	dry
rule 'mine': selects 1 process ($CHILD_NAME[$CHILD])
rule 'none': selects nothing now
good.lua: 2 rules OK" "stdout: memwatch.run() returned at once, then one line per rule"
expect_eq "$(cat err)" "" "nothing on stderr"
sleep 0.3
check '[ ! -e "$TMP/ran" ]' "no action ran (the rule would fire at once live)"

case_ "a share of physical memory in a script's rules"
# memwatch.watch{above = "0.0001%"} in a script: a share of this machine's
# memory (MemTotal), live and in memwatch check; the event prints it both ways.
cat >share.lua <<EOF
memwatch.watch { name = "share", select = { name = "$CHILD_NAME" }, above = "0.0001%", clear = "0.00005%",
    every = "0.1s", on_alert = function(ev) print(ev.threshold, ev.clear) print(ev) end }
memwatch.run(0.05)
EOF
total=$(awk '/^MemTotal:/ { printf "%.0f", $2 * 1024 }' /proc/meminfo)
above=$(awk -v t="$total" 'BEGIN { printf "%d", int(t * 0.0001 / 100 + 0.5) }')
clear=$(awk -v t="$total" 'BEGIN { printf "%d", int(t * 0.00005 / 100 + 0.5) }')
OUT=$("$MEMWATCH" share.lua 2>&1)
expect_eq "$(printf '%s\n' "$OUT" | head -1)" "$above	$clear" "the thresholds: shares of MemTotal ($total bytes)"
expect_match "$(printf '%s\n' "$OUT" | sed -n 2p)" \
    "^ALERT rule 'share' $CHILD_NAME\\[$CHILD\\] footprint [0-9.]+[KMG] \\(above 0\\.0001% \\([0-9.]+[BKM]\\)\\) 1 process\$" \
    "the event prints the share and the size"
OUT=$("$MEMWATCH" check share.lua 2>&1)
expect_eq "$(printf '%s\n' "$OUT" | tail -1)" "share.lua: 1 rule OK" "memwatch check takes it"

case_ "check a script that loops around memwatch.run()"
printf 'memwatch.watch { name = "loop", above = "1G" }\nwhile true do memwatch.run(10) end\n' >loop.lua
OUT=$(timeout 20 "$MEMWATCH" check loop.lua 2>&1)
expect_eq "$?" 0 "exit status: the second memwatch.run() ends the script"
expect_contains "$OUT" "loop.lua: 1 rule OK" "the rule"

case_ "check lists five names, then ..."
for i in 1 2 3 4 5 6; do
    "$TMP/$CHILD_NAME" 120 &
    PIDS+=("$!")
done
printf 'memwatch.watch { name = "many", select = { name = "%s" }, above = "1G" }\n' "$CHILD_NAME" >many.lua
OUT=$("$MEMWATCH" check many.lua)
expect_match "$OUT" "^rule 'many': selects 7 processes \\($CHILD_NAME\\[[0-9]+\\](, $CHILD_NAME\\[[0-9]+\\]){4}, \\.\\.\\.\\)$" \
    "seven processes, five named"

case_ "check a bad rule"
printf 'memwatch.watch { name = "x", above = "1G" }\nmemwatch.watch { name = "y", above = "1G", sustain = "-5s" }\nmemwatch.run()\n' >bad.lua
OUT=$("$MEMWATCH" check bad.lua 2>&1)
expect_eq "$?" 1 "exit status"
expect_eq "$OUT" "bad.lua:2: memwatch.watch: rule 'y': 'sustain' must not be negative, got '-5s'" "file:line: message"

case_ "check a syntax error"
printf 'memwatch.watch {\n  name = "x", above = "1G",\n' >syn.lua
OUT=$("$MEMWATCH" check syn.lua 2>&1)
expect_eq "$?" 1 "exit status"
expect_eq "$OUT" "syn.lua:3: unexpected symbol near <eof>" "file:line: message"

case_ "check a script that raises"
printf 'memwatch.watch { name = "x", above = "1G" }\nerror("boom")\n' >err.lua
OUT=$("$MEMWATCH" check err.lua 2>&1)
expect_eq "$?" 1 "exit status"
expect_eq "$OUT" "err.lua:2: boom" "file:line: message"

case_ "check a missing file, a script without rules, no file"
OUT=$("$MEMWATCH" check missing.lua 2>&1)
expect_eq "$?" 1 "missing: exit status"
expect_eq "$OUT" "memwatch check: cannot open missing.lua: No such file or directory" "missing file"
printf 'local x = 1\n' >empty.lua
OUT=$("$MEMWATCH" check empty.lua 2>&1)
expect_eq "$?" 1 "no rules: exit status"
expect_eq "$OUT" "memwatch check: empty.lua: registers no rules (memwatch.watch{...})" "no rules"
OUT=$("$MEMWATCH" check 2>&1)
expect_eq "$?" 2 "no file: exit status"
expect_eq "$OUT" "memwatch check: expected a watch script FILE.lua
try 'memwatch check --help'" "no file: the message and where to find the usage"

case_ "check passes the script its arguments"
printf 'memwatch.watch { name = arg[1], above = "1G" }\n' >args.lua
OUT=$("$MEMWATCH" check args.lua fromarg 2>&1)
expect_contains "$OUT" "rule 'fromarg': selects " "arg[1] names the rule"
expect_contains "$OUT" "args.lua: 1 rule OK" "one rule"

# ---- memwatch rules --prometheus ----------------------------------------------------

# Every kind the translation takes.
cat >fleet.lua <<'EOF'
local A = memwatch.actions
memwatch.watch { name = "big process", select = { name = "postgres" }, above = "1G", sustain = "30s",
    on_alert = A.log() }
memwatch.watch { name = "by name", group = "name", above = "2G", clear = "1.5G", repeat_every = "1h" }
memwatch.watch { name = "root below", group = "user", select = { user = "root" }, below = "1M" }
memwatch.watch { name = "app swap", group = "app", metric = "swap", above = "100M" }
memwatch.watch { name = "app pss", group = "app", metric = "pss", above = "4G", every = "10s" }
memwatch.watch { name = "pids", select = { pid = { 1, 2 } }, metric = "resident", above = "1G" }
memwatch.watch { name = "python", select = { match = "^python[%d.]*$" }, above = "1G", sustain = 1 }
memwatch.watch { name = "leak", select = { name = "postgres" }, growth = { above = "50M/h", window = "10m",
    limit = "2G" } }
memwatch.watch { name = "name leak", group = "name", growth = { above = "50M/h", window = "90s" } }
memwatch.watch { name = "app leak", group = "app", growth = { above = "1G/d", window = "1h" } }
memwatch.run()
EOF
# Every refusal (and one rule that goes through, so the file is not empty).
cat >refused.lua <<'EOF'
memwatch.watch { name = "ok", above = "1G" }
memwatch.watch { name = "fn metric", metric = function(r) return r.footprint end, above = 1 }
memwatch.watch { name = "fn group", group = function(r) return r.name end, above = 1 }
memwatch.watch { name = "callback", above = 1, on_alert = function(e) print(e) end }
memwatch.watch { name = "tree", group = "tree", above = 1 }
memwatch.watch { name = "app select", group = "app", select = { name = "x" }, above = 1 }
memwatch.watch { name = "uss", metric = "uss", above = 1 }
memwatch.watch { name = "name pss", group = "name", metric = "pss", above = 1 }
memwatch.watch { name = "match", select = { match = "^x" }, above = 1 }
memwatch.watch { name = "capture", select = { match = "(x)" }, above = 1 }
memwatch.watch { name = "uid", select = { user = 0 }, above = 1 }
memwatch.watch { name = "r2", growth = { above = 1, min_r2 = 0.9 } }
memwatch.watch { name = "warmup", growth = { above = 1, warmup = "1m" } }
memwatch.watch { name = "growth clear", growth = { above = 2 }, clear = 1 }
memwatch.watch { name = "samples", above = 1, sustain = 3 }
memwatch.run()
EOF

case_ "rules: every translatable kind"
"$MEMWATCH" rules fleet.lua --prometheus --match-on-name --label team=ops --label severity=page >fleet.yml 2>err
expect_eq "$?" 0 "exit status"
expect_eq "$(cat err)" "" "nothing left out"
expect_eq "$(grep -c '^      - alert: ' fleet.yml)" 10 "ten alerts"
expect_contains "$(cat fleet.yml)" "# They read the metrics of \`memwatch serve --group none --group app --pss\` on each host" \
    "the header names serve's options"
expect_contains "$(cat fleet.yml)" '        expr: "sum by (instance, key) (label_replace(label_join(process_memory_footprint_bytes{name=\"postgres\"}, \"key\", \"[\", \"name\", \"pid\"), \"key\", \"${1}]\", \"key\", \"(?s)(.*)\")) > 1073741824"
        for: 30s
        labels:
          grouping: "none"
          severity: "page"
          team: "ops"' "a threshold rule"
expect_contains "$(cat fleet.yml)" 'name=~\"(?s)python[[:digit:].]*\"' "a match on the name"
if needs promtool; then
    OUT=$(promtool check rules fleet.yml 2>&1)
    expect_eq "$?" 0 "promtool check rules: $OUT"
    expect_contains "$OUT" "SUCCESS: 10 rules found" "promtool found every rule"
fi

case_ "rules: every refusal, with its reason"
"$MEMWATCH" rules refused.lua --prometheus >refused.yml 2>err
expect_eq "$?" 0 "exit status"
expect_eq "$(cat err)" "memwatch rules: rule 'fn metric' left out: its metric is a Lua function, which Prometheus cannot run
memwatch rules: rule 'fn group' left out: it groups with a Lua function; serve exports groups by process, name, user and app
memwatch rules: rule 'callback' left out: its alerts only reach Lua callbacks (on_alert/on_resolve functions), which Prometheus cannot run
memwatch rules: rule 'tree' left out: group 'tree' selects the trees under the rule's own processes; serve --group tree exports the trees under init
memwatch rules: rule 'app select' left out: group 'app' with a select picks the apps that hold a selected process; serve's app series carry only the app's name
memwatch rules: rule 'uss' left out: serve exports no series for metric 'uss'
memwatch rules: rule 'name pss' left out: a group's pss has no value while a member's smaps_rollup is unreadable; a sum of serve's per-process series would count that member as 0
memwatch rules: rule 'match' left out: select.match \"^x\" is also tried on the command line, which serve's series do not carry (--match-on-name translates it on the name alone)
memwatch rules: rule 'capture' left out: select.match \"(x)\" is also tried on the command line, which serve's series do not carry (--match-on-name translates it on the name alone)
memwatch rules: rule 'uid' left out: select.user is a uid (0); serve labels processes with user names
memwatch rules: rule 'r2' left out: growth.min_r2 has no PromQL form (deriv() fits the line but gives no r2)
memwatch rules: rule 'warmup' left out: growth.warmup has no PromQL form
memwatch rules: rule 'growth clear' left out: a growth 'clear' has no PromQL form
memwatch rules: rule 'samples' left out: 'sustain' counts samples (3), which Prometheus does not; give a duration" \
    "stderr: each refusal"
"$MEMWATCH" rules refused.lua --prometheus --match-on-name 2>&1 >/dev/null | grep -E "'(match|capture)'" >err2
expect_eq "$(cat err2)" "memwatch rules: rule 'capture' left out: select.match \"(x)\" has no RE2 form: captures ( ) are not translated" \
    "--match-on-name: the pattern translates or is refused for RE2"
expect_eq "$(grep -c '^      - alert: ' refused.yml)" 1 "the one translatable rule is kept"
expect_contains "$(cat refused.yml)" "# 1 rule translated, 14 left out." "the header counts"
printf 'memwatch.watch { name = "fn", metric = function() return 1 end, above = 1 }\n' >allout.lua
"$MEMWATCH" rules allout.lua --prometheus >allout.yml 2>/dev/null
expect_eq "$?" 0 "every rule left out: exit status"
expect_contains "$(cat allout.yml)" "    rules: []" "every rule left out: an empty list"
if needs promtool; then
    OUT=$(promtool check rules refused.yml 2>&1)
    expect_eq "$?" 0 "promtool check rules (refusals): $OUT"
    OUT=$(promtool check rules allout.yml 2>&1)
    expect_eq "$?" 0 "promtool check rules (nothing translated): $OUT"
fi

case_ "rules: Prometheus's own evaluator (promtool test rules) on known series"
# Hysteresis (by name: still firing at 180, between clear and above; gone at
# 140), for: (proc: pending at 2m, firing at 3m), growth (deriv over the
# window), and the keys memwatch makes (name, name[pid]).
cat >hy.lua <<'EOF'
memwatch.watch { name = "by name", group = "name", above = 200, clear = 150 }
memwatch.watch { name = "proc", select = { name = "pg" }, above = 150, sustain = "2m" }
memwatch.watch { name = "leak", select = { name = "grow" }, growth = { above = "30/m", window = "3m" } }
EOF
cat >hy_test.yml <<'EOF'
rule_files: [hy.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'process_memory_footprint_bytes{instance="h1",job="m",name="pg",pid="812",user="u"}'
        values: '100 250 180 160 140 140'
      - series: 'process_memory_footprint_bytes{instance="h1",job="m",name="pg",pid="813",user="u"}'
        values: '0 0 0 0 0 0'
      - series: 'process_memory_footprint_bytes{instance="h1",job="m",name="grow",pid="900",user="u"}'
        values: '0 40 80 120 160 199'
    alert_rule_test:
      - eval_time: 2m
        alertname: by name
        exp_alerts:
          - exp_labels: {alertname: by name, key: pg, instance: h1, grouping: name}
            exp_annotations:
              summary: "rule 'by name' pg footprint 180B (above 200B)"
              description: "rule 'by name': alert when footprint of each process name (all processes) is above 200B; resolves at 150B"
              threshold: "200"
      - eval_time: 4m
        alertname: by name
        exp_alerts: []
      - eval_time: 2m
        alertname: proc
        exp_alerts: []
      - eval_time: 3m
        alertname: proc
        exp_alerts:
          - exp_labels: {alertname: proc, key: "pg[812]", instance: h1, grouping: none}
            exp_annotations:
              summary: "rule 'proc' pg[812] footprint 160B (above 150B)"
              description: "rule 'proc': alert when footprint of each process (name=pg) is above 150B for 120s"
              threshold: "150"
      - eval_time: 4m
        alertname: proc
        exp_alerts: []
      - eval_time: 3m
        alertname: leak
        exp_alerts:
          - exp_labels: {alertname: leak, key: "grow[900]", instance: h1, grouping: none}
            exp_annotations:
              summary: "rule 'leak' grow[900] footprint grows 0.6667B/s (above 2K/h over 3m00s)"
              description: "rule 'leak': alert when footprint of each process (name=grow) grows faster than 30B/m over 3m"
              threshold: "0.5"
EOF
"$MEMWATCH" rules hy.lua --prometheus >hy.yml
expect_eq "$?" 0 "exit status"
if needs promtool; then
    OUT=$(promtool test rules hy_test.yml 2>&1)
    expect_eq "$?" 0 "promtool test rules: $OUT"
    expect_contains "$OUT" "SUCCESS" "promtool's verdict"
fi

case_ "rules: a percentage threshold against the host's memory (promtool test rules)"
# rule.lua does not take percentages yet: a hand-built rule with the fraction
# the translator reads (threshold_fraction, clear_fraction).
"$MEMWATCH" -e '
local r = require("memwatch.watch.rule").compile({ name = "pct", group = "name", above = 1 }, "#1")
r.threshold_fraction, r.clear_fraction = 0.5, 0.25
io.write((require("memwatch.promrules").render({ r }, { source = "pct" })))' >pct.yml
cat >pct_test.yml <<'EOF'
rule_files: [pct.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'memwatch_system_memory_total_bytes{instance="h1",job="m"}'
        values: '400 400 400 400 400'
      - series: 'memwatch_system_memory_total_bytes{instance="h2",job="m"}'
        values: '4000 4000 4000 4000 4000'
      - series: 'process_memory_footprint_bytes{instance="h1",job="m",name="pg",pid="812",user="u"}'
        values: '100 250 150 90 90'
      - series: 'process_memory_footprint_bytes{instance="h2",job="m",name="pg",pid="812",user="u"}'
        values: '100 250 150 90 90'
    alert_rule_test:
      - eval_time: 1m
        alertname: pct
        exp_alerts:
          - exp_labels: {alertname: pct, key: pg, instance: h1, grouping: name}
            exp_annotations:
              summary: "rule 'pct' pg footprint 250B (above 50% of memory)"
              description: "rule 'pct': alert when footprint of each process name (all processes) is above 1B"
              threshold: "50%"
      - eval_time: 2m
        alertname: pct
        exp_alerts:
          - exp_labels: {alertname: pct, key: pg, instance: h1, grouping: name}
            exp_annotations:
              summary: "rule 'pct' pg footprint 150B (above 50% of memory)"
              description: "rule 'pct': alert when footprint of each process name (all processes) is above 1B"
              threshold: "50%"
      - eval_time: 3m
        alertname: pct
        exp_alerts: []
EOF
if needs promtool; then
    OUT=$(promtool test rules pct_test.yml 2>&1)
    expect_eq "$?" 0 "promtool test rules: $OUT"
fi

case_ "rules: usage errors and bad scripts"
OUT=$("$MEMWATCH" rules fleet.lua 2>&1)
expect_eq "$?" 2 "no --prometheus: exit status"
expect_eq "$(printf '%s\n' "$OUT" | head -1)" "memwatch rules: expected --prometheus (the output format)" "no --prometheus"
OUT=$("$MEMWATCH" rules fleet.lua --prometheus --label bad-name=x 2>&1)
expect_eq "$?" 2 "bad label: exit status"
expect_eq "$(printf '%s\n' "$OUT" | head -1)" "memwatch rules: --label: 'bad-name=x' is not NAME=VALUE with a Prometheus label name" \
    "a bad label name"
OUT=$("$MEMWATCH" rules fleet.lua --prometheus --label key=x 2>&1)
expect_eq "$(printf '%s\n' "$OUT" | head -1)" "memwatch rules: --label: 'key' is set by the translation (alertname, key, grouping, instance)" \
    "a reserved label"
OUT=$("$MEMWATCH" rules bad.lua --prometheus 2>&1)
expect_eq "$?" 1 "bad rule: exit status"
expect_eq "$OUT" "bad.lua:2: memwatch.watch: rule 'y': 'sustain' must not be negative, got '-5s'" "bad rule: file:line"
OUT=$("$MEMWATCH" rules missing.lua --prometheus 2>&1)
expect_eq "$OUT" "memwatch rules: cannot open missing.lua: No such file or directory" "missing file"

# ---- serve --group, more than once --------------------------------------------------

case_ "serve --group none --group app --group user"
"$MEMWATCH" serve --textfile "$TMP/multi.prom" --once --group none --group app --group user --group app
expect_eq "$?" 0 "exit status"
BODY=$(cat "$TMP/multi.prom")
expect_match "$BODY" "^process_memory_footprint_bytes\\{name=\"$CHILD_NAME\",pid=\"$CHILD\",user=\"[^\"]*\"\\} [0-9]+$" \
    "the per-process series"
expect_match "$BODY" '^memwatch_group_memory_footprint_bytes\{group="[^"]*",grouping="app"\} [0-9]+$' "the app series"
expect_match "$BODY" "^memwatch_group_memory_footprint_bytes\\{group=\"$(id -un)\",grouping=\"user\"\\} [0-9]+$" \
    "the user series"
expect_eq "$(grep -c '^# TYPE memwatch_group_memory_footprint_bytes gauge$' "$TMP/multi.prom")" 1 "one family, once"
TOTAL=$("$MEMWATCH" -e 'print(memwatch.system().total)')
expect_contains "$BODY" "memwatch_system_memory_total_bytes $TOTAL" "the host's memory"
keep_exposition "$TMP/multi.prom" "serve --group none --group app --group user"
"$MEMWATCH" serve --textfile "$TMP/top.prom" --once --group none --group user --top 1
expect_eq "$(grep -c '^process_memory_footprint_bytes{' "$TMP/top.prom")" 1 "--top 1: one process"
expect_eq "$(grep -c '^memwatch_group_memory_footprint_bytes{' "$TMP/top.prom")" 1 "--top 1: one user"

mw_test_done
