#include "validate.h"

#include "codec.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <strings.h>

namespace credsync {

using nlohmann::json;

namespace {

bool has(const httplib::Headers &h, const char *name) { return h.find(name) != h.end(); }

std::string value(const httplib::Headers &h, const char *name)
{
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
}

// A query parameter given at most once; nullopt when absent.
std::optional<std::string> query_param(const httplib::Params &params, const char *name)
{
    size_t n = params.count(name);
    if (n == 0) return std::nullopt;
    if (n > 1) throw bad_request(std::string("query parameter '") + name + "' given more than once");
    return params.find(name)->second;
}

long long int_param(const httplib::Params &params, const char *name, long long dflt, long long lo, long long hi)
{
    auto v = query_param(params, name);
    if (!v) return dflt;
    auto n = parse_int(*v, lo, hi);
    if (!n)
        throw bad_request(std::string("query parameter '") + name + "' must be an integer in " +
                          std::to_string(lo) + ".." + std::to_string(hi));
    return *n;
}

}  // namespace

bool has_json_content_type(const httplib::Headers &headers)
{
    if (!has(headers, "Content-Type")) return true;
    std::string t = value(headers, "Content-Type");
    return strncasecmp(t.c_str(), "application/json", 16) == 0 &&
           (t.size() == 16 || t[16] == ';' || t[16] == ' ');
}

void check_request_head(const httplib::Headers &headers, const RouteMatch &m, size_t max_body_bytes, bool &close)
{
    // Body framing. 0.11.4 checks its size limit only against Content-Length,
    // so chunked or compressed bodies would be unbounded: refuse them outright.
    if (has(headers, "Transfer-Encoding"))
        throw ApiError(411, "length_required", "request bodies need a Content-Length (no chunked encoding)");
    if (has(headers, "Content-Encoding"))
        throw ApiError(415, "unsupported_encoding", "request bodies must not be compressed (Content-Encoding)");
    long long length = 0;
    if (has(headers, "Content-Length")) {
        if (headers.count("Content-Length") != 1) throw bad_request("more than one Content-Length");
        auto n = parse_int(value(headers, "Content-Length"), 0, INT64_MAX);
        if (!n) throw bad_request("invalid Content-Length");
        length = *n;
        if (static_cast<unsigned long long>(length) > max_body_bytes)
            throw ApiError(413, "too_large", "the body is larger than max_body_bytes=" + std::to_string(max_body_bytes));
    }
    // A body we will not read must not stay on the connection.
    if (length > 0 && m.id != RouteId::push) close = true;
    // Which of two tokens would decide the user is a guess: refuse.
    if (headers.count("Authorization") > 1) throw bad_request("more than one Authorization header");

    if (m.id == RouteId::none) throw ApiError(404, "not_found", "no such route");
    if (!m.method_ok) throw ApiError(405, "method_not_allowed", std::string("allowed: ") + m.allow);
    if (m.id == RouteId::push) {
        if (!has(headers, "Content-Length"))
            throw ApiError(411, "length_required", "a push needs a body with Content-Length");
        if (!has_json_content_type(headers))
            throw bad_request("Content-Type must be application/json (with curl: -H 'Content-Type: application/json')");
        // Checked here so that a bad zone costs no body read.
        if (!is_zone(m.zone)) throw bad_request("zone must be 1 to 64 characters of [A-Za-z0-9_.-]");
    }
}

PushRequest parse_push_body(const std::string &body_text)
{
    // nlohmann's lexer takes a NUL byte for the end of the input, so the
    // bytes after one would be ignored; a raw NUL is never valid JSON.
    if (body_text.find('\0') != std::string::npos) throw bad_request("the body is not valid JSON");
    // nlohmann keeps the last of repeated keys; a reader that keeps the first
    // would see another request, so a repeated key is refused.
    std::vector<std::set<std::string>> keys;  // one set per open object
    std::string repeated;
    bool has_repeated = false;
    auto track_keys = [&](int, json::parse_event_t event, json &parsed) {
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        else if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
        else if (event == json::parse_event_t::key && !keys.empty() && !has_repeated &&
                 !keys.back().insert(parsed.get<std::string>()).second) {
            has_repeated = true;
            repeated = parsed.get<std::string>();
        }
        return true;
    };
    json body;
    try {
        body = json::parse(body_text, track_keys);
    } catch (const json::exception &) {
        throw bad_request("the body is not valid JSON");
    }
    if (has_repeated) throw bad_request("the body repeats the key '" + repeated + "'");
    if (!body.is_object()) throw bad_request("the body must be a JSON object");
    for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "records" && it.key() != "op_id")
            throw bad_request("unknown field '" + it.key() + "' (expected records, op_id)");
    PushRequest p;
    if (body.contains("op_id") && !body["op_id"].is_null()) {
        const json &o = body["op_id"];
        if (!o.is_string() || !is_uuid(o.get<std::string>())) throw bad_request("op_id must be a uuid");
        p.op_id = uuid_lower(o.get<std::string>());
    }
    if (!body.contains("records") || !body["records"].is_array()) throw bad_request("records must be an array");
    const json &records = body["records"];

    for (size_t i = 0; i < records.size(); i++) {
        const json &rec = records[i];
        std::string where = "records[" + std::to_string(i) + "]";
        if (!rec.is_object()) throw bad_request(where + " must be an object");
        for (auto it = rec.begin(); it != rec.end(); ++it)
            if (it.key() != "item" && it.key() != "blob" && it.key() != "if_match")
                throw bad_request(where + ": unknown field '" + it.key() + "' (expected item, blob, if_match)");
        std::optional<std::string> item;
        if (rec.contains("item") && !rec["item"].is_null()) {
            if (!rec["item"].is_string() || !is_uuid(rec["item"].get<std::string>()))
                throw bad_request(where + ".item must be a uuid or null");
            item = uuid_lower(rec["item"].get<std::string>());
        }
        if (!rec.contains("blob")) throw bad_request(where + ".blob is required (base64, or null to delete)");
        std::optional<std::string> blob;
        if (!rec["blob"].is_null()) {
            if (!rec["blob"].is_string()) throw bad_request(where + ".blob must be a base64 string or null");
            blob = base64_decode(rec["blob"].get<std::string>());
            if (!blob) throw bad_request(where + ".blob is not valid standard base64");
        }
        if (!item && !blob) throw bad_request(where + ": a delete needs an item");
        std::optional<long long> im;
        if (rec.contains("if_match") && !rec["if_match"].is_null()) {
            const json &v = rec["if_match"];
            bool ok = (v.is_number_unsigned() && v.get<unsigned long long>() <=
                                                     static_cast<unsigned long long>(std::numeric_limits<long long>::max())) ||
                      (v.is_number_integer() && !v.is_number_unsigned() && v.get<long long>() >= 0);
            if (!ok) throw bad_request(where + ".if_match must be an integer >= 0 or null");
            im = v.is_number_unsigned() ? static_cast<long long>(v.get<unsigned long long>()) : v.get<long long>();
            p.any_if_match = true;
        }
        p.items.push_back(item);
        p.blobs.push_back(std::move(blob));
        p.if_match.push_back(im);
    }
    return p;
}

PullParams parse_pull_params(const httplib::Params &params)
{
    PullParams p;
    p.since = int_param(params, "since", 0, 0, std::numeric_limits<long long>::max());
    p.limit = int_param(params, "limit", 1000, 1, kMaxPullRecords);
    p.wait = int_param(params, "wait", 0, 0, 60);
    if (auto f = query_param(params, "full")) {
        if (*f == "true" || *f == "1") p.full = true;
        else if (*f == "false" || *f == "0") p.full = false;
        else throw bad_request("query parameter 'full' must be true, false, 1 or 0");
    }
    return p;
}

DeleteParams parse_delete_params(const httplib::Params &params)
{
    DeleteParams p;
    if (query_param(params, "if_match"))
        p.if_match = int_param(params, "if_match", 0, 0, std::numeric_limits<long long>::max());
    if (auto o = query_param(params, "op_id")) {
        if (!is_uuid(*o)) throw bad_request("op_id must be a uuid");
        p.op_id = uuid_lower(*o);
    }
    return p;
}

}  // namespace credsync
