// Bearer tokens -> user ids, through credsync.token_user_hash(): the proxy
// hashes the token (SHA-256) and only the hash is sent to the database.
//
// A user's answer is reused for up to a minute while revocations are heard
// (the listener is connected and its heartbeat answered: the extension
// notifies credsync_tokens on every revocation and the cache is emptied at
// once), and for at most --token-cache-ms (<= 1 s) otherwise; "unknown
// token" always for at most --token-cache-ms, so a new token works at once.
// Either way a revoked token stops working within about 2 s. The cache is
// keyed by the token's SHA-256, so the proxy does not keep tokens in memory.
#pragma once

#include "pool.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace credsync {

class TokenAuth {
public:
    TokenAuth(Pool &pool, int cache_ms, std::function<bool()> revocations_heard)
        : pool_(pool), ttl_(std::chrono::milliseconds(cache_ms)), revocations_heard_(std::move(revocations_heard))
    {
    }
    // The user of an "Authorization" header value; throws ApiError 401 when
    // the header is missing, malformed, or names an unknown or revoked token,
    // and 503 when the database cannot answer.
    std::string user_for(const std::string &authorization);
    // Drops every cached answer, including lookups in flight.
    void forget_all();

private:
    struct Entry {
        std::string user;  // empty: unknown token
        std::chrono::steady_clock::time_point expires;
    };
    Pool &pool_;
    std::chrono::milliseconds ttl_;
    std::function<bool()> revocations_heard_;
    std::mutex mu_;
    unsigned long long generation_ = 0;  // bumped by forget_all()
    std::unordered_map<std::string, Entry> cache_;
};

}  // namespace credsync
