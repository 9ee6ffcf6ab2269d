// A small scanner for JSON texts of a known shape (pull pages, entry
// plaintexts): each step returns false on anything outside the common shape
// (an escape in a string, a fraction, a byte sequence that is not UTF-8), and
// the caller then reads the text through nlohmann instead. It never accepts
// a text nlohmann would refuse, so it is a fast path and not a second
// definition of what a text may be.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string_view>

namespace credsync {

// Strict UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), as
// nlohmann's lexer checks it.
inline bool valid_utf8(const unsigned char *p, const unsigned char *e)
{
    while (p < e) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        int n;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else {
            return false;
        }
        if (e - p <= n) return false;
        if (p[1] < lo || p[1] > hi) return false;
        for (int k = 2; k <= n; k++)
            if (p[k] < 0x80 || p[k] > 0xbf) return false;
        p += n + 1;
    }
    return true;
}

class Scanner {
public:
    Scanner(const char *p, const char *e) : p_(p), e_(e) {}

    void ws()
    {
        while (p_ < e_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) p_++;
    }
    bool eat(char c)
    {
        ws();
        if (p_ < e_ && *p_ == c) {
            p_++;
            return true;
        }
        return false;
    }
    bool at_end()
    {
        ws();
        return p_ == e_;
    }
    // A string without escapes or control characters (a page's keys, uuids
    // and base64 never need one); its bytes between the quotes.
    bool string(std::string_view &out)
    {
        ws();
        if (p_ >= e_ || *p_ != '"') return false;
        const char *start = ++p_;
        const char *q = static_cast<const char *>(std::memchr(p_, '"', static_cast<size_t>(e_ - p_)));
        if (!q) return false;
        bool high = false;
        for (const char *c = start; c < q; c++) {
            unsigned char u = static_cast<unsigned char>(*c);
            if (u == '\\' || u < 0x20) return false;
            high |= u >= 0x80;
        }
        if (high && !valid_utf8(reinterpret_cast<const unsigned char *>(start), reinterpret_cast<const unsigned char *>(q)))
            return false;
        out = std::string_view(start, static_cast<size_t>(q - start));
        p_ = q + 1;
        return true;
    }
    // A JSON integer (no fraction, no exponent) that fits in int64.
    bool integer(int64_t &out)
    {
        ws();
        bool neg = p_ < e_ && *p_ == '-';
        if (neg) p_++;
        if (p_ >= e_ || *p_ < '0' || *p_ > '9') return false;
        if (*p_ == '0' && p_ + 1 < e_ && p_[1] >= '0' && p_[1] <= '9') return false;  // no leading zeros
        uint64_t v = 0;
        while (p_ < e_ && *p_ >= '0' && *p_ <= '9') {
            if (v > (std::numeric_limits<uint64_t>::max() - 9) / 10) return false;
            v = v * 10 + static_cast<uint64_t>(*p_++ - '0');
        }
        if (p_ < e_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
        out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
        return true;
    }
    bool word(const char *w)
    {
        ws();
        size_t n = std::strlen(w);
        if (static_cast<size_t>(e_ - p_) < n || std::memcmp(p_, w, n) != 0) return false;
        p_ += n;
        return true;
    }
    bool boolean(bool &out)
    {
        if (word("true")) {
            out = true;
            return true;
        }
        if (word("false")) {
            out = false;
            return true;
        }
        return false;
    }

private:
    const char *p_;
    const char *e_;
};

}  // namespace credsync
