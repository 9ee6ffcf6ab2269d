// libFuzzer target over the proxy's request parsing and validation: the same
// functions the server calls (proxy/validate.cpp, router.cpp, codec.cpp).
//
// An input is read like an HTTP request: a request line "METHOD TARGET ...",
// header lines "Name: value", an empty line, then the body (lines may end in
// \r\n or \n; a missing part is empty). The path is decoded with
// cpp-httplib's own helper, as the server does; the query string is read by
// the proxy's own strict parser (parse_query), as the handlers do. Then:
// route matching, the pre-body checks of the head, the route's query
// parameters, and the push body parser and the accounts routes' body parsers
// on the body whatever the route, so that body mutations are never wasted. Besides crashes and sanitizer reports, the target aborts when
// a result breaks what the handlers rely on (invariants below) or a refusal
// is not a well-formed 4xx error.
//
// The push body parser is also checked against a reference: the document-tree
// parser it replaced (reference_push_body below, kept as it was), which holds
// a whole body in memory and so cannot serve, but says plainly what a body
// means. Both must accept the same bodies with the same result, and refuse
// with the same message, except where the streaming parser decides otherwise
// on purpose: it refuses nesting deeper than a push's 3 levels and more than
// max_records records at once (while the reference may name another problem,
// or accept), and it finds repeated keys only among the keys a push knows
// (a repeated unknown key is reported as unknown).
//
// The push body's parser (json_scan.h) is also compared, event by event, with
// nlohmann's SAX parser, whose rules it keeps (check_json_scan).
//
// Build: make -C proxy fuzz   (../build/fuzz/request-fuzzer)
// Run:   test/suites/46-fuzz.sh (short), test/fuzz/run-long.sh (make stress)
#include "account_bodies.h"
#include "codec.h"
#include "errors.h"
#include "json_scan.h"
#include "router.h"
#include "validate.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
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

// ------------------------------------------------------------------------
// The reference: proxy/validate.cpp's and codec.cpp's push body parsing and
// base64 decoding before the streaming parser (commit 39e1e08), unchanged.

std::optional<std::string> reference_base64_decode(const std::string &text)
{
    auto is_b64_char = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    };
    if (text.empty()) return std::string();
    if (text.size() % 4 != 0 || text.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
    size_t pad = 0;
    if (text[text.size() - 1] == '=') pad++;
    if (text[text.size() - 2] == '=') pad++;
    for (size_t i = 0; i < text.size() - pad; i++)
        if (!is_b64_char(text[i])) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                            reinterpret_cast<const unsigned char *>(text.data()), static_cast<int>(text.size()));
    if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
    out.resize(out.size() - pad);
    if (base64_encode(out) != text) return std::nullopt;
    return out;
}

PushRequest reference_push_body(const std::string &body_text)
{
    using nlohmann::json;
    if (body_text.find('\0') != std::string::npos) throw bad_request("the body is not valid JSON");
    std::vector<std::set<std::string>> keys;
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
            blob = reference_base64_decode(rec["blob"].get<std::string>());
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

// ------------------------------------------------------------------------
// json_scan (the push body's lexer and parser) against nlohmann's sax_parse,
// the parser it replaced: the same events with the same values, in the same
// order, the same refusal at the same point, and the same stop when the
// handler stops the parse after a given number of events.

struct Events {
    std::vector<std::string> seen;
    size_t stop_after = SIZE_MAX;  // the handler returns false on this event
    bool add(std::string e)
    {
        seen.push_back(std::move(e));
        return seen.size() != stop_after;
    }
    static std::string num(const char *tag, const void *v, size_t n)
    {
        std::string s(tag);
        s.append(static_cast<const char *>(v), n);
        return s;
    }
};

struct ReferenceEvents final : nlohmann::json::json_sax_t, Events {
    bool null() override { return add("null"); }
    bool boolean(bool b) override { return add(b ? "true" : "false"); }
    bool number_integer(number_integer_t v) override { return add(num("i:", &v, sizeof v)); }
    bool number_unsigned(number_unsigned_t v) override { return add(num("u:", &v, sizeof v)); }
    bool number_float(number_float_t v, const string_t &) override { return add(num("f:", &v, sizeof v)); }
    bool string(string_t &v) override { return add("s:" + v); }
    bool binary(binary_t &) override { return add("binary"); }
    bool start_object(std::size_t) override { return add("{"); }
    bool start_array(std::size_t) override { return add("["); }
    bool end_object() override { return add("}"); }
    bool end_array() override { return add("]"); }
    bool key(string_t &v) override { return add("k:" + v); }
    bool parse_error(std::size_t, const std::string &, const nlohmann::detail::exception &) override
    {
        seen.push_back("error");
        return false;
    }
};

struct ScanEvents : Events {
    bool null() { return add("null"); }
    bool boolean(bool b) { return add(b ? "true" : "false"); }
    bool number_integer(long long v) { return add(num("i:", &v, sizeof v)); }
    bool number_unsigned(unsigned long long v) { return add(num("u:", &v, sizeof v)); }
    bool number_float(double v) { return add(num("f:", &v, sizeof v)); }
    bool string(std::string_view v) { return add("s:" + std::string(v)); }
    bool start_object() { return add("{"); }
    bool start_array() { return add("["); }
    bool end_object() { return add("}"); }
    bool end_array() { return add("]"); }
    bool key(std::string_view v) { return add("k:" + std::string(v)); }
    void parse_error() { seen.push_back("error"); }
};

std::string show(const std::vector<std::string> &events)
{
    std::string s;
    for (const auto &e : events) s += (s.empty() ? "" : " ") + e.substr(0, 40);
    return s.substr(0, 600);
}

void check_json_scan(const std::string &text, size_t stop_after, bool cuts)
{
    if (text.find('\0') != std::string::npos) return;  // refused before either parser runs
    // The text in a buffer of its exact size, so that AddressSanitizer sees
    // any read past its end (a std::string has a NUL and often spare room).
    std::unique_ptr<char[]> exact(new char[text.size() ? text.size() : 1]);
    std::memcpy(exact.get(), text.data(), text.size());
    std::string_view view(exact.get(), text.size());
    // A short body is also cut at every length: truncated anywhere.
    if (cuts && text.size() <= 200)
        for (size_t n = 0; n < text.size(); n++) check_json_scan(text.substr(0, n), n % 3 + 1, false);
    for (size_t stop : {SIZE_MAX, stop_after}) {
        ReferenceEvents ref;
        ref.stop_after = stop;
        bool ref_ok = nlohmann::json::sax_parse(text.data(), text.data() + text.size(), &ref);
        ScanEvents got;
        got.stop_after = stop;
        bool got_ok = credsync::json_scan::parse(view, got);
        expect(ref_ok == got_ok && ref.seen == got.seen, "json_scan parsed unlike nlohmann",
               text.substr(0, 200) + " | nlohmann: " + show(ref.seen) + " | json_scan: " + show(got.seen));
    }
}

// ------------------------------------------------------------------------

struct PushOutcome {
    bool accepted = false;
    int status = 0;
    std::string message;
    PushRequest request;
};

template <class Fn>
PushOutcome outcome(Fn fn)
{
    PushOutcome o;
    try {
        o.request = fn();
        o.accepted = true;
    } catch (const ApiError &e) {
        check_refusal(e);
        o.status = e.status;
        o.message = e.what();
    }
    return o;
}

bool same_request(const PushRequest &a, const PushRequest &b)
{
    return a.op_id == b.op_id && a.items == b.items && a.blobs == b.blobs && a.if_match == b.if_match &&
           a.any_if_match == b.any_if_match;
}

// The streaming parser against the reference (see the top of this file).
void compare_with_reference(const std::string &body, const PushOutcome &ref, const PushOutcome &got,
                            size_t max_records)
{
    std::string detail = "body " + body.substr(0, 120) + " | reference: " + (ref.accepted ? "accepted" : ref.message) +
                         " | streaming: " + (got.accepted ? "accepted" : got.message);
    if (got.accepted) {
        expect(ref.accepted && same_request(got.request, ref.request), "push parsed unlike the reference", detail);
        expect(got.request.items.size() <= max_records, "push over max_records accepted", detail);
        return;
    }
    if (got.status == 413) {
        expect(got.message == too_many_records(max_records).what(), "413 of another kind", detail);
        expect(!ref.accepted || ref.request.items.size() > max_records, "413 for a push within max_records", detail);
        return;
    }
    expect(got.status == 400 && !ref.accepted, "push refused that the reference accepts", detail);
    if (got.message.rfind("the body nests deeper", 0) == 0 || got.message == ref.message) return;
    // A repeat the streaming parser does not look for (unknown keys, objects
    // a push does not have): it names another problem of the same body.
    expect(ref.message.rfind("the body repeats the key '", 0) == 0, "push refused with another message", detail);
}

void check_push(const std::string &body)
{
    PushOutcome ref = outcome([&] { return reference_push_body(body); });
    // A small limit too, so that the early 413 is met often.
    for (size_t max_records : {kDefaultMaxBatchRecords, size_t{3}}) {
        PushOutcome got = outcome([&] { return parse_push_body(body, max_records); });
        compare_with_reference(body, ref, got, max_records);
        if (!got.accepted) continue;
        const PushRequest &p = got.request;
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
    }
}

void check_base64(const std::string &s)
{
    auto d = base64_decode(s);
    if (d) expect(base64_encode(*d) == s, "base64 accepted a non-canonical spelling", s.substr(0, 80));
    expect(d == reference_base64_decode(s), "base64 decoded unlike the reference", s.substr(0, 80));
    expect(base64_valid(s) == d.has_value(), "base64_valid disagrees with base64_decode", s.substr(0, 80));
}

void check_int(const std::string &s)
{
    auto n = parse_int(s, -1000, 1000000);
    if (n) expect(*n >= -1000 && *n <= 1000000, "parse_int out of range");
    auto m = parse_int(s, 0, INT64_MAX);
    if (m) expect(*m >= 0, "parse_int negative");
}

// The accounts routes' bodies (account_bodies.h): whatever they accept has
// the lengths and bounds the database needs.
void check_account_bodies(const std::string &body)
{
    auto secrets_ok = [](const LoginSecrets &s) {
        expect(s.login_key.size() == 32 && s.salt.size() == 16, "login key or salt of the wrong length");
        expect(s.kdf_ops >= 1 && s.kdf_ops <= 20 && s.kdf_mem >= (8LL << 20) && s.kdf_mem <= (4LL << 30),
               "kdf out of bounds");
        expect(!s.wrapped_key.empty() && s.wrapped_key.size() <= 4096, "wrapped key of the wrong length");
    };
    auto label_ok = [](const std::optional<std::string> &l) {
        if (l) expect(l->size() <= 200 && l->find('\n') == std::string::npos && l->find('\0') == std::string::npos,
                      "bad device label accepted", *l);
    };
    refused_or([&] {
        CreateAccountRequest a = parse_create_account(body);
        expect(is_user_id(a.name), "bad name accepted", a.name);
        secrets_ok(a.login);
        label_ok(a.device);
    });
    refused_or([&] { expect(is_user_id(parse_challenge_request(body)), "bad name accepted"); });
    refused_or([&] {
        LoginRequest l = parse_login(body);
        expect(is_user_id(l.name) && l.challenge.size() == 32 && l.signature.size() == 64, "bad login accepted");
        label_ok(l.device);
    });
    refused_or([&] { secrets_ok(parse_set_login(body).login); });
    refused_or([&] {
        DeleteAccountRequest d = parse_delete_account(body);
        expect(d.challenge.has_value() == d.signature.has_value(), "half a login proof accepted");
        if (d.challenge) expect(d.challenge->size() == 32 && d.signature->size() == 64, "bad proof accepted");
    });
    if (auto bytes = from_bytea_text(body)) expect(bytes->size() * 2 + 2 == body.size(), "bytea text decoded wrongly");
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

    // The path as cpp-httplib decodes it.
    std::string path = r.target;
    size_t q = r.target.find('?');
    if (q != std::string::npos) path = r.target.substr(0, q);
    path = httplib::detail::decode_url(path, false);

    bool open_registration = size % 2 == 1;
    RouteMatch m = match_route(r.method, path, open_registration);
    if (m.id != RouteId::none) {
        expect(m.tmpl[0] == '/', "route template");
        expect(!open_registration ? m.id != RouteId::register_user : true, "register without --open-registration");
        expect(path.find("//") == std::string::npos, "matched a path with an empty segment", path);
    }
    refused_or([&] {
        check_request_head(r.headers, m, kMaxBody);
        // Passed: what the gate promises the handlers.
        expect(m.id != RouteId::none && m.method_ok, "gate passed an unknown route or method");
        if (m.id == RouteId::push) expect(is_zone(m.zone), "gate passed a push to a bad zone", m.zone);
        expect(r.headers.find("Transfer-Encoding") == r.headers.end(), "gate passed chunked");
        expect(r.headers.find("Content-Encoding") == r.headers.end(), "gate passed Content-Encoding");
    });

    // The query string, strictly: only the route's own names, each once.
    httplib::Params params;
    bool query_ok = false;
    refused_or([&] {
        params = parse_query(m.id, r.target);
        query_ok = true;
        for (const auto &kv : params) {
            expect(params.count(kv.first) == 1, "a query parameter accepted twice", kv.first);
            bool known = m.id == RouteId::pull ? (kv.first == "since" || kv.first == "limit" || kv.first == "wait" ||
                                                  kv.first == "full")
                         : m.id == RouteId::delete_item ? (kv.first == "if_match" || kv.first == "op_id")
                                                         : false;
            expect(known, "an unknown query parameter accepted", kv.first);
        }
    });
    if (!query_ok) m.id = RouteId::none;  // the handler is never reached

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
    check_json_scan(r.body, size % 7 + 1, true);
    check_json_scan(in, size % 5 + 1, false);  // the whole input too: JSON that is not a request's body
    check_account_bodies(r.body);
    check_base64(r.body);
    check_int(r.body.substr(0, 24));
    is_zone(r.body);
    return 0;
}
