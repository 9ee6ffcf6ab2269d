-- wrk script: GET /v1/zones/default/pull?since=0&limit=100 (a device's first
-- page: 100 records of 256 bytes) as a random one of the bench users, whose
-- zones were seeded with 100 records each.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local counter = 0

function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end

function init(args)
    math.randomseed(os.time() * 100 + (id or 0))
end

function request()
    local token = tokens[math.random(#tokens)]
    return wrk.format("GET", "/v1/zones/default/pull?since=0&limit=100",
        {["Authorization"] = "Bearer " .. token})
end
