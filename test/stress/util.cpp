#include "util.h"

#include <openssl/sha.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>

namespace ck {

size_t UuidHash::operator()(const Uuid &u) const noexcept
{
    uint64_t a = 0, b = 0;
    for (int i = 0; i < 8; i++) a = (a << 8) | u[i];
    for (int i = 8; i < 16; i++) b = (b << 8) | u[i];
    return static_cast<size_t>(a ^ (b * 0x9e3779b97f4a7c15ULL));
}

static const char kHex[] = "0123456789abcdef";

std::string hex(const std::string &bytes)
{
    std::string s;
    s.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        s += kHex[c >> 4];
        s += kHex[c & 15];
    }
    return s;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unhex(const std::string &text, std::string &out)
{
    if (text.size() % 2) return false;
    out.clear();
    for (size_t i = 0; i < text.size(); i += 2) {
        int h = hexval(text[i]), l = hexval(text[i + 1]);
        if (h < 0 || l < 0) return false;
        out += static_cast<char>(h * 16 + l);
    }
    return true;
}

std::string uuid_str(const Uuid &u)
{
    std::string h = hex(std::string(u.begin(), u.end()));
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20);
}

bool parse_uuid(const std::string &s, Uuid &out)
{
    std::string compact;
    for (char c : s)
        if (c != '-') compact += c;
    std::string raw;
    if (compact.size() != 32 || !unhex(compact, raw)) return false;
    for (int i = 0; i < 16; i++) out[i] = static_cast<uint8_t>(raw[i]);
    return true;
}

Uuid random_uuid(std::mt19937_64 &rng)
{
    Uuid u;
    for (int i = 0; i < 16; i++) u[i] = static_cast<uint8_t>(rng());
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);
    return u;
}

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(const std::string &in)
{
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        out += kB64[(n >> 18) & 63];
        out += kB64[(n >> 12) & 63];
        out += kB64[(n >> 6) & 63];
        out += kB64[n & 63];
    }
    if (i + 1 == in.size()) {
        uint32_t n = uint8_t(in[i]) << 16;
        out += kB64[(n >> 18) & 63];
        out += kB64[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += kB64[(n >> 18) & 63];
        out += kB64[(n >> 12) & 63];
        out += kB64[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

bool base64_decode(const std::string &text, std::string &out)
{
    out.clear();
    if (text.size() % 4) return false;
    uint32_t n = 0;
    int bits = 0;
    size_t pad = 0;
    for (size_t i = 0; i < text.size(); i++) {
        char c = text[i];
        int v;
        if (c == '=') {
            if (i + 2 < text.size()) return false;
            pad++;
            v = 0;
        } else {
            if (pad) return false;
            const char *p = std::strchr(kB64, c);
            if (!p || !c) return false;
            v = static_cast<int>(p - kB64);
        }
        n = (n << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits == 24) {
            out += static_cast<char>((n >> 16) & 255);
            out += static_cast<char>((n >> 8) & 255);
            out += static_cast<char>(n & 255);
            n = 0;
            bits = 0;
        }
    }
    if (pad > 2) return false;
    out.resize(out.size() - pad);
    return true;
}

void Digest::add(const Uuid &item, int64_t gencount)
{
    unsigned char msg[24], h[32];
    for (int i = 0; i < 16; i++) msg[i] = item[i];
    uint64_t g = static_cast<uint64_t>(gencount);
    for (int i = 0; i < 8; i++) msg[16 + i] = static_cast<unsigned char>(g >> (56 - 8 * i));
    SHA256(msg, sizeof msg, h);
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = v[i] + h[i] + carry;
        v[i] = static_cast<uint8_t>(s & 255);
        carry = s >> 8;
    }
}

std::string make_blob(const std::string &user, const std::string &zone, const std::string &item,
                      uint64_t seq, std::mt19937_64 &rng, size_t max_pad)
{
    std::string b = "cs1|" + user + "|" + zone + "|" + item + "|" + std::to_string(seq) + "|";
    size_t pad = max_pad ? rng() % (max_pad + 1) : 0;
    for (size_t i = 0; i < pad; i++) b += static_cast<char>(rng() & 255);  // NUL bytes included
    return b;
}

bool parse_blob(const std::string &blob, BlobHeader &h)
{
    if (blob.compare(0, 4, "cs1|") != 0) return false;
    size_t p = 4;
    std::string fields[4];
    for (int f = 0; f < 4; f++) {
        size_t q = blob.find('|', p);
        if (q == std::string::npos) return false;
        fields[f] = blob.substr(p, q - p);
        p = q + 1;
    }
    h.user = fields[0];
    h.zone = fields[1];
    h.item = fields[2];
    try {
        h.seq = std::stoull(fields[3]);
    } catch (...) {
        return false;
    }
    return true;
}

namespace {
std::mutex g_vmu;
std::map<std::string, uint64_t> g_kinds;
std::atomic<uint64_t> g_violations{0};
}  // namespace

void violation(const char *kind, const std::string &detail)
{
    uint64_t n = ++g_violations;
    std::lock_guard<std::mutex> lk(g_vmu);
    g_kinds[kind]++;
    if (n <= 25 || g_kinds[kind] <= 3) std::fprintf(stderr, "VIOLATION %s: %s\n", kind, detail.c_str());
}

uint64_t violation_count() { return g_violations.load(); }

void print_violation_kinds()
{
    std::lock_guard<std::mutex> lk(g_vmu);
    for (auto &k : g_kinds) std::printf("  violations[%s]=%llu\n", k.first.c_str(), (unsigned long long)k.second);
}

void note(const std::string &msg)
{
    std::lock_guard<std::mutex> lk(g_vmu);
    std::fprintf(stderr, "# %s\n", msg.c_str());
}

}  // namespace ck
