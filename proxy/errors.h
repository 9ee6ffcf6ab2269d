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
    ApiError(int status, std::string code, const std::string &message,
             nlohmann::json extra = nlohmann::json::object())
        : std::runtime_error(message), status(status), code(std::move(code)), extra(std::move(extra))
    {
    }
};

inline ApiError bad_request(const std::string &msg) { return ApiError(400, "bad_request", msg); }
inline ApiError unavailable(const std::string &msg) { return ApiError(503, "unavailable", msg); }

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
