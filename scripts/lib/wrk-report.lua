-- wrk script for scripts/bench: BENCH_BODY set makes every request a JSON POST of it. Counts
-- responses other than 200 and ends with one line for the script to read:
-- "wrk-report requests=N seconds=S rps=R mean_ms=M p50_ms=A p99_ms=B non200=N errors=E statuses=CODE:N,...".
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

non200 = 0
statuses = {}
function response(status, headers, body)
    if status ~= 200 then
        non200 = non200 + 1
        statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
    end
end

function done(summary, latency, requests)
    local failed, byStatus = 0, {}
    for _, thread in ipairs(threads) do
        failed = failed + thread:get("non200")
        for code, n in pairs(thread:get("statuses")) do byStatus[code] = (byStatus[code] or 0) + n end
    end
    local list = {}
    for code, n in pairs(byStatus) do table.insert(list, code .. ":" .. n) end
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "wrk-report requests=%d seconds=%.3f rps=%.1f mean_ms=%.3f p50_ms=%.3f p99_ms=%.3f non200=%d errors=%d statuses=%s\n",
        summary.requests, seconds, summary.requests / seconds, latency.mean / 1000, latency:percentile(50) / 1000,
        latency:percentile(99) / 1000, failed, e.connect + e.read + e.write + e.timeout,
        #list > 0 and table.concat(list, ",") or "-"))
end
