-- wrk script for scripts/bench: GETs BENCH_PATH, a format with one %s such as
-- "/api/v1/tickets/%s", for ids drawn at random from the file BENCH_IDS (one a line); the URL
-- given to wrk names the host. Reports as wrk-report.lua does.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-report.lua")

local requests = {}

function init(args)
    local path = (assert(os.getenv("BENCH_PATH"), "BENCH_PATH is not set"))
    for id in io.lines((assert(os.getenv("BENCH_IDS"), "BENCH_IDS is not set"))) do
        if id ~= "" then table.insert(requests, wrk.format("GET", string.format(path, id))) end
    end
    assert(#requests > 0, "BENCH_IDS lists no ids")
    math.randomseed(thread_number or 1)
end

function request()
    return requests[math.random(#requests)]
end
