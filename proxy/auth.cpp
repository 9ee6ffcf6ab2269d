#include "auth.h"

#include "codec.h"
#include "metrics.h"
#include "queries.h"

#include <strings.h>

namespace credsync {

namespace {

ApiError unauthorized(const std::string &msg)
{
    // The handler boundary adds WWW-Authenticate: Bearer to every 401.
    return ApiError(401, "unauthorized", msg);
}

constexpr size_t kMaxCacheEntries = 100000;
constexpr std::chrono::seconds kHeardTtl(60);

}  // namespace

Identity TokenAuth::identity_for(const std::string &authorization)
{
    if (authorization.empty()) throw unauthorized("missing bearer token");
    if (authorization.size() < 7 || strncasecmp(authorization.c_str(), "Bearer ", 7) != 0)
        throw unauthorized("the Authorization header must be 'Bearer <token>'");
    std::string token = authorization.substr(7);
    while (!token.empty() && token.front() == ' ') token.erase(0, 1);
    while (!token.empty() && token.back() == ' ') token.pop_back();
    if (token.empty() || token.size() > 1024) throw unauthorized("invalid bearer token");
    for (char c : token)
        if (c <= 0x20 || c >= 0x7f) throw unauthorized("invalid bearer token");

    std::string key = sha256(token);
    auto now = std::chrono::steady_clock::now();
    unsigned long long generation;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = cache_.find(key);
        if (it != cache_.end() && it->second.expires > now) {
            if (it->second.who.user.empty()) throw unauthorized("unknown or revoked token");
            return it->second.who;
        }
        generation = generation_;
    }
    // Asked before the lookup: a revocation that commits during it is heard
    // after it started, and forget_all() keeps its answer out of the cache.
    bool heard = revocations_heard_();
    Identity who;
    {
        auto lease = pool_.acquire();
        // The hash goes to the database, not the token (queries::token_identity).
        Result r = lease->run(queries::token_identity, {Param::bin(key)});
        if (PQntuples(r.get()) == 1 && !PQgetisnull(r.get(), 0, 0) && !PQgetisnull(r.get(), 0, 1)) {
            who.user = PQgetvalue(r.get(), 0, 0);
            who.device = PQgetvalue(r.get(), 0, 1);
        }
    }
    metrics().count("token_lookups_total");
    if (ttl_.count() > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        if (generation == generation_) {
            if (cache_.size() >= kMaxCacheEntries) {
                for (auto it = cache_.begin(); it != cache_.end();)
                    it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
                if (cache_.size() >= kMaxCacheEntries) cache_.clear();
            }
            // The lookup's start time bounds the age of the answer.
            auto ttl = heard && !who.user.empty() ? std::chrono::duration_cast<std::chrono::milliseconds>(kHeardTtl) : ttl_;
            cache_[key] = Entry{who, now + ttl};
        }
    }
    if (who.user.empty()) throw unauthorized("unknown or revoked token");
    return who;
}

void TokenAuth::forget_all()
{
    std::lock_guard<std::mutex> lock(mu_);
    cache_.clear();
    ++generation_;
}

}  // namespace credsync
