-- wrk script for scripts/bench: creates a draft ticket (POST /api/v1/tickets with the JSON of
-- BENCH_BODY, expecting 201) and submits every draft created (POST /api/v1/tickets/<id>/transitions
-- {"action":"submit"}, expecting 200 and status "submitted"). wrk asks a thread for its next
-- request only once a connection's response is in, so each created draft's submission is queued
-- and sent as this thread's next request; one submission follows each creation. Counts "created"
-- and "submitted" (the completed pairs); any other answer is unexpected. Reports as wrk-report.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk-report.lua")

local create, headers
local queue, first, last = {}, 1, 0

function init(args)
    headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Content-Type"] = "application/json"
    create = wrk.format("POST", "/api/v1/tickets", headers, (assert(os.getenv("BENCH_BODY"), "BENCH_BODY is not set")))
end

function request()
    if first <= last then
        local id = queue[first]
        queue[first] = nil
        first = first + 1
        return wrk.format("POST", "/api/v1/tickets/" .. id .. "/transitions", headers, '{"action":"submit"}')
    end
    return create
end

function response(status, _, body)
    if status == 201 then
        local id = body:match('"id"%s*:%s*"([%x%-]+)"')
        if id then
            count("created")
            last = last + 1
            queue[last] = id
        else
            unexpected("201-without-id")
        end
    elseif status == 200 and body:match('"status"%s*:%s*"submitted"') then
        count("submitted")
    else
        unexpected(status)
    end
end
