-- memwatch.watch.trend: the growth rules' trend fit, a least-squares line
-- over the samples in a rule's window.
local M = {}

--- fit_arrays(ts, vs, n) -> slope (units per second), r2, n: the fit over
-- the first n samples held as two parallel arrays of times and values (how
-- the engine keeps a window: no table per sample).
function M.fit_arrays(ts, vs, n)
    if n < 2 then return nil, nil, n end
    local t0 = ts[1]
    local st, sv = 0.0, 0.0
    for i = 1, n do
        st = st + (ts[i] - t0)
        sv = sv + vs[i]
    end
    local mt, mv = st / n, sv / n
    local stt, stv, svv = 0.0, 0.0, 0.0
    for i = 1, n do
        local dt, dv = ts[i] - t0 - mt, vs[i] - mv
        stt = stt + dt * dt
        stv = stv + dt * dv
        svv = svv + dv * dv
    end
    if stt <= 0 then return nil, nil, n end
    local slope = stv / stt
    local r2 = svv > 0 and (stv * stv) / (stt * svv) or 0.0
    return slope, r2, n
end

--- trend(samples) -> slope (units per second), r2, n. samples: {{t, v}, ...}
function M.fit(samples)
    local ts, vs = {}, {}
    for i, s in ipairs(samples) do ts[i], vs[i] = s[1], s[2] end
    return M.fit_arrays(ts, vs, #samples)
end

return M
