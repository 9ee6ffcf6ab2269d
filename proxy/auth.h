// Bearer tokens -> user ids, through credsync.token_user().
//
// Answers are reused for at most --token-cache-ms (<= 1 s), so a revoked token
// stops working within that time plus one request. The cache is keyed by the
// token's SHA-256, so the proxy does not keep tokens themselves in memory.
#pragma once

#include "pool.h"

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace credsync {

class TokenAuth {
public:
    TokenAuth(Pool &pool, int cache_ms) : pool_(pool), ttl_(std::chrono::milliseconds(cache_ms)) {}
    // The user of an "Authorization" header value; throws ApiError 401 when
    // the header is missing, malformed, or names an unknown or revoked token,
    // and 503 when the database cannot answer.
    std::string user_for(const std::string &authorization);

private:
    struct Entry {
        std::string user;  // empty: unknown token
        std::chrono::steady_clock::time_point expires;
    };
    Pool &pool_;
    std::chrono::milliseconds ttl_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> cache_;
};

}  // namespace credsync
