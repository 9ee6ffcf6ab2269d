#include "codec.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

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

static bool is_b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

std::optional<std::string> base64_decode(const std::string &text)
{
    if (text.empty()) return std::string();
    if (text.size() % 4 != 0 || text.size() > static_cast<size_t>(INT32_MAX)) return std::nullopt;
    size_t pad = 0;
    if (text[text.size() - 1] == '=') pad++;
    if (text[text.size() - 2] == '=') pad++;
    // '=' may appear only as the last one or two characters.
    for (size_t i = 0; i < text.size() - pad; i++)
        if (!is_b64_char(text[i])) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(&out[0]),
                            reinterpret_cast<const unsigned char *>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0 || static_cast<size_t>(n) != out.size()) return std::nullopt;
    // EVP_DecodeBlock counts padding as zero bytes: drop them.
    out.resize(out.size() - pad);
    // Reject non-canonical spellings (set bits after the last byte): the
    // canonical encoding of what we decoded must be what we were given.
    if (base64_encode(out) != text) return std::nullopt;
    return out;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_uuid(const std::string &s)
{
    if (s.size() != 36) return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
    }
    return true;
}

std::string uuid_lower(const std::string &s)
{
    std::string out = s;
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

bool is_zone(const std::string &s)
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
    unsigned char md[SHA256_DIGEST_LENGTH];
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

}  // namespace credsync
