#include "errors.h"

#include "codec.h"
#include "log.h"

#include <cstring>

namespace credsync {

using nlohmann::json;

std::string code_for_status(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 410: return "cursor_invalid";
    case 411: return "length_required";
    case 413: return "too_large";
    case 415: return "unsupported_encoding";
    case 422: return "op_reused";
    case 429: return "too_many_attempts";
    case 503: return "unavailable";
    case 507: return "quota_exceeded";
    default: return status >= 500 ? "internal" : "bad_request";
    }
}

std::string error_body(int status, const std::string &code, const std::string &message,
                       const json &extra)
{
    (void)status;
    json err = {{"code", code}, {"message", message}};
    for (auto it = extra.begin(); it != extra.end(); ++it) err[it.key()] = it.value();
    return json{{"error", err}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

ApiError login_failed() { return ApiError(401, "login_failed", "login failed"); }

ApiError too_many_attempts(int retry_after_s)
{
    ApiError e(429, "too_many_attempts", "too many failed logins for this name: retry after the time in Retry-After");
    e.retry_after = retry_after_s > 0 ? retry_after_s : 1;
    return e;
}

namespace {

std::string field(const PGresult *res, int code)
{
    const char *v = res ? PQresultErrorField(res, code) : nullptr;
    return v ? v : "";
}

json parse_detail(const std::string &detail)
{
    try {
        return json::parse(detail);
    } catch (const std::exception &) {
        return nullptr;
    }
}

// Errors that say "try again shortly": the database is away, restarting,
// overloaded, read-only after a failover, or a statement ran out of time.
bool is_transient(const std::string &state)
{
    static const char *const exact[] = {"57P01", "57P02", "57P03", "53300", "53400", "57014",
                                        "40001", "40P01", "25006", "55P03"};
    if (state.rfind("08", 0) == 0) return true;  // connection exceptions
    for (const char *s : exact)
        if (state == s) return true;
    return false;
}

}  // namespace

ApiError error_from_result(PGconn *conn, const PGresult *res)
{
    std::string state = field(res, PG_DIAG_SQLSTATE);
    if (PQstatus(conn) != CONNECTION_OK || state.empty() || is_transient(state)) {
        log_line("database unavailable: sqlstate=" + (state.empty() ? std::string("none") : state) +
                 " " + (res ? field(res, PG_DIAG_MESSAGE_PRIMARY) : std::string(PQerrorMessage(conn))));
        return unavailable("the database is unavailable, retry shortly");
    }
    std::string primary = field(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string detail = field(res, PG_DIAG_MESSAGE_DETAIL);

    // Accounts (extension 1.4). login() and account_delete() report a failed
    // login as a result row (an ERROR would roll back its failure count), so
    // CSA01 and CSA29 are not raised by 1.4; mapped all the same.
    if (state == "CSA09") return ApiError(409, "name_taken", "the name is taken");
    if (state == "CSA01") return login_failed();
    if (state == "CSA29") {
        auto seconds = parse_int(detail, 1, 86400);
        return too_many_attempts(seconds ? static_cast<int>(*seconds) : 1);
    }
    // Class CS: the extension's own errors; the digits are the HTTP status.
    if (state.rfind("CS", 0) == 0) {
        if (state == "CS409") {
            json conflicts = parse_detail(detail);
            if (!conflicts.is_array()) conflicts = json::array();
            return ApiError(409, "conflict", "if_match failed", {{"conflicts", conflicts}});
        }
        if (state == "CS410") {
            json d = parse_detail(detail);
            json extra = json::object();
            if (d.is_object()) {
                for (const char *k : {"reason", "gencount", "horizon"})
                    if (d.contains(k)) extra[k] = d[k];
            }
            std::string reason = extra.value("reason", std::string("expired"));
            return ApiError(410, "cursor_invalid",
                            reason == "ahead" ? "since is beyond the zone's gencount: sync again from 0"
                                              : "since is below the zone's horizon: sync again from 0",
                            extra);
        }
        if (state == "CS413")
            return ApiError(413, "too_large", detail.empty() ? primary : primary + ": " + detail);
        if (state == "CS422") return ApiError(422, "op_reused", "op_id was used for a different request");
        if (state == "CS507") {
            json d = parse_detail(detail);
            json extra = json::object();
            if (d.is_object()) extra["quota"] = d;  // the caller's own usage and limits
            return ApiError(507, "quota_exceeded", "the account's quota would be exceeded", extra);
        }
        if (state == "CS400")
            return bad_request(detail.empty() ? primary : primary + " (" + detail + ")");
        int status = std::atoi(state.c_str() + 2);
        if (status >= 400 && status <= 599)
            return ApiError(status, code_for_status(status), primary);
    }
    // Standard input errors (bad uuid text, out of range, ...): the client's fault.
    if (state.rfind("22", 0) == 0 || state == "23502")
        return bad_request("invalid input value");

    log_line("internal database error: sqlstate=" + state + " " + primary);
    return ApiError(500, "internal", "internal error");
}

}  // namespace credsync
