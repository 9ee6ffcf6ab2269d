// API errors: the exception handlers throw, and the SQLSTATE -> HTTP mapping
// of PROTOCOL.md ("Errors").
#pragma once

#include <nlohmann/json.hpp>
#include <libpq-fe.h>

#include <stdexcept>
#include <string>

namespace credsync {

// Thrown anywhere below a route handler; the handler boundary turns it into
// {"error": {"code", "message", ...extra}} with the given status.
struct ApiError : std::runtime_error {
    int status;
    std::string code;
    nlohmann::json extra;  // merged into the error object (conflicts, reason, ...)
    int retry_after = 0;   // > 0: sent as Retry-After (seconds), e.g. 429 too_many_attempts
    ApiError(int status, std::string code, const std::string &message,
             nlohmann::json extra = nlohmann::json::object())
        : std::runtime_error(message), status(status), code(std::move(code)), extra(std::move(extra))
    {
    }
};

inline ApiError bad_request(const std::string &msg) { return ApiError(400, "bad_request", msg); }
inline ApiError unavailable(const std::string &msg) { return ApiError(503, "unavailable", msg); }

// A failed login (or a deletion's failed login proof): one answer, whatever
// failed (an unknown name, a wrong key, another name's, a reused or an expired
// challenge), so that the answer tells nothing about which. CSA01.
ApiError login_failed();
// Over the per-name limit of failed logins: 429 with Retry-After. The same
// words for every name, known or not. CSA29.
ApiError too_many_attempts(int retry_after_s);

// The contract's code for a status (used for errors cpp-httplib produces itself).
std::string code_for_status(int status);

// The JSON body of an error.
std::string error_body(int status, const std::string &code, const std::string &message,
                       const nlohmann::json &extra = nlohmann::json::object());

// Turns a failed libpq result (or a dead connection) into the ApiError the
// client should see. Unexpected errors are logged here (SQLSTATE and primary
// message only: never parameters, blobs or tokens) and become a bare 500.
ApiError error_from_result(PGconn *conn, const PGresult *res);

}  // namespace credsync
