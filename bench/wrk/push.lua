-- wrk script: POST /v1/zones/default/push, one new 256-byte record per request,
-- each request as a random one of the bench users (tokens, one per line, in the
-- file named by $BENCH_TOKENS). Keep-alive is wrk's default.
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
-- 256 bytes of 0x5a, base64: the same blob the pgbench scripts push.
local body = '{"records": [{"blob": "' .. string.rep("Wlpa", 85) .. 'Wg=="}]}'
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
    return wrk.format("POST", "/v1/zones/default/push",
        {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
