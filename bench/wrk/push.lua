-- wrk script: POST /v1/zones/<zone>/push, new 256-byte records, each request as
-- a random one of the bench users (tokens, one per line, in the file named by
-- $BENCH_TOKENS). Keep-alive is wrk's default.
--   BENCH_RECORDS  records per push (default 1; each gets a new item id)
--   BENCH_ZONE     the zone (default "default")
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local records = tonumber(os.getenv("BENCH_RECORDS") or "1")
local path = "/v1/zones/" .. (os.getenv("BENCH_ZONE") or "default") .. "/push"
-- 256 bytes of 0x5a, base64: the same blob the pgbench scripts push.
local record = '{"blob": "' .. string.rep("Wlpa", 85) .. 'Wg=="}'
local list = {}
for i = 1, records do list[i] = record end
local body = '{"records": [' .. table.concat(list, ", ") .. ']}'
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
    return wrk.format("POST", path,
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
