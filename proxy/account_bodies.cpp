#include "account_bodies.h"

#include "codec.h"
#include "errors.h"

#include <nlohmann/json.hpp>

#include <set>
#include <vector>

namespace credsync {

using nlohmann::json;

namespace {

// The body (1) and the kdf object in it (2): nothing valid nests deeper.
constexpr int kMaxDepth = 2;
constexpr size_t kMaxLabelBytes = 200;
constexpr size_t kMaxWrappedKeyBytes = 4096;
// Extension 1.4's bounds (docs/sql-api.md, "Accounts"); the database checks
// them again.
constexpr long long kMinOps = 1, kMaxOps = 20;
constexpr long long kMinMem = 8LL << 20, kMaxMem = 4LL << 30;

struct TooDeep {};

bool no_control_characters(std::string_view s)
{
    for (size_t i = 0; i < s.size(); i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return false;
        // U+0080..U+009F (C1 controls) are 0xC2 0x80..0x9F in UTF-8.
        if (c == 0xc2 && i + 1 < s.size()) {
            unsigned char next = static_cast<unsigned char>(s[i + 1]);
            if (next >= 0x80 && next <= 0x9f) return false;
        }
    }
    return true;
}

// Parses the body as one JSON object whose keys are `known`. The refusals,
// in this order: not JSON (a NUL byte, nothing at all, nesting deeper than
// kMaxDepth included), a key repeated in any object, not an object, an
// unknown field.
json parse_object(std::string_view body, std::initializer_list<const char *> known)
{
    // nlohmann's lexer takes a NUL byte for the end of the input.
    if (body.find('\0') != std::string_view::npos) throw bad_request("the body is not valid JSON");
    std::vector<std::set<std::string>> keys;  // one per open object
    std::optional<std::string> repeated;
    int depth = 0;
    json::parser_callback_t cb = [&](int, json::parse_event_t event, json &parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            if (++depth > kMaxDepth) throw TooDeep{};
            if (event == json::parse_event_t::object_start) keys.emplace_back();
            break;
        case json::parse_event_t::object_end:
            keys.pop_back();
            depth--;
            break;
        case json::parse_event_t::array_end: depth--; break;
        case json::parse_event_t::key:
            if (!keys.back().insert(parsed.get<std::string>()).second && !repeated)
                repeated = parsed.get<std::string>();
            break;
        case json::parse_event_t::value: break;
        }
        return true;
    };
    json j;
    try {
        j = json::parse(body.begin(), body.end(), cb, /*allow_exceptions=*/false);
    } catch (const TooDeep &) {
        throw bad_request("the body nests deeper than it may (an object, and kdf in it)");
    }
    if (j.is_discarded()) throw bad_request(body.empty() ? "the body must be a JSON object" : "the body is not valid JSON");
    if (repeated) throw bad_request("the body repeats the key '" + *repeated + "'");
    if (!j.is_object()) throw bad_request("the body must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {  // in key order: the first unknown is named
        bool ok = false;
        for (const char *k : known) ok = ok || it.key() == k;
        if (!ok) {
            std::string expected;
            for (const char *k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
            throw bad_request("unknown field '" + it.key() + "' (expected " + expected + ")");
        }
    }
    return j;
}

// The value of a field, nullptr when absent or null.
const json *field(const json &o, const char *name)
{
    auto it = o.find(name);
    return it == o.end() || it->is_null() ? nullptr : &*it;
}

std::string name_field(const json &o)
{
    const json *v = field(o, "name");
    if (!v) throw bad_request("name is required");
    if (!v->is_string() || !is_user_id(v->get_ref<const std::string &>()))
        throw bad_request("name must be a string of 1 to 256 bytes without control characters");
    return v->get<std::string>();
}

// Base64 of exactly `size` bytes (min..max when max > 0).
std::string bytes_field(const json &o, const char *name, size_t size, size_t max = 0)
{
    const json *v = field(o, name);
    if (!v) throw bad_request(std::string(name) + " is required");
    std::string what = max ? std::to_string(size) + " to " + std::to_string(max) + " bytes"
                           : std::to_string(size) + " bytes";
    std::optional<std::string> bytes;
    if (v->is_string()) bytes = base64_decode(v->get_ref<const std::string &>());
    if (!bytes) throw bad_request(std::string(name) + " must be standard base64 (" + what + ")");
    if (max ? bytes->size() < size || bytes->size() > max : bytes->size() != size)
        throw bad_request(std::string(name) + " must be " + what + ", not " + std::to_string(bytes->size()));
    return std::move(*bytes);
}

std::optional<std::string> label_field(const json &o, const char *name)
{
    const json *v = field(o, name);
    if (!v) return std::nullopt;
    if (!v->is_string() || v->get_ref<const std::string &>().size() > kMaxLabelBytes ||
        !no_control_characters(v->get_ref<const std::string &>()))
        throw bad_request(std::string(name) + " must be a string of at most 200 bytes without control characters, or null");
    return v->get<std::string>();
}

long long int_in(const json &v, const char *name, long long lo, long long hi)
{
    // nlohmann reads 0 and up as unsigned, below 0 as signed, fractions and
    // exponents as floating point (refused: "3.0" is not an integer here).
    bool ok = false;
    long long n = 0;
    if (v.is_number_unsigned()) {
        ok = v.get<unsigned long long>() <= static_cast<unsigned long long>(hi);
        if (ok) n = static_cast<long long>(v.get<unsigned long long>());
    } else if (v.is_number_integer()) {
        ok = true;
        n = v.get<long long>();
    }
    if (!ok || n < lo || n > hi)
        throw bad_request(std::string(name) + " must be an integer from " + std::to_string(lo) + " to " +
                          std::to_string(hi));
    return n;
}

void kdf_field(const json &o, LoginSecrets &s)
{
    const json *v = field(o, "kdf");
    if (!v) throw bad_request("kdf is required");
    if (!v->is_object()) throw bad_request("kdf must be an object {\"alg\": \"argon2id13\", \"ops\", \"mem\"}");
    for (auto it = v->begin(); it != v->end(); ++it)
        if (it.key() != "alg" && it.key() != "ops" && it.key() != "mem")
            throw bad_request("unknown field 'kdf." + it.key() + "' (expected alg, ops, mem)");
    const json *alg = field(*v, "alg");
    if (!alg || !alg->is_string() || alg->get_ref<const std::string &>() != "argon2id13")
        throw bad_request("kdf.alg must be \"argon2id13\"");
    const json *ops = field(*v, "ops");
    if (!ops) throw bad_request("kdf.ops is required");
    s.kdf_ops = int_in(*ops, "kdf.ops", kMinOps, kMaxOps);
    const json *mem = field(*v, "mem");
    if (!mem) throw bad_request("kdf.mem is required");
    s.kdf_mem = int_in(*mem, "kdf.mem", kMinMem, kMaxMem);
}

LoginSecrets login_secrets(const json &o)
{
    LoginSecrets s;
    s.login_key = bytes_field(o, "login_key", 32);
    s.salt = bytes_field(o, "salt", 16);
    kdf_field(o, s);
    s.wrapped_key = bytes_field(o, "wrapped_key", 1, kMaxWrappedKeyBytes);
    return s;
}

}  // namespace

bool is_user_id(std::string_view s) { return !s.empty() && s.size() <= 256 && no_control_characters(s); }

CreateAccountRequest parse_create_account(std::string_view body)
{
    json o = parse_object(body, {"name", "login_key", "salt", "kdf", "wrapped_key", "device"});
    CreateAccountRequest r;
    r.name = name_field(o);
    r.login = login_secrets(o);
    r.device = label_field(o, "device");
    return r;
}

std::string parse_challenge_request(std::string_view body)
{
    json o = parse_object(body, {"name"});
    return name_field(o);
}

LoginRequest parse_login(std::string_view body)
{
    json o = parse_object(body, {"name", "challenge", "signature", "device"});
    LoginRequest r;
    r.name = name_field(o);
    r.challenge = bytes_field(o, "challenge", 32);
    r.signature = bytes_field(o, "signature", 64);
    r.device = label_field(o, "device");
    return r;
}

SetLoginRequest parse_set_login(std::string_view body)
{
    json o = parse_object(body, {"login_key", "salt", "kdf", "wrapped_key", "logout_others"});
    SetLoginRequest r;
    r.login = login_secrets(o);
    if (const json *v = field(o, "logout_others")) {
        if (!v->is_boolean()) throw bad_request("logout_others must be true or false");
        r.logout_others = v->get<bool>();
    }
    return r;
}

DeleteAccountRequest parse_delete_account(std::string_view body)
{
    DeleteAccountRequest r;
    if (body.empty()) return r;
    json o = parse_object(body, {"challenge", "signature"});
    bool has_challenge = field(o, "challenge") != nullptr, has_signature = field(o, "signature") != nullptr;
    if (has_challenge != has_signature)
        throw bad_request(std::string(has_challenge ? "signature" : "challenge") +
                          " is required with " + (has_challenge ? "challenge" : "signature") +
                          " (a login proof is both, or neither for a user without an account)");
    if (has_challenge) {
        r.challenge = bytes_field(o, "challenge", 32);
        r.signature = bytes_field(o, "signature", 64);
    }
    return r;
}

}  // namespace credsync
