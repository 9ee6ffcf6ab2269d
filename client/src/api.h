// The credsync HTTP API as the client uses it (docs/protocol.md, docs/http.md):
// one method per route, JSON in and out, errors as HttpError.
#pragma once

#include "error.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace httplib {
class Client;
}

namespace credsync {

// A non-2xx answer. kind() follows the status (401 unauthorized, 429
// rate_limited, 507 quota, ...); status(), code() and detail() (the "error"
// object) let the sync engine act on 409 and 410.
class HttpError : public Error {
public:
    HttpError(Kind kind, const std::string &msg, int status, std::string code, nlohmann::json detail)
        : Error(kind, msg), status_(status), code_(std::move(code)), detail_(std::move(detail))
    {
    }
    int status() const { return status_; }
    const std::string &code() const { return code_; }
    const nlohmann::json &detail() const { return detail_; }

private:
    int status_;
    std::string code_;
    nlohmann::json detail_;
};

class Api {
public:
    // server: http://host:port or https://host:port, optionally with a path
    // prefix. CREDSYNC_CA_FILE names a PEM bundle to trust instead of the
    // system's (a private CA, a test certificate).
    Api(const std::string &server, const std::string &token);
    ~Api();
    void set_token(const std::string &token) { token_ = token; }
    const std::string &server() const { return server_; }
    // Aborts a request in flight from another thread (watch mode's long-polls).
    void stop();

    // Sync API.
    nlohmann::json account();
    nlohmann::json zones();
    nlohmann::json zone_state(const std::string &zone);
    nlohmann::json pull(const std::string &zone, int64_t since, int limit, bool full, int wait_s = 0);
    // The same pull, its body as the server sent it (parse_page(), page.h).
    std::string pull_text(const std::string &zone, int64_t since, int limit, bool full);
    nlohmann::json push(const std::string &zone, const std::string &body);  // body: the exact JSON text

    // Accounts API (issue 11).
    nlohmann::json create_account(const nlohmann::json &body);
    nlohmann::json login_challenge(const std::string &name);
    nlohmann::json login(const nlohmann::json &body);
    nlohmann::json devices();
    nlohmann::json revoke_device(const std::string &id);
    nlohmann::json change_login(const nlohmann::json &body);

private:
    enum class Retry { no, yes };
    nlohmann::json call(const std::string &method, const std::string &path, const std::string *body, Retry retry,
                        int read_timeout_s = 30);
    // A 2xx answer's body; anything else throws as call() does.
    std::string call_text(const std::string &method, const std::string &path, const std::string *body, Retry retry,
                          int read_timeout_s = 30);

    std::string server_;
    std::string prefix_;
    std::string token_;
    std::unique_ptr<httplib::Client> http_;
};

}  // namespace credsync
