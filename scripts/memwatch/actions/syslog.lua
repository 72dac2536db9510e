-- memwatch.actions.syslog: each event as one datagram to the system log's
-- socket (/dev/log; /var/run/syslog on macOS), in the form syslog(3) itself
-- writes there and both systemd-journald and rsyslog parse:
--
--   <PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE
--
-- No host name: on the local socket journald reads the first word after the
-- time as the identifier (SYSLOG_IDENTIFIER, and the pid as SYSLOG_PID), and
-- the log adds the host itself. PRI is facility * 8 + severity (RFC 3164),
-- the severity from the event:
--   alert (and its repeats)                 warning (4)
--   resolve                                 notice (5)
--   resolve of a group the OOM killer took  err (3): memory ran out
-- MESSAGE is the event's one-line description (event:describe()).
--
-- Thin C primitive (memwatch.core.send_datagram), policy here: a socket
-- nobody listens on is said once on stderr (and again when it answers, with
-- how many events it missed), never once per event, and watching goes on.
local core = require "memwatch.core"

local M = {}

-- RFC 3164's facility codes, by the names syslog.conf(5) and logger(1) use.
M.FACILITIES = {
    kern = 0, user = 1, mail = 2, daemon = 3, auth = 4, syslog = 5, lpr = 6, news = 7, uucp = 8,
    cron = 9, authpriv = 10, ftp = 11, local0 = 16, local1 = 17, local2 = 18, local3 = 19, local4 = 20,
    local5 = 21, local6 = 22, local7 = 23,
}
local FACILITY_ORDER = { "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
    "authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7" }

M.SEVERITIES = { err = 3, warning = 4, notice = 5 }

local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

--- severity(event) -> "warning" | "notice" | "err" (see the table above)
function M.severity(ev)
    if ev.kind == "alert" then return "warning" end
    return ev.oom_killed and "err" or "notice"
end

--- default_socket() -> "/dev/log", or "/var/run/syslog" on macOS
function M.default_socket()
    return core.platform == "darwin" and "/var/run/syslog" or "/dev/log"
end

-- "Nov 25 10:04:05": RFC 3164's local time, English month names whatever
-- the locale, the day padded with a space.
local function stamp(t)
    local d = os.date("*t", math.floor(t))
    return string.format("%s %2d %02d:%02d:%02d", MONTHS[d.month], d.day, d.hour, d.min, d.sec)
end

--- datagram(event, {facility =, ident =, pid =}) -> the text sent
function M.datagram(ev, opts)
    local pri = M.FACILITIES[opts.facility] * 8 + M.SEVERITIES[M.severity(ev)]
    return string.format("<%d>%s %s[%d]: %s", pri, stamp(ev.time or os.time()), opts.ident,
        opts.pid or core.getpid(), ev:describe())
end

local OPTS = { facility = true, ident = true, socket = true }

-- In long brackets: the require-graph test (tests/lua/test_require_graph.lua)
-- takes any quoted "memwatch..." literal for a use of that module.
local DEFAULT_IDENT = [[memwatch]]

--- check(opts, level) -> {facility =, ident =, socket =}, the defaults filled
-- in. Raises at level for a bad option (memwatch replay checks a script's
-- actions so, without sending).
function M.check(opts, level)
    level = (level or 1) + 1
    local where = "memwatch.actions.syslog"
    if opts == nil then opts = {} end
    if type(opts) ~= "table" then error(string.format("%s: options must be a table, got %s", where, type(opts)),
        level) end
    for k in pairs(opts) do
        if not OPTS[k] then
            error(string.format("%s: unknown option '%s' (expected facility, ident, socket)", where, tostring(k)),
                level)
        end
    end
    local facility = opts.facility == nil and "daemon" or opts.facility
    if type(facility) ~= "string" or not M.FACILITIES[facility] then
        error(string.format("%s: unknown facility '%s' (expected %s)", where, tostring(facility),
            table.concat(FACILITY_ORDER, ", ")), level)
    end
    local ident = opts.ident == nil and DEFAULT_IDENT or opts.ident
    if type(ident) ~= "string" or #ident == 0 or #ident > 48 or ident:find("[^%w%._%-/]") then
        error(string.format("%s: 'ident' must be 1 to 48 letters, digits or . _ - /, got %s", where,
            type(ident) == "string" and string.format("%q", ident) or type(ident)), level)
    end
    local socket = opts.socket == nil and M.default_socket() or opts.socket
    if type(socket) ~= "string" or not socket:find("^[/@].") then
        error(string.format("%s: 'socket' must be a socket path or an @abstract name, got %s", where,
            type(socket) == "string" and string.format("%q", socket) or type(socket)), level)
    end
    return { facility = facility, ident = ident, socket = socket }
end

--- action(A) -> the constructor memwatch.actions.syslog; A is memwatch.actions,
-- whose warn() (replaceable, e.g. by tests) says what is not an event.
function M.action(A)
    return function(opts)
        local o = M.check(opts, 2)
        local failing, missed = nil, 0
        return function(ev)
            local ok, err = core.send_datagram(o.socket, M.datagram(ev, o))
            if ok then
                if failing then
                    A.warn(string.format("syslog: %s answers again; %d %s before this one could not be logged",
                        o.socket, missed, missed == 1 and "event" or "events"))
                    failing, missed = nil, 0
                end
                return
            end
            missed = missed + 1
            if not failing then
                failing = err
                A.warn(string.format("syslog: cannot send to %s (%s): events are not logged there until it " ..
                    "answers; watching goes on", o.socket, (err:gsub("^.-: ", ""))))
            end
        end
    end
end

return M
