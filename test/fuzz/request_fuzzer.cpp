// libFuzzer target over the proxy's request parsing and validation: the same
// functions the server calls (proxy/validate.cpp, router.cpp, codec.cpp).
//
// An input is read like an HTTP request: a request line "METHOD TARGET ...",
// header lines "Name: value", an empty line, then the body (lines may end in
// \r\n or \n; a missing part is empty). The target is split and decoded with
// cpp-httplib's own helpers, as the server does. Then: route matching, the
// pre-body checks of the head, the route's query parameters, and the push
// body parser on the body whatever the route, so that body mutations are
// never wasted. Besides crashes and sanitizer reports, the target aborts when
// a result breaks what the handlers rely on (invariants below) or a refusal
// is not a well-formed 4xx error.
//
// Build: make -C proxy fuzz   (../build/fuzz/request-fuzzer)
// Run:   test/suites/46-fuzz.sh (short), test/fuzz/run-long.sh (make stress)
#include "codec.h"
#include "errors.h"
#include "router.h"
#include "validate.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace credsync;

namespace {

constexpr size_t kMaxBody = 65536;  // the --max-body-bytes the checks run with

[[noreturn]] void fail(const char *what, const std::string &detail = "")
{
    std::fprintf(stderr, "invariant broken: %s %s\n", what, detail.c_str());
    std::abort();
}

void expect(bool cond, const char *what, const std::string &detail = "")
{
    if (!cond) fail(what, detail);
}

bool lower_uuid(const std::string &s)
{
    if (!is_uuid(s)) return false;
    for (char c : s)
        if (c >= 'A' && c <= 'F') return false;
    return true;
}

// A refusal must be a 4xx with the contract's code, and its body valid JSON
// of the contract's shape whatever bytes the message echoes.
void check_refusal(const ApiError &e)
{
    expect(e.status >= 400 && e.status <= 499, "refusal is not 4xx", std::to_string(e.status));
    expect(e.code == code_for_status(e.status), "code does not match status", e.code);
    std::string body = error_body(e.status, e.code, e.what(), e.extra);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const std::exception &) {
        fail("error body is not JSON", body.substr(0, 200));
    }
    expect(j.is_object() && j["error"].is_object() && j["error"]["code"].is_string() &&
               j["error"]["message"].is_string(),
           "error body has the wrong shape", body.substr(0, 200));
}

template <class Fn>
void refused_or(Fn fn)
{
    try {
        fn();
    } catch (const ApiError &e) {
        check_refusal(e);
    }
    // Any other exception escapes and libFuzzer reports it: the handlers
    // would turn it into a 500, which bad input must never cause.
}

void check_push(const std::string &body)
{
    refused_or([&] {
        PushRequest p = parse_push_body(body);
        expect(p.items.size() == p.blobs.size() && p.items.size() == p.if_match.size(), "ragged push arrays");
        bool any = false;
        for (size_t i = 0; i < p.items.size(); i++) {
            if (p.items[i]) expect(lower_uuid(*p.items[i]), "item not a lower-case uuid", *p.items[i]);
            expect(p.items[i] || p.blobs[i], "a delete without an item");
            if (p.blobs[i]) {
                // The blob came from canonical base64, so it encodes back to a
                // string that decodes to the same bytes.
                auto again = base64_decode(base64_encode(*p.blobs[i]));
                expect(again && *again == *p.blobs[i], "blob does not round-trip");
            }
            if (p.if_match[i]) {
                expect(*p.if_match[i] >= 0, "negative if_match");
                any = true;
            }
        }
        expect(any == p.any_if_match, "any_if_match wrong");
        if (p.op_id) expect(lower_uuid(*p.op_id), "op_id not a lower-case uuid", *p.op_id);
    });
}

void check_base64(const std::string &s)
{
    auto d = base64_decode(s);
    if (d) expect(base64_encode(*d) == s, "base64 accepted a non-canonical spelling", s.substr(0, 80));
}

void check_int(const std::string &s)
{
    auto n = parse_int(s, -1000, 1000000);
    if (n) expect(*n >= -1000 && *n <= 1000000, "parse_int out of range");
    auto m = parse_int(s, 0, INT64_MAX);
    if (m) expect(*m >= 0, "parse_int negative");
}

// Splits the input into request line, headers and body.
struct Parsed {
    std::string method, target, body;
    httplib::Headers headers;
};

Parsed split_request(const std::string &in)
{
    Parsed r;
    size_t pos = 0;
    auto next_line = [&](std::string &line) {
        if (pos >= in.size()) return false;
        size_t nl = in.find('\n', pos);
        size_t end = nl == std::string::npos ? in.size() : nl;
        line = in.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        pos = nl == std::string::npos ? in.size() : nl + 1;
        return true;
    };
    std::string line;
    if (next_line(line)) {
        size_t sp = line.find(' ');
        r.method = line.substr(0, sp);
        if (sp != std::string::npos) {
            size_t sp2 = line.find(' ', sp + 1);
            r.target = line.substr(sp + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp - 1);
        }
    }
    while (next_line(line) && !line.empty()) {
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        size_t v = colon + 1;
        while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) v++;
        r.headers.emplace(line.substr(0, colon), line.substr(v));
    }
    if (pos < in.size()) r.body = in.substr(pos);
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string in(reinterpret_cast<const char *>(data), size);
    Parsed r = split_request(in);

    // The target as cpp-httplib splits it: path decoded, query parsed.
    std::string path = r.target, query;
    size_t q = r.target.find('?');
    if (q != std::string::npos) {
        path = r.target.substr(0, q);
        query = r.target.substr(q + 1);
    }
    path = httplib::detail::decode_url(path, false);
    httplib::Params params;
    httplib::detail::parse_query_text(query, params);

    bool open_registration = size % 2 == 1;
    RouteMatch m = match_route(r.method, path, open_registration);
    if (m.id != RouteId::none) {
        expect(m.tmpl[0] == '/', "route template");
        expect(!open_registration ? m.id != RouteId::register_user : true, "register without --open-registration");
        expect(path.find("//") == std::string::npos, "matched a path with an empty segment", path);
    }
    bool close = false;
    refused_or([&] {
        check_request_head(r.headers, m, kMaxBody, close);
        // Passed: what the gate promises the handlers.
        expect(m.id != RouteId::none && m.method_ok, "gate passed an unknown route or method");
        if (m.id == RouteId::push) expect(is_zone(m.zone), "gate passed a push to a bad zone", m.zone);
        expect(r.headers.find("Transfer-Encoding") == r.headers.end(), "gate passed chunked");
        expect(r.headers.find("Content-Encoding") == r.headers.end(), "gate passed Content-Encoding");
    });

    switch (m.id) {
    case RouteId::pull:
        refused_or([&] {
            PullParams p = parse_pull_params(params);
            expect(p.since >= 0 && p.limit >= 1 && p.limit <= kMaxPullRecords && p.wait >= 0 && p.wait <= 60,
                   "pull parameters out of range");
        });
        break;
    case RouteId::delete_item:
        refused_or([&] {
            DeleteParams p = parse_delete_params(params);
            if (p.if_match) expect(*p.if_match >= 0, "negative if_match");
            if (p.op_id) expect(lower_uuid(*p.op_id), "op_id not a lower-case uuid");
        });
        if (is_uuid(m.item)) expect(lower_uuid(uuid_lower(m.item)), "uuid_lower");
        break;
    default: break;
    }

    check_push(r.body);
    check_base64(r.body);
    check_int(r.body.substr(0, 24));
    is_zone(r.body);
    return 0;
}
