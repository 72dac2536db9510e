-- memwatch.record.plot: the series `memwatch plot` draws from a recording,
-- and the gnuplot script and data that draw them. Pure: reading the file
-- and making text; scripts/memwatch/cli/plot.lua runs gnuplot.
local R = require "memwatch.record"
local select_ = require "memwatch.select"
local group = require "memwatch.group"
local text = require "memwatch.text"

local M = {}

M.UNITS = { { "T", "TiB", 1024 ^ 4 }, { "G", "GiB", 1024 ^ 3 }, { "M", "MiB", 1024 ^ 2 }, { "K", "KiB", 1024 },
    { "B", "bytes", 1 } }

--- unit(max) -> letter, name, divisor: the largest unit the maximum reaches
function M.unit(max)
    for _, u in ipairs(M.UNITS) do
        if max >= u[3] then return u[1], u[2], u[3] end
    end
    return "B", "bytes", 1
end

local function selected(filters, rows)
    if not filters then return rows end
    local out = {}
    for _, r in ipairs(rows) do
        for _, c in ipairs(filters) do
            if select_.matches(c, r) then
                out[#out + 1] = r
                break
            end
        end
    end
    return out
end

--- compile(filters) -> compiled filters (nil: every process). Raises on a bad one.
function M.compile(filters)
    if not filters then return nil end
    local out = {}
    for i, f in ipairs(filters) do
        out[i] = select_.refresh(select_.compile(f, "selection", 2))
    end
    return out
end

--- series{path=, filters=, group=, field=, warn=} -> result
-- result: {times = {t...}, breaks = {[i] = true when sample i starts a new
-- segment}, series = {{id=, key=, values = {[i] = v}, max=}...} largest
-- first, segments = n, hostname =, fields = set}
function M.series(opts)
    local reader, err = R.reader(opts.path, opts.warn)
    if not reader then R.fail("%s", err) end
    local field = opts.field or "footprint"
    local mode = opts.group or "none"
    local filters = M.compile(opts.filters)
    local out = { times = {}, breaks = {}, series = {} }
    local by_id = {}
    local ok, e = pcall(function()
        local i = 0
        while true do
            local s = reader:next()
            if not s then break end
            i = i + 1
            out.times[i] = s.t
            if s.first_of_segment and i > 1 then out.breaks[i] = true end
            local rows = selected(filters, s.processes)
            if mode == "tree" or mode == "app" then
                -- As in memwatch top: kernel threads (by their flag) are no
                -- one's tree; init is a row of its own (group.context's views).
                local kept = {}
                for _, r in ipairs(rows) do
                    if not r.kernel_thread then kept[#kept + 1] = r end
                end
                rows = kept
            end
            local ctx = group.context(s.processes, function(rec) return rec.app end, true)
            for _, g in ipairs(group.build(mode, rows, ctx, function(fn, r) return pcall(fn, r) end)) do
                local sum, any = 0, false
                for _, p in ipairs(g.processes) do
                    local v = p[field]
                    if type(v) == "number" then
                        sum = sum + v
                        any = true
                    end
                end
                if any then
                    local ser = by_id[g.id]
                    if not ser then
                        ser = { id = g.id, key = g.key, values = {}, max = sum }
                        by_id[g.id] = ser
                        out.series[#out.series + 1] = ser
                    end
                    ser.values[i] = sum
                    if sum > ser.max then ser.max = sum end
                end
            end
        end
        if i == 0 then R.fail("%s: no samples (only a header): nothing to plot", opts.path) end
        out.segments = #reader.segments
        out.hostname = reader.segments[1].header.machine and reader.segments[1].header.machine.hostname
        out.fields = R.fields_of(reader.segments)
    end)
    reader:close()
    if not ok then error(e, 0) end
    if not out.fields[field] then
        R.fail("%s does not record '%s' (it records %s)", opts.path, field,
            table.concat(reader.segments[1].header.fields, ", "))
    end
    table.sort(out.series, function(a, b)
        if a.max ~= b.max then return a.max > b.max end
        return a.key < b.key
    end)
    return out
end

-- ---- gnuplot ------------------------------------------------------------------------------

--- quote(s) -> a gnuplot single-quoted string of the printable form of s
-- (single-quoted strings take no backslash escapes; a quote is doubled).
-- The printable form has no control characters and is valid UTF-8, so the
-- SVG stays well-formed whatever the bytes of a process name.
function M.quote(s)
    return "'" .. text.printable(s):gsub("'", "''") .. "'"
end

--- utc_offset(t) -> seconds east of UTC of local time at t
function M.utc_offset(t)
    local z = os.date("%z", math.floor(t))
    local sign, h, m = z:match("^([+-])(%d%d)(%d%d)$")
    if not sign then return 0 end
    local off = tonumber(h) * 3600 + tonumber(m) * 60
    return sign == "-" and -off or off
end

--- data(result, series, divisor, utc) -> gnuplot data text: one block per
-- series (two blank lines between), x = epoch seconds shifted to the shown
-- time zone, y = value / divisor; a blank line breaks a line where the
-- series has no value or a new segment starts.
function M.data(res, series, divisor, utc)
    local parts = {}
    for si, ser in ipairs(series) do
        if si > 1 then parts[#parts + 1] = "\n\n" end
        parts[#parts + 1] = "# " .. text.printable(ser.key) .. "\n"
        local open = false
        for i, t in ipairs(res.times) do
            local v = ser.values[i]
            if res.breaks[i] and open then
                parts[#parts + 1] = "\n"
                open = false
            end
            if v then
                local x = t + (utc and 0 or M.utc_offset(t))
                parts[#parts + 1] = string.format("%.3f %.6g\n", x, v / divisor)
                open = true
            elseif open then
                parts[#parts + 1] = "\n"
                open = false
            end
        end
    end
    return table.concat(parts)
end

-- Kelly's colours of maximum contrast (without white and black), a
-- qualitative palette: neighbours in the legend never look alike.
M.PALETTE = { "#f3c300", "#875692", "#f38400", "#a1caf1", "#be0032", "#c2b280", "#848482", "#008856",
    "#e68fac", "#0067a5", "#f99379", "#604e97", "#f6a600", "#b3446c", "#dcd300", "#882d17", "#8db600",
    "#654522", "#e25822", "#2b3d26" }

local function hsv(h, sat, v)
    local i = math.floor(h * 6) % 6
    local f = h * 6 - math.floor(h * 6)
    local p, q, t = v * (1 - sat), v * (1 - f * sat), v * (1 - (1 - f) * sat)
    local r, g, b = table.unpack(({ { v, t, p }, { q, v, p }, { p, v, t }, { p, q, v }, { t, p, v },
        { v, p, q } })[i + 1])
    return string.format("#%02x%02x%02x", math.floor(r * 255 + 0.5), math.floor(g * 255 + 0.5),
        math.floor(b * 255 + 0.5))
end

--- palette(n) -> n distinct colours "#rrggbb": the qualitative palette
-- first, then hues a golden angle apart at alternating brightness.
function M.palette(n)
    local out, seen = {}, {}
    for i = 1, math.min(n, #M.PALETTE) do
        out[i] = M.PALETTE[i]
        seen[out[i]] = true
    end
    local k = 0
    while #out < n do
        k = k + 1
        local c = hsv((k * 0.618033988749895) % 1, 0.75, k % 2 == 0 and 0.6 or 0.9)
        if not seen[c] then
            seen[c] = true
            out[#out + 1] = c
        end
    end
    return out
end

--- script{output=, data=, series=, field=, unit=, unit_name=, title=, first=, last=, utc=} -> gnuplot text
-- The unit is said once, in the y label ("footprint (MiB)"); the ticks are
-- plain numbers.
function M.script(o)
    local span = o.last - o.first
    local xfmt = span <= 900 and "%H:%M:%S" or span <= 2 * 86400 and "%H:%M" or "%m-%d %H:%M"
    local zone
    if o.utc then
        zone = "UTC"
    else
        local off = M.utc_offset(o.first)
        zone = string.format("UTC%s%02d:%02d", off < 0 and "-" or "+", math.abs(off) // 3600,
            math.abs(off) % 3600 // 60)
    end
    local day = os.date(o.utc and "!%Y-%m-%d" or "%Y-%m-%d", math.floor(o.first))
    local lines = {
        "set terminal svg size 1000,500 dynamic noenhanced font 'sans,11' background '#ffffff'",
        "set output " .. M.quote(o.output),
        "set title " .. M.quote(o.title),
        "set xdata time",
        "set timefmt '%s'",
        "set format x " .. M.quote(xfmt),
        "set xlabel " .. M.quote(string.format("time from %s (%s)", day, zone)),
        "set ylabel " .. M.quote(string.format("%s (%s)", o.field, o.unit_name)),
        "set format y '%g'",
        "set yrange [0:*]",
        "set grid",
        "set key outside right top vertical Left reverse",
        "set style data lines",
    }
    local plots = {}
    local colours = M.palette(#o.series)
    for i, ser in ipairs(o.series) do
        plots[i] = string.format("%s index %d using 1:2 with lines linewidth 2 linecolor rgb '%s' title %s",
            i == 1 and M.quote(o.data) or "''", i - 1, colours[i], M.quote(ser.key))
    end
    lines[#lines + 1] = "plot " .. table.concat(plots, ", \\\n     ")
    return table.concat(lines, "\n") .. "\n"
end

--- gnuplot_error(stderr_text, script_text, output) -> one line: what gnuplot
-- said went wrong ('"FILE" line N: MESSAGE', then 'system error: WHY'), in
-- memwatch's words when it is the chart's own path.
function M.gnuplot_error(err, script, output)
    local lines = {}
    for l in (script .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    local msgs, at, why = {}, nil, nil
    for l in (err .. "\n"):gmatch("([^\n]*)\n") do
        local n, msg = l:match('^".-" line (%d+): (.*)$')
        if n and not msg:find("^warning: ") then
            msgs[#msgs + 1] = msg
            at = at or tonumber(n)
        end
        why = why or l:match("^system error: (.*)$")
    end
    if at and (lines[at] or ""):find("^set output ") then
        return string.format("cannot write %s: %s", text.printable(output), why or msgs[1])
    end
    if #msgs > 0 then
        return "gnuplot: " .. text.printable(table.concat(msgs, "; ") .. (why and (" (" .. why .. ")") or ""))
    end
    local first = err:match("[^\n]*%S[^\n]*")
    return first and ("gnuplot: " .. text.printable(first:match("^%s*(.-)%s*$"))) or nil
end

return M
