// The route handlers of PROTOCOL.md's HTTP API. Each validates its input
// (answering 400 before touching the database), runs its SQL through the pool
// and returns the JSON reply. Errors are thrown as ApiError.
#pragma once

#include "auth.h"
#include "config.h"
#include "listener.h"
#include "pool.h"
#include "router.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>

namespace credsync {

struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
};

class Api {
public:
    Api(const Config &cfg, Pool &pool, Listener &listener, TokenAuth &auth)
        : cfg_(cfg), pool_(pool), listener_(listener), auth_(auth)
    {
    }
    // user is the token's user (empty for routes without auth). The query
    // string is checked first (an unknown or repeated parameter is 400).
    Reply handle(const RouteMatch &m, const httplib::Request &req, const std::string &user);

private:
    Reply healthz();
    Reply register_user();
    Reply account(const std::string &user);
    Reply zones(const std::string &user);
    Reply zone(const std::string &user, const std::string &zone);
    Reply push(const std::string &user, const std::string &zone, const httplib::Request &req);
    // The database's credsync.max_batch_records as last read, or its default.
    size_t batch_limit() const;
    void note_batch_limit(const PGresult *limits);
    bool reread_batch_limit();
    Reply pull(const std::string &user, const std::string &zone, const httplib::Request &req,
               const httplib::Params &query);
    Reply delete_item(const std::string &user, const std::string &zone, const std::string &item,
                      const httplib::Params &query);

    // Accounts, login and devices (accounts.cpp; issues 11 and 16).
    Reply create_account(const std::string &body);
    Reply login_challenge(const std::string &body);
    Reply login(const std::string &body);
    Reply devices(const std::string &user, const httplib::Request &req);
    Reply revoke_device(const std::string &user, const std::string &device);
    Reply set_login(const std::string &user, const httplib::Request &req);
    Reply delete_zone(const std::string &user, const std::string &zone);
    Reply delete_account(const std::string &user, const std::string &body);
    // The token's identity again, for a request already let in by the gate
    // (normally from the token cache): its device.
    Identity identity(const httplib::Request &req);

    const Config &cfg_;
    Pool &pool_;
    Listener &listener_;
    TokenAuth &auth_;  // a long-poll re-checks its token before every re-pull
    // A push over the batch limit is refused while its body is parsed, before
    // it costs memory. The limit is the database's: read by every account
    // request and, at most once a second, when a push goes over it (so that a
    // raised setting is seen before a push is refused for it). 0: not read yet.
    std::atomic<long long> batch_limit_{0};
    std::atomic<long long> batch_limit_read_ms_{0};
};

}  // namespace credsync
