-- wrk script: GET /v1/zones/<zone>/pull?since=0&limit=100 (a device's first
-- page) as a random one of the bench users. In zone "default" each user holds
-- 100 records of 256 bytes (a full page); bench/cpu.py seeds zone "one" with
-- one record each (a page of one record).
--   BENCH_ZONE     the zone (default "default")
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local path = "/v1/zones/" .. (os.getenv("BENCH_ZONE") or "default") .. "/pull?since=0&limit=100"
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
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
