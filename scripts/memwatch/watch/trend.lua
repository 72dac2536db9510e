-- memwatch.watch.trend: the growth rules' trend fit, a least-squares line
-- over the samples in a rule's window.
local M = {}

--- trend(samples) -> slope (units per second), r2, n. samples: {{t, v}, ...}
function M.fit(samples)
    local n = #samples
    if n < 2 then return nil, nil, n end
    local t0 = samples[1][1]
    local st, sv = 0.0, 0.0
    for i = 1, n do
        st = st + (samples[i][1] - t0)
        sv = sv + samples[i][2]
    end
    local mt, mv = st / n, sv / n
    local stt, stv, svv = 0.0, 0.0, 0.0
    for i = 1, n do
        local dt, dv = samples[i][1] - t0 - mt, samples[i][2] - mv
        stt = stt + dt * dt
        stv = stv + dt * dv
        svv = svv + dv * dv
    end
    if stt <= 0 then return nil, nil, n end
    local slope = stv / stt
    local r2 = svv > 0 and (stv * stv) / (stt * svv) or 0.0
    return slope, r2, n
end

return M
