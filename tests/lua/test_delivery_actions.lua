-- The HTTP actions' pure parts (issue 12): the Alertmanager alert (labels
-- shared with the fleet rules, annotations, times), the webhook bodies
-- (JSON schema version 1, Slack, ntfy) as exact text, option checks with
-- their exact messages, URL checks and redaction, and memwatch.delivery()
-- for a destination nobody answers (no network beyond a closed port).
local T = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/testlib.lua")
local check, eq, raises_exactly = T.check, T.eq, T.raises_exactly

local AM = require "memwatch.actions.alertmanager"
local WH = require "memwatch.actions.webhook"
local http = require "memwatch.actions.http"
local promrules = require "memwatch.promrules"
local delivery = require "memwatch.delivery"
local core = require "memwatch.core"

-- 2025-11-25T09:04:05.250Z
local T0 = 1764061445.25

-- A table as sorted "k=v" text, for exact comparisons.
local function show(t)
    local out = {}
    for k, v in pairs(t) do out[#out + 1] = tostring(k) .. "=" .. tostring(v) end
    table.sort(out)
    return table.concat(out, " ")
end

local function event(over)
    local ev = { kind = "alert", rule = "big", key = "firefox[42]", group = "app", metric = "footprint",
        direction = "above", value = 4509715660, value_text = "4.2G", threshold = 4294967296,
        threshold_text = "4.0G", count = 2, processes = { { pid = 42, name = "firefox" }, { pid = 43, name = "Web" } },
        time = T0, since = T0 - 10, repeated = 0 }
    for k, v in pairs(over or {}) do ev[k] = v end
    return ev
end

T.test("times are RFC 3339 in UTC with milliseconds", function()
    eq(http.rfc3339(T0), "2025-11-25T09:04:05.250Z")
    eq(http.rfc3339(1764061445.9996), "2025-11-25T09:04:06.000Z")
end)

T.test("the Alertmanager URL gets the API v2 path once", function()
    eq(AM.url("http://127.0.0.1:9093"), "http://127.0.0.1:9093/api/v2/alerts")
    eq(AM.url("http://127.0.0.1:9093/"), "http://127.0.0.1:9093/api/v2/alerts")
    eq(AM.url("https://am.example/prefix?token=x"), "https://am.example/prefix/api/v2/alerts?token=x")
    eq(AM.url("http://h:9093/api/v2/alerts"), "http://h:9093/api/v2/alerts")
end)

T.test("a firing alert: the fleet rules' label set, annotations, endsAt four resends ahead", function()
    local cfg = AM.check { url = "http://127.0.0.1:9093", instance = "host1", labels = { team = "ops" },
        annotations = { runbook = "https://wiki/x" } }
    local alert = AM.alert(event(), cfg)
    eq(AM.body(alert), '[{"annotations":{"pids":"42 43","processes":"2","runbook":"https://wiki/x",' ..
        '"summary":"ALERT rule \'big\' firefox[42]: footprint 4.2G (above 4.0G), 2 processes on host1",' ..
        '"threshold":"4.0G","value":"4.2G"},"endsAt":"2025-11-25T09:08:05.250Z",' ..
        '"labels":{"alertname":"big","grouping":"app","instance":"host1","key":"firefox[42]","team":"ops"},' ..
        '"startsAt":"2025-11-25T09:03:55.250Z"}]')
    -- The same set the rules file's entries carry (rule name and key come
    -- from `alert:` and the series there).
    local shared = promrules.alert_labels { rule = "big", key = "firefox[42]", grouping = "app",
        instance = "host1", labels = { team = "ops" } }
    eq(show(alert.labels), show(shared))
    eq(show(shared), "alertname=big grouping=app instance=host1 key=firefox[42] team=ops")
end)

T.test("a resolve ends now and keeps the start; a vanished group says how", function()
    local cfg = AM.check { url = "http://127.0.0.1:9093", instance = "host1" }
    local ev = event { kind = "resolve", time = T0 + 60, gone = true, oom_killed = true, count = 0, processes = {} }
    local alert = AM.alert(ev, cfg, T0 - 10)
    eq(AM.body(alert), '[{"annotations":{"gone":"true","oom_killed":"true","pids":"","processes":"0",' ..
        '"summary":"RESOLVED rule \'big\' firefox[42]: footprint 4.2G (above 4.0G), 0 processes ' ..
        '(gone: OOM-killed) on host1","threshold":"4.0G","value":"4.2G"},"endsAt":"2025-11-25T09:05:05.250Z",' ..
        '"labels":{"alertname":"big","grouping":"app","instance":"host1","key":"firefox[42]"},' ..
        '"startsAt":"2025-11-25T09:03:55.250Z"}]')
end)

T.test("the heartbeat is an always-firing MemwatchHeartbeat", function()
    local cfg = AM.check { url = "http://127.0.0.1:9093", instance = "host1", labels = { team = "ops" },
        heartbeat = "1m" }
    eq(cfg.heartbeat, 60)
    eq(AM.body(AM.heartbeat(cfg, T0, T0 + 60, 60)), '[{"annotations":{"summary":"memwatch on host1 is running ' ..
        '(posted every 60s)"},"endsAt":"2025-11-25T09:09:05.250Z","labels":{"alertname":"MemwatchHeartbeat",' ..
        '"instance":"host1","team":"ops"},"startsAt":"2025-11-25T09:04:05.250Z"}]')
end)

T.test("what grew (event.grew) reaches the summary, Alertmanager's annotations and the JSON body", function()
    local grew = { pid = 42, change = 62914560, text = "heap +58.0M, /memfd:pool +2.0M",
        categories = { { name = "heap", change = 60817408 } },
        regions = { { name = "/memfd:pool", start = 4096, category = "shared memory", change = 2097152,
            status = "grown" } } }
    local ev = event { grew = grew }
    eq(http.summary(ev, "host1"), "ALERT rule 'big' firefox[42]: footprint 4.2G (above 4.0G), 2 processes on " ..
        "host1; grew: heap +58.0M, /memfd:pool +2.0M")
    local cfg = AM.check { url = "http://127.0.0.1:9093", instance = "host1" }
    eq(AM.annotations(ev, cfg).grew, "heap +58.0M, /memfd:pool +2.0M")
    local body = WH.event_json(ev, "host1")
    check(body:find('"grew":{"categories":[{"change":60817408,"name":"heap"}],"change":62914560,"pid":42,' ..
        '"regions":[{"category":"shared memory","change":2097152,"name":"/memfd:pool","start":4096,' ..
        '"status":"grown"}],"text":"heap +58.0M, /memfd:pool +2.0M"}', 1, true), body)
    eq(AM.annotations(event(), cfg).grew, nil, "no grew without event.grew")
end)

T.test("webhook bodies: JSON schema version 1, Slack, ntfy", function()
    local ev = event()
    eq(WH.event_json(ev, "host1"), '{"count":2,"direction":"above","gone":false,"grouping":"app",' ..
        '"instance":"host1","key":"firefox[42]","kind":"alert","metric":"footprint","oom_killed":false,' ..
        '"processes":[{"name":"firefox","pid":42},{"name":"Web","pid":43}],"repeated":0,"rule":"big",' ..
        '"since":"2025-11-25T09:03:55.250Z","summary":"ALERT rule \'big\' firefox[42]: footprint 4.2G ' ..
        '(above 4.0G), 2 processes on host1","threshold":4294967296,"threshold_text":"4.0G",' ..
        '"time":"2025-11-25T09:04:05.250Z","value":4509715660,"value_text":"4.2G","version":1}')
    eq(WH.event_json({ kind = "heartbeat", time = T0 }, "host1"), '{"instance":"host1","kind":"heartbeat",' ..
        '"summary":"memwatch on host1 is running","time":"2025-11-25T09:04:05.250Z","version":1}')
    eq(WH.slack(ev, "host1"), '{"text":"ALERT rule \'big\' firefox[42]: footprint 4.2G (above 4.0G), ' ..
        '2 processes on host1"}')
    local body, headers = WH.ntfy(event { kind = "resolve", rule = "gr\xc3\xb6\xc3\x9fe" }, "host1")
    eq(body, "RESOLVED rule 'gr\xc3\xb6\xc3\x9fe' firefox[42]: footprint 4.2G (above 4.0G), 2 processes on host1")
    eq(table.concat(headers, "|"), "Title: memwatch RESOLVED: gr????e|Priority: default|Tags: white_check_mark")
    local _, h2 = WH.ntfy(ev, "host1")
    eq(table.concat(h2, "|"), "Title: memwatch ALERT: big|Priority: high|Tags: warning")
    -- A function of your own; its errors are the callback's.
    local cfg = WH.check { url = "http://x/", body = function(e) return "<" .. e.key .. ">" end, instance = "h" }
    eq(WH.render(ev, cfg), "<firefox[42]>")
    eq(cfg.content_type, "text/plain; charset=utf-8")
    cfg = WH.check { url = "http://x/", body = function() return 1 end }
    raises_exactly(function() WH.render(ev, cfg) end,
        "memwatch.actions.webhook: the body function returned number, not a string")
end)

T.test("bad options are refused with the reason, URLs shown redacted", function()
    raises_exactly(function() AM.check { url = "ftp://u:secret@h/x" } end,
        "memwatch.actions.alertmanager: 'url': 'ftp://***@h/x' is not an http:// or https:// URL")
    raises_exactly(function() AM.check {} end,
        "memwatch.actions.alertmanager: 'url': expected an http:// or https:// URL, got nil")
    raises_exactly(function() AM.check { url = "http://h", lables = {} } end,
        "memwatch.actions.alertmanager: unknown option 'lables' (expected annotations, heartbeat, insecure, " ..
        "instance, labels, resend, retries, timeout, url)")
    raises_exactly(function() AM.check { url = "http://h", labels = { key = "x" } } end,
        "memwatch.actions.alertmanager: label 'key' is set by memwatch (alertname, key, grouping, instance)")
    raises_exactly(function() AM.check { url = "http://h", labels = { ["a-b"] = "x" } } end,
        "memwatch.actions.alertmanager: label 'a-b' is not a Prometheus label name")
    raises_exactly(function() AM.check { url = "http://h", timeout = "soon" } end,
        "memwatch.actions.alertmanager: 'timeout' must be a duration greater than 0, got soon")
    raises_exactly(function() AM.check { url = "http://h", retries = -1 } end,
        "memwatch.actions.alertmanager: 'retries' must be an integer >= 0, got -1")
    raises_exactly(function() AM.check { url = "http://h", insecure = "yes" } end,
        "memwatch.actions.alertmanager: 'insecure' must be true or false, got string")
    raises_exactly(function() WH.check { url = "http://h", body = "xml" } end,
        "memwatch.actions.webhook: 'body' must be \"json\", \"slack\", \"ntfy\" or a function, got 'xml'")
    raises_exactly(function() WH.check { url = "http://h", headers = { "X-A: 1\r\nX-B: 2" } } end,
        "memwatch.actions.webhook: 'headers': entry 1 is not a header (Name = \"value\", or \"Name: value\" " ..
        "on one line)")
    raises_exactly(function() WH.check { url = "http://h", method = "post" } end,
        "memwatch.actions.webhook: 'method' must be an HTTP method such as POST or PUT, got post")
    raises_exactly(function() WH.check { url = "https://hooks.slack.com/services/T0/B1/SECRETX y" } end,
        "memwatch.actions.webhook: 'url': 'https://hooks.slack.com/services/T0/B1/***' holds a space or a " ..
        "control character")
    -- TLS is verified unless insecure = true says otherwise.
    eq(WH.check { url = "https://h" }.insecure, false)
    eq(WH.check { url = "https://h", insecure = true }.insecure, true)
    eq(table.concat(WH.check { url = "http://h", headers = { ["X-Token"] = "abc", "X-A: 1" } }.headers, "|"),
        "X-A: 1|X-Token: abc")
end)

T.test("memwatch.delivery(): a destination that cannot be reached counts and reports, redacted", function()
    local reports = {}
    local saved = delivery.report
    delivery.report = function(sev, msg) reports[#reports + 1] = sev .. " " .. msg end
    local d = delivery.destination { name = "webhook", url = "http://127.0.0.1:1/hook?token=s3cr3t", retries = 0,
        timeout = 2 }
    check(d:post("k", "{}", "application/json"))
    local deadline = core.now() + 5
    while core.now() < deadline and d:stats().failed == 0 do core.sleep(0.05) end
    delivery.report = saved
    local mine
    for _, s in ipairs(memwatch.delivery()) do
        if s.url == "http://127.0.0.1:1/hook?token=***" then mine = s end
    end
    check(mine ~= nil, "the destination is listed with its URL redacted")
    eq(mine.name, "webhook")
    eq(mine.sent, 0)
    eq(mine.failed, 1)
    eq(mine.dropped, 0)
    eq(mine.queued, 0)
    eq(mine.last_success, nil)
    check(mine.last_error and mine.last_error:find("Couldn't connect", 1, true), "last_error: " ..
        tostring(mine.last_error))
    eq(#reports, 1)
    check(reports[1]:match("^3 webhook http://127%.0%.0%.1:1/hook%?token=%*%*%*: refused %(.*%), not retried; " ..
        "further losses are counted, not reported, until a delivery succeeds$") or
        reports[1]:match("^3 webhook http://127%.0%.0%.1:1/hook%?token=%*%*%*: gave up after 1 attempts"),
        "report: " .. tostring(reports[1]))
    check(not table.concat(reports):find("s3cr3t", 1, true), "the token never shows")
    -- The same configuration is the same destination.
    eq(delivery.destination { name = "webhook", url = "http://127.0.0.1:1/hook?token=s3cr3t", retries = 0,
        timeout = 2 }, d)
end)

T.done()
