-- wrk script for scripts/bench: BENCH_BODY set makes every request a JSON POST of it. Counts
-- responses other than the expected one (200) and ends with one line for the script to read:
-- "wrk-report requests=N seconds=S rps=R mean_ms=M p50_ms=A p95_ms=B p99_ms=C non200=N errors=E
-- statuses=CODE:N,..." followed by "NAME=N NAME_per_s=R" for every counter a script kept with count().
-- Other scripts build on this one: they dofile() it (see wrk-ids.lua), define request() and
-- response(), and call unexpected(status) and count(name) from response().
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end

local threads = {}
function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_number", #threads)
end

non200 = 0
statuses = {}
counters = {}

-- Counts a response that is not the one expected.
function unexpected(status)
    non200 = non200 + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
end

-- Adds one to the counter NAME, reported with its rate per second.
function count(name)
    counters[name] = (counters[name] or 0) + 1
end

function response(status, headers, body)
    if status ~= 200 then unexpected(status) end
end

function done(summary, latency, requests)
    local failed, byStatus, totals = 0, {}, {}
    for _, thread in ipairs(threads) do
        failed = failed + thread:get("non200")
        for code, n in pairs(thread:get("statuses")) do byStatus[code] = (byStatus[code] or 0) + n end
        for name, n in pairs(thread:get("counters")) do totals[name] = (totals[name] or 0) + n end
    end
    local list, names = {}, {}
    for code, n in pairs(byStatus) do table.insert(list, code .. ":" .. n) end
    table.sort(list)
    for name in pairs(totals) do table.insert(names, name) end
    table.sort(names)
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "wrk-report requests=%d seconds=%.3f rps=%.1f mean_ms=%.3f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f non200=%d errors=%d statuses=%s",
        summary.requests, seconds, summary.requests / seconds, latency.mean / 1000, latency:percentile(50) / 1000,
        latency:percentile(95) / 1000, latency:percentile(99) / 1000, failed, e.connect + e.read + e.write + e.timeout,
        #list > 0 and table.concat(list, ",") or "-"))
    for _, name in ipairs(names) do
        io.write(string.format(" %s=%d %s_per_s=%.1f", name, totals[name], name, totals[name] / seconds))
    end
    io.write("\n")
end
