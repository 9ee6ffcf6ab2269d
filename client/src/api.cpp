#include "api.h"

#include <httplib.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace credsync {

using nlohmann::json;

namespace {

constexpr int kAttempts = 4;

Error::Kind kind_for(int status, const std::string &code)
{
    if (code == "login_failed") return Error::Kind::login_failed;
    if (code == "name_taken") return Error::Kind::conflict;
    switch (status) {
    case 401: return Error::Kind::unauthorized;
    case 404: return Error::Kind::not_found;
    case 409: return Error::Kind::conflict;
    case 429: return Error::Kind::rate_limited;
    case 507: return Error::Kind::quota;
    case 503: return Error::Kind::network;
    default: return Error::Kind::server;
    }
}

// A sleep before the next attempt: Retry-After when the server gave a small
// one, else a doubling backoff.
void backoff(int attempt, const std::string &retry_after)
{
    int ms = 250 << attempt;
    if (!retry_after.empty()) {
        int s = std::atoi(retry_after.c_str());
        if (s > 0 && s <= 5) ms = s * 1000;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

Api::Api(const std::string &server, const std::string &token) : server_(server), token_(token)
{
    std::string s = server;
    auto scheme_end = s.find("://");
    if (scheme_end == std::string::npos || (s.compare(0, scheme_end, "http") != 0 && s.compare(0, scheme_end, "https") != 0))
        throw Error(Error::Kind::usage, "the server must be an http:// or https:// URL, got '" + server + "'");
    auto path_start = s.find('/', scheme_end + 3);
    std::string origin = s.substr(0, path_start);
    if (path_start != std::string::npos) {
        prefix_ = s.substr(path_start);
        while (!prefix_.empty() && prefix_.back() == '/') prefix_.pop_back();
    }
    if (origin.size() <= scheme_end + 3) throw Error(Error::Kind::usage, "the server URL has no host: '" + server + "'");
    http_ = std::make_unique<httplib::Client>(origin);
    if (!http_->is_valid()) throw Error(Error::Kind::usage, "cannot use the server URL '" + server + "'");
    http_->set_connection_timeout(10, 0);
    http_->set_write_timeout(30, 0);
    http_->set_keep_alive(true);
    if (const char *ca = std::getenv("CREDSYNC_CA_FILE"); ca && *ca) http_->set_ca_cert_path(ca);
}

Api::~Api() = default;

void Api::stop() { http_->stop(); }

json Api::call(const std::string &method, const std::string &path, const std::string *body, Retry retry,
               int read_timeout_s)
{
    std::string text = call_text(method, path, body, retry, read_timeout_s);
    if (text.empty()) return json::object();
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw Error(Error::Kind::server, "the server at " + server_ + " answered 2xx with a body that is not JSON");
    return j.is_null() ? json::object() : j;
}

std::string Api::call_text(const std::string &method, const std::string &path, const std::string *body, Retry retry,
                           int read_timeout_s)
{
    httplib::Headers headers;
    if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
    http_->set_read_timeout(read_timeout_s, 0);
    std::string full = prefix_ + path;
    for (int attempt = 0;; attempt++) {
        httplib::Result r(nullptr, httplib::Error::Unknown);
        if (method == "GET")
            r = http_->Get(full.c_str(), headers);
        else if (method == "POST")
            r = http_->Post(full.c_str(), headers, body ? *body : std::string("{}"), "application/json");
        else if (method == "PUT")
            r = http_->Put(full.c_str(), headers, body ? *body : std::string("{}"), "application/json");
        else
            r = http_->Delete(full.c_str(), headers);
        bool last = retry == Retry::no || attempt + 1 >= kAttempts;
        if (!r) {
            if (!last) {
                backoff(attempt, "");
                continue;
            }
            std::string why = httplib::to_string(r.error());
            if (r.error() == httplib::Error::SSLServerVerification)
                why = "its TLS certificate is not trusted (CREDSYNC_CA_FILE names a CA bundle to trust)";
            else if (r.error() == httplib::Error::Connection || r.error() == httplib::Error::ConnectionTimeout)
                why = "connection failed";
            else if (r.error() == httplib::Error::Read)
                why = "the connection broke or timed out while reading the answer";
            throw Error(Error::Kind::network, "cannot reach the server at " + server_ + ": " + why);
        }
        int status = r->status;
        if (status == 503 && !last) {
            backoff(attempt, r->get_header_value("Retry-After"));
            continue;
        }
        // A success's body goes to the caller as text (a pull page is parsed
        // by page.cpp without building a JSON tree); an error's is read here.
        if (status >= 200 && status < 300) return std::move(r->body);
        json j;
        if (!r->body.empty()) {
            j = json::parse(r->body, nullptr, false);
            if (j.is_discarded())
                throw Error(status >= 500 ? Error::Kind::network : Error::Kind::server,
                            "the server at " + server_ + " answered " + std::to_string(status) + " with a body that is not JSON" +
                                (status == 404 ? " (is this a credsync server?)" : ""));
        }
        std::string code, message;
        json detail = json::object();
        if (j.is_object() && j.contains("error") && j["error"].is_object()) {
            detail = j["error"];
            code = detail.value("code", "");
            message = detail.value("message", "");
        }
        std::string text = "the server answered " + std::to_string(status);
        if (!code.empty()) text += " " + code;
        if (!message.empty()) text += ": " + message;
        throw HttpError(kind_for(status, code), text, status, code, detail);
    }
}

json Api::account() { return call("GET", "/v1/account", nullptr, Retry::yes); }
json Api::zones() { return call("GET", "/v1/zones", nullptr, Retry::yes); }
json Api::zone_state(const std::string &zone) { return call("GET", "/v1/zones/" + zone, nullptr, Retry::yes); }

namespace {
std::string pull_path(const std::string &zone, int64_t since, int limit, bool full, int wait_s)
{
    std::string path = "/v1/zones/" + zone + "/pull?since=" + std::to_string(since) + "&limit=" + std::to_string(limit);
    if (full) path += "&full=true";
    if (wait_s > 0) path += "&wait=" + std::to_string(wait_s);
    return path;
}
}  // namespace

json Api::pull(const std::string &zone, int64_t since, int limit, bool full, int wait_s)
{
    return call("GET", pull_path(zone, since, limit, full, wait_s), nullptr, Retry::yes, 30 + wait_s);
}

std::string Api::pull_text(const std::string &zone, int64_t since, int limit, bool full)
{
    return call_text("GET", pull_path(zone, since, limit, full, 0), nullptr, Retry::yes, 30);
}

// A push carries its op_id, so sending it again after a lost answer is safe.
json Api::push(const std::string &zone, const std::string &body)
{
    return call("POST", "/v1/zones/" + zone + "/push", &body, Retry::yes, 60);
}

// Creating an account is not repeated blindly: a second attempt after a lost
// answer would meet name_taken (the caller says what to do).
json Api::create_account(const json &body)
{
    std::string b = body.dump();
    return call("POST", "/v1/accounts", &b, Retry::no);
}

json Api::login_challenge(const std::string &name)
{
    std::string b = json{{"name", name}}.dump();
    return call("POST", "/v1/login/challenge", &b, Retry::yes);
}

// A challenge is single-use: the caller starts over on failure.
json Api::login(const json &body)
{
    std::string b = body.dump();
    return call("POST", "/v1/login", &b, Retry::no);
}

json Api::devices() { return call("GET", "/v1/devices", nullptr, Retry::yes); }
json Api::revoke_device(const std::string &id) { return call("DELETE", "/v1/devices/" + id, nullptr, Retry::yes); }

json Api::change_login(const json &body)
{
    std::string b = body.dump();
    return call("PUT", "/v1/account/login", &b, Retry::yes);
}

}  // namespace credsync
