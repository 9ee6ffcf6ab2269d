#include "bytes.h"

#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace credsync {

Bytes to_bytes(const std::string &s) { return Bytes(s.begin(), s.end()); }
std::string to_string(const Bytes &b) { return std::string(b.begin(), b.end()); }

std::string base64_encode(const uint8_t *data, size_t len)
{
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_encoded_len(len, variant), '\0');
    sodium_bin2base64(out.data(), out.size(), data, len, variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

// A plain table decoder: blobs are ciphertext, so libsodium's constant-time
// decoder (several times slower) buys nothing here, and a first sync decodes
// megabytes.
bool base64_decode_into(const char *s, size_t n, Bytes &out)
{
    static const auto table = [] {
        std::array<int16_t, 256> t;
        t.fill(-1);
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; i++) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int16_t>(i);
        return t;
    }();
    out.clear();
    if (n % 4) return false;
    if (n == 0) return true;
    size_t pad = 0;
    if (s[n - 1] == '=') pad++;
    if (s[n - 2] == '=') pad++;
    out.resize(n / 4 * 3);
    uint8_t *o = out.data();
    auto u = reinterpret_cast<const uint8_t *>(s);
    // Every quad but the last: four alphabet characters, no padding. A
    // character outside the alphabet makes some lookup negative, and so the
    // OR of the four.
    const size_t body = n - 4;
    for (size_t i = 0; i < body; i += 4) {
        int32_t a = table[u[i]], b = table[u[i + 1]], c = table[u[i + 2]], d = table[u[i + 3]];
        if ((a | b | c | d) < 0) return false;
        uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
        *o++ = static_cast<uint8_t>(v >> 16);
        *o++ = static_cast<uint8_t>(v >> 8);
        *o++ = static_cast<uint8_t>(v);
    }
    int v[4];
    for (int k = 0; k < 4; k++) {
        if (s[body + k] == '=' && k >= 4 - static_cast<int>(pad)) {
            v[k] = 0;
            continue;
        }
        v[k] = table[u[body + k]];
        if (v[k] < 0) return false;
    }
    // Canonical form only: the bits that padding drops must be zero.
    if ((pad == 1 && (v[2] & 0x3)) || (pad == 2 && (v[1] & 0xf))) return false;
    uint32_t w = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    *o++ = static_cast<uint8_t>(w >> 16);
    if (pad < 2) *o++ = static_cast<uint8_t>(w >> 8);
    if (pad < 1) *o++ = static_cast<uint8_t>(w);
    out.resize(static_cast<size_t>(o - out.data()));
    return true;
}

std::optional<Bytes> base64_decode(const std::string &s)
{
    Bytes out;
    if (!base64_decode_into(s.data(), s.size(), out)) return std::nullopt;
    return out;
}

std::string hex_encode(const uint8_t *data, size_t len)
{
    std::string out(len * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, len);
    out.resize(len * 2);
    return out;
}

std::optional<Bytes> hex_decode(const std::string &s)
{
    if (s.size() % 2) return std::nullopt;
    Bytes out(s.size() / 2);
    size_t len = 0;
    const char *end = nullptr;
    if (sodium_hex2bin(out.data(), out.size(), s.data(), s.size(), nullptr, &len, &end) != 0 ||
        end != s.data() + s.size() || len != out.size())
        return std::nullopt;
    return out;
}

Uuid uuid_random()
{
    Uuid u;
    randombytes_buf(u.data(), u.size());
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
    return u;
}

std::string uuid_text(const Uuid &u)
{
    std::string h = hex_encode(u.data(), u.size());
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20);
}

namespace {

// Hex digit values, -1 for anything else: a table, as uuid_parse() runs a
// few times for every record of a sync.
struct NibbleTable {
    int8_t v[256];
    NibbleTable()
    {
        for (int c = 0; c < 256; c++)
            v[c] = c >= '0' && c <= '9' ? int8_t(c - '0')
                   : c >= 'a' && c <= 'f' ? int8_t(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? int8_t(c - 'A' + 10)
                                          : int8_t(-1);
    }
};
const NibbleTable kNibble;

}  // namespace

std::optional<Uuid> uuid_parse(const std::string &s)
{
    // No intermediate strings; bad digits are collected and checked once.
    if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return std::nullopt;
    static constexpr uint8_t kAt[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    Uuid u;
    int bad = 0;
    for (size_t k = 0; k < 16; k++) {
        int hi = kNibble.v[static_cast<uint8_t>(s[kAt[k]])], lo = kNibble.v[static_cast<uint8_t>(s[kAt[k] + 1])];
        bad |= hi | lo;
        u[k] = static_cast<uint8_t>((hi & 15) << 4 | (lo & 15));
    }
    if (bad < 0) return std::nullopt;
    return u;
}

void put_be32(Bytes &out, uint32_t v)
{
    for (int i = 3; i >= 0; i--) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_be64(Bytes &out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

int64_t now_ms()
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_time(int64_t ms)
{
    if (ms <= 0) return "";
    time_t secs = static_cast<time_t>(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

}  // namespace credsync
