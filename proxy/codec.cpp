#include "codec.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace credsync {

std::string base64_encode(const std::string &bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                            reinterpret_cast<const unsigned char *>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<size_t>(n));
    return out;
}

void append_base64(std::string &out, const char *p, size_t n)
{
    size_t at = out.size();
    out.resize(at + 4 * ((n + 2) / 3));
    int written = EVP_EncodeBlock(reinterpret_cast<unsigned char *>(&out[at]),
                                  reinterpret_cast<const unsigned char *>(p), static_cast<int>(n));
    out.resize(at + static_cast<size_t>(written));
}

namespace {

// The value of each character of the standard alphabet; 64 for any other byte.
struct Base64Table {
    unsigned char v[256];
    constexpr Base64Table() : v()
    {
        for (int i = 0; i < 256; i++) v[i] = 64;
        const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) v[static_cast<unsigned char>(abc[i])] = static_cast<unsigned char>(i);
    }
};
constexpr Base64Table kBase64;

inline unsigned b64_value(char c) { return kBase64.v[static_cast<unsigned char>(c)]; }

// The bytes a text of this length decodes to if it is valid.
size_t b64_decoded_size(std::string_view t)
{
    if (t.empty()) return 0;
    size_t pad = t[t.size() - 1] == '=' ? (t[t.size() - 2] == '=' ? 2 : 1) : 0;
    return t.size() / 4 * 3 - pad;
}

// Checks that t is the canonical spelling of some bytes and, when out is not
// null, writes them there (b64_decoded_size(t) bytes). Canonical: a multiple
// of 4 characters of the standard alphabet, '=' only as the last one or two,
// and no set bits after the last byte (so that re-encoding gives t back).
bool b64_decode(std::string_view t, char *out)
{
    size_t n = t.size();
    if (n == 0) return true;
    if (n % 4 != 0 || n > static_cast<size_t>(INT32_MAX)) return false;
    size_t full = n - 4;  // every group but the last has no padding
    for (size_t i = 0; i < full; i += 4) {
        unsigned a = b64_value(t[i]), b = b64_value(t[i + 1]), c = b64_value(t[i + 2]), d = b64_value(t[i + 3]);
        if ((a | b | c | d) & 64) return false;
        if (out) {
            unsigned v = a << 18 | b << 12 | c << 6 | d;
            *out++ = static_cast<char>(v >> 16);
            *out++ = static_cast<char>(v >> 8 & 0xff);
            *out++ = static_cast<char>(v & 0xff);
        }
    }
    unsigned a = b64_value(t[full]), b = b64_value(t[full + 1]);
    if ((a | b) & 64) return false;
    if (t[full + 3] != '=') {
        unsigned c = b64_value(t[full + 2]), d = b64_value(t[full + 3]);
        if ((c | d) & 64) return false;
        if (out) {
            unsigned v = a << 18 | b << 12 | c << 6 | d;
            *out++ = static_cast<char>(v >> 16);
            *out++ = static_cast<char>(v >> 8 & 0xff);
            *out++ = static_cast<char>(v & 0xff);
        }
    } else if (t[full + 2] == '=') {
        if (b & 15) return false;  // stray bits: "QR==" is not the spelling of "A"
        if (out) *out = static_cast<char>((a << 2 | b >> 4) & 0xff);
    } else {
        unsigned c = b64_value(t[full + 2]);
        if ((c & 64) || (c & 3)) return false;
        if (out) {
            *out++ = static_cast<char>((a << 2 | b >> 4) & 0xff);
            *out = static_cast<char>((b << 4 | c >> 2) & 0xff);
        }
    }
    return true;
}

}  // namespace

bool base64_valid(std::string_view text) { return b64_decode(text, nullptr); }

bool base64_decode_into(std::string_view text, std::string &out)
{
    // One pass, straight into out (a check first, then the decoding, read
    // every blob of a push twice). A refused text leaves out empty; what it
    // allocated is bounded by the text, itself bounded by the body.
    if (text.size() % 4 != 0) return false;  // b64_decoded_size needs whole groups
    out.resize(b64_decoded_size(text));
    if (b64_decode(text, out.empty() ? nullptr : &out[0])) return true;
    out.clear();
    return false;
}

std::optional<std::string> base64_decode(std::string_view text)
{
    std::string out;
    if (!base64_decode_into(text, out)) return std::nullopt;
    return out;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_uuid(std::string_view s)
{
    if (s.size() != 36) return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

std::string uuid_lower(std::string_view s)
{
    std::string out(s);
    for (auto &c : out)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string to_hex(const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; i++) {
        out.push_back(digits[b[i] >> 4]);
        out.push_back(digits[b[i] & 15]);
    }
    return out;
}

std::optional<std::string> from_bytea_text(std::string_view text)
{
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return std::nullopt;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    std::string out;
    out.reserve(text.size() / 2 - 1);
    for (size_t i = 2; i < text.size(); i += 2) {
        if (!is_hex(text[i]) || !is_hex(text[i + 1])) return std::nullopt;
        out.push_back(static_cast<char>(nibble(text[i]) << 4 | nibble(text[i + 1])));
    }
    return out;
}

std::string uuid_from_bytes(const unsigned char *b)
{
    std::string h = to_hex(b, 16);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20, 12);
}

void append_uuid(std::string &out, const unsigned char *b)
{
    static const char digits[] = "0123456789abcdef";
    char text[36];
    size_t t = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text[t++] = '-';
        text[t++] = digits[b[i] >> 4];
        text[t++] = digits[b[i] & 15];
    }
    out.append(text, sizeof text);
}

void append_int(std::string &out, long long v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
}

std::string random_uuid()
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return uuid_from_bytes(b);
}

bool is_zone(std::string_view s)
{
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string sha256(const std::string &data)
{
    // OpenSSL 3's SHA256() looks the algorithm up on every call (about 1 µs,
    // once per request for the token); fetched once, EVP_Digest is a third.
    static EVP_MD *const md_sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    unsigned char md[SHA256_DIGEST_LENGTH];
    unsigned int len = 0;
    if (!md_sha256 || !EVP_Digest(data.data(), data.size(), md, &len, md_sha256, nullptr) || len != sizeof md)
        SHA256(reinterpret_cast<const unsigned char *>(data.data()), data.size(), md);
    return std::string(reinterpret_cast<char *>(md), sizeof md);
}

std::optional<long long> parse_int(const std::string &s, long long lo, long long hi)
{
    if (s.empty() || s.size() > 20) return std::nullopt;
    size_t start = s[0] == '-' ? 1 : 0;
    if (start == s.size()) return std::nullopt;
    for (size_t i = start; i < s.size(); i++)
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    errno = 0;
    char *end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || n < lo || n > hi) return std::nullopt;
    return n;
}

std::optional<long long> parse_setting_bytes(const std::string &s)
{
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') i++;
    auto n = parse_int(s.substr(0, i), 0, INT64_MAX);
    if (!n) return std::nullopt;
    std::string unit = s.substr(i);
    long long mult = 1;
    if (unit == "" || unit == "B") mult = 1;
    else if (unit == "kB") mult = 1024LL;
    else if (unit == "MB") mult = 1024LL * 1024;
    else if (unit == "GB") mult = 1024LL * 1024 * 1024;
    else if (unit == "TB") mult = 1024LL * 1024 * 1024 * 1024;
    else return std::nullopt;
    return *n * mult;
}

int64_t be_int64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return static_cast<int64_t>(v);
}

void put_be32(std::string &out, int32_t v)
{
    uint32_t u = static_cast<uint32_t>(v);
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}

std::string uuid_array_text(const std::vector<std::optional<std::string>> &ids)
{
    std::string s = "{";
    for (size_t i = 0; i < ids.size(); i++) {
        if (i) s += ',';
        s += ids[i] ? *ids[i] : "NULL";
    }
    return s + "}";
}

std::string int8_array_text(const std::vector<std::optional<long long>> &v)
{
    std::string s = "{";
    for (size_t i = 0; i < v.size(); i++) {
        if (i) s += ',';
        s += v[i] ? std::to_string(*v[i]) : "NULL";
    }
    return s + "}";
}

// PostgreSQL's binary array format for a one-dimensional bytea[]:
// ndim, has-nulls flag, element oid, (length, lower bound), then each element
// as a length (-1 for NULL) and its bytes.
std::string bytea_array_binary(const std::vector<std::optional<std::string>> &blobs)
{
    size_t total = 20;
    bool has_null = false;
    for (auto &b : blobs) {
        total += 4 + (b ? b->size() : 0);
        if (!b) has_null = true;
    }
    std::string out;
    out.reserve(total);
    put_be32(out, 1);
    put_be32(out, has_null ? 1 : 0);
    put_be32(out, 17);  // bytea
    put_be32(out, static_cast<int32_t>(blobs.size()));
    put_be32(out, 1);
    for (auto &b : blobs) {
        if (!b) {
            put_be32(out, -1);
            continue;
        }
        put_be32(out, static_cast<int32_t>(b->size()));
        out += *b;
    }
    return out;
}

std::optional<std::string> push_answer_json(const PGresult *r)
{
    int rows = PQntuples(r);
    std::string results;
    results.reserve(static_cast<size_t>(rows) * 72 + 2);
    long long top = 0;
    for (int i = 0; i < rows; i++) {
        if (PQgetlength(r, i, 0) != 36) return std::nullopt;
        long long g = std::strtoll(PQgetvalue(r, i, 1), nullptr, 10);
        top = std::max(top, g);
        results += i ? ",{\"gencount\":" : "{\"gencount\":";
        append_int(results, g);
        results += ",\"item\":\"";
        results.append(PQgetvalue(r, i, 0), 36);
        results += "\"}";
    }
    std::string out;
    out.reserve(results.size() + 48);
    out += "{\"gencount\":";
    append_int(out, top);
    out += ",\"results\":[";
    out += results;
    out += "]}";
    return out;
}

std::string pull_page_json(const PGresult *r, int count, long long gencount, bool more, long long next_since)
{
    size_t size = 96;
    for (int i = 1; i <= count; i++)
        size += 96 + 4 * ((static_cast<size_t>(PQgetlength(r, i, 3)) + 2) / 3);
    std::string out;
    out.reserve(size);
    out += "{\"gencount\":";
    append_int(out, gencount);
    out += more ? ",\"more\":true" : ",\"more\":false";
    out += ",\"next_since\":";
    append_int(out, next_since);
    out += ",\"records\":[";
    for (int i = 1; i <= count; i++) {
        if (i > 1) out += ',';
        if (PQgetisnull(r, i, 3)) {
            out += "{\"blob\":null";
        } else {
            out += "{\"blob\":\"";
            append_base64(out, PQgetvalue(r, i, 3), static_cast<size_t>(PQgetlength(r, i, 3)));
            out += '"';
        }
        out += PQgetvalue(r, i, 2)[0] != 0 ? ",\"deleted\":true" : ",\"deleted\":false";
        out += ",\"gencount\":";
        append_int(out, be_int64(PQgetvalue(r, i, 1)));
        out += ",\"item\":\"";
        append_uuid(out, reinterpret_cast<const unsigned char *>(PQgetvalue(r, i, 0)));
        out += "\"}";
    }
    out += "]}";
    return out;
}

}  // namespace credsync
