-- wrk script: POST the image in $WRK_BODY_FILE (Content-Type $WRK_CONTENT_TYPE, default
-- image/png) on every request, count answers by X-Model-Version and non-2xx answers per thread,
-- and print everything at the end, one "key value..." line each. Shared by the swap-under-load
-- test (crates/cli/tests/serve_load.rs) and the HTTP benchmark (bench/http/).
--   WRK_BODY_FILE=dog.jpg wrk -t2 -c32 -d10s -s tests/wrk/predict.lua http://127.0.0.1:8891/predict

local file = assert(io.open(assert(os.getenv("WRK_BODY_FILE"), "set WRK_BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("WRK_CONTENT_TYPE") or "image/png"

-- Per-thread tallies (each thread runs its own copy of this script).
responses = 0
non2xx = 0
versions = {}

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function response(status, headers, body)
    responses = responses + 1
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
    end
    local version = "(none)"
    for name, value in pairs(headers) do
        if string.lower(name) == "x-model-version" then
            version = value
        end
    end
    versions[version] = (versions[version] or 0) + 1
end

function done(summary, latency, requests)
    local e = summary.errors
    print(string.format("requests %d", summary.requests))
    print(string.format("duration_us %d", summary.duration))
    print(string.format("errors %d %d %d %d %d", e.connect, e.read, e.write, e.timeout, e.status))
    for _, p in ipairs({ 50, 90, 99 }) do
        print(string.format("latency_p%d_us %d", p, latency:percentile(p)))
    end
    for _, thread in ipairs(threads) do
        print(string.format("thread %d %d", thread:get("responses"), thread:get("non2xx")))
        for version, count in pairs(thread:get("versions")) do
            print(string.format("version %s %d", version, count))
        end
    end
end
