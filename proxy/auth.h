// Bearer tokens -> (user, device), through credsync.token_identity()
// (extension 1.4): the proxy hashes the token (SHA-256) and only the hash is
// sent to the database. Every token is a device; the device is what
// GET /v1/devices marks as current and what a password change keeps.
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

// Who a token is: its user and its device (a uuid, lower case).
struct Identity {
    std::string user;
    std::string device;
};

class TokenAuth {
public:
    TokenAuth(Pool &pool, int cache_ms, std::function<bool()> revocations_heard)
        : pool_(pool), ttl_(std::chrono::milliseconds(cache_ms)), revocations_heard_(std::move(revocations_heard))
    {
    }
    // The user and device of an "Authorization" header value; throws
    // ApiError 401 when the header is missing, malformed, or names an unknown
    // or revoked token, and 503 when the database cannot answer.
    Identity identity_for(const std::string &authorization);
    std::string user_for(const std::string &authorization) { return identity_for(authorization).user; }
    // Drops every cached answer, including lookups in flight.
    void forget_all();

private:
    struct Entry {
        Identity who;  // user empty: unknown token
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
