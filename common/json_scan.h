// The one JSON fast path of credsync, shared by the proxy (the push body,
// proxy/validate.cpp) and the client (pull pages, client/src/page.cpp; entry
// plaintexts, client/src/content.cpp): a SAX parser that hands its handler
// string_views into the text, because nlohmann's lexer copies every character
// of every string into its token buffer, one push_back at a time (a third of
// the proxy's CPU on a push of 100 records, docs/performance.md; most of a
// client's first sync, docs/client.md).
//
// It accepts and refuses exactly what nlohmann::json::sax_parse (3.11, strict,
// no comments) does, and calls the handler in the same order with the same
// values, stopping at the same token: the grammar loop below is nlohmann's
// parser::sax_parse_internal, the lexer its lexer::scan, token by token
// (a UTF-8 BOM at the very start, strict UTF-8, no control character in a
// string, RFC 8259 numbers; an integer out of range is a double, a double out
// of range an error). Only a string with an escape is unescaped by nlohmann
// itself (the string token alone). test/fuzz/request_fuzzer.cpp compares the
// two event by event.
//
// The handler: null(), boolean(bool), number_integer(long long),
// number_unsigned(unsigned long long), number_float(double), string(view),
// key(view), start_object(), start_array(), end_object(), end_array() — each
// returning false to stop — and parse_error(). A view lives during its call.
// The text must hold no NUL byte (nlohmann ends its input at one): the proxy
// refuses a body with a NUL before parsing, the client reads such a text with
// nlohmann itself.
#pragma once

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace credsync {
namespace json_scan {

enum class Token { begin_array, end_array, begin_object, end_object, name_separator, value_separator,
                   literal_true, literal_false, literal_null, value_string, value_unsigned, value_integer,
                   value_float, end_of_input, parse_error };

class Lexer {
public:
    explicit Lexer(std::string_view text) : p_(text.data()), end_(text.data() + text.size()), start_(p_) {}

    Token scan()
    {
        if (p_ == start_ && p_ != end_ && static_cast<unsigned char>(*p_) == 0xEF) {  // nlohmann's skip_bom
            if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB || static_cast<unsigned char>(p_[2]) != 0xBF)
                return Token::parse_error;
            p_ += 3;
        }
        start_ = nullptr;  // the BOM only at the very start
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
        if (p_ == end_) return Token::end_of_input;
        switch (*p_) {
        case '[': p_++; return Token::begin_array;
        case ']': p_++; return Token::end_array;
        case '{': p_++; return Token::begin_object;
        case '}': p_++; return Token::end_object;
        case ':': p_++; return Token::name_separator;
        case ',': p_++; return Token::value_separator;
        case 't': return literal("true", Token::literal_true);
        case 'f': return literal("false", Token::literal_false);
        case 'n': return literal("null", Token::literal_null);
        case '"': return string();
        case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
            return number();
        default: return Token::parse_error;
        }
    }

    std::string_view text() const { return text_; }  // value_string
    unsigned long long value_unsigned() const { return unsigned_; }
    long long value_integer() const { return integer_; }
    double value_float() const { return float_; }

private:
    Token literal(std::string_view word, Token t)
    {
        // nlohmann compares byte by byte and fails at the first difference,
        // or at the end of the input.
        for (char c : word) {
            if (p_ == end_ || *p_ != c) return Token::parse_error;
            p_++;
        }
        return t;
    }

    // Bytes that end a run of plain string characters: '"', '\\', a control
    // character, or the first byte of a multi-byte UTF-8 sequence.
    static bool special(unsigned char c) { return c == '"' || c == '\\' || c < 0x20 || c >= 0x80; }

    // Whether 8 bytes hold one special byte (exact, for the whole word).
    static bool any_special(uint64_t w)
    {
        constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
        auto has_zero = [](uint64_t x) { return (x - ones) & ~x & highs; };
        uint64_t below_space = (w - ones * 0x20) & ~w & highs;  // a byte < 0x20 (bytes < 0x80)
        return (w & highs) || below_space || has_zero(w ^ (ones * '"')) || has_zero(w ^ (ones * '\\'));
    }

    // A UTF-8 sequence as nlohmann's scan_string takes it (RFC 3629: no
    // overlong forms, no surrogates, nothing above U+10FFFF). p_ is on its
    // first byte; false when it is not valid.
    bool utf8()
    {
        auto in = [&](size_t i, unsigned lo, unsigned hi) {
            if (end_ - p_ <= static_cast<ptrdiff_t>(i)) return false;
            unsigned c = static_cast<unsigned char>(p_[i]);
            return c >= lo && c <= hi;
        };
        unsigned c = static_cast<unsigned char>(*p_);
        size_t n;
        if (c >= 0xC2 && c <= 0xDF) n = in(1, 0x80, 0xBF) ? 2 : 0;
        else if (c == 0xE0) n = in(1, 0xA0, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if (c == 0xED) n = in(1, 0x80, 0x9F) && in(2, 0x80, 0xBF) ? 3 : 0;
        else if (c == 0xF0) n = in(1, 0x90, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        else if (c >= 0xF1 && c <= 0xF3) n = in(1, 0x80, 0xBF) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        else if (c == 0xF4) n = in(1, 0x80, 0x8F) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
        else n = 0;
        p_ += n;
        return n != 0;
    }

    Token string()
    {
        const char *open = p_++;
        for (;;) {
#if defined(__SSE2__)
            // 16 bytes at a time: '"', '\\', and (as signed bytes) below
            // 0x20, which takes in every byte from 0x80 up.
            const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
            while (end_ - p_ >= 16) {
                __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p_));
                __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                                           _mm_cmplt_epi8(v, space));
                int mask = _mm_movemask_epi8(hit);
                if (mask) {
                    p_ += __builtin_ctz(static_cast<unsigned>(mask));
                    break;
                }
                p_ += 16;
            }
#endif
            while (end_ - p_ >= 8) {
                uint64_t w;
                std::memcpy(&w, p_, 8);
                if (any_special(w)) break;
                p_ += 8;
            }
            if (p_ == end_) return Token::parse_error;  // no closing quote
            unsigned char c = static_cast<unsigned char>(*p_);
            if (!special(c)) {
                p_++;
            } else if (c == '"') {
                text_ = std::string_view(open + 1, p_ - open - 1);
                p_++;
                return Token::value_string;
            } else if (c == '\\') {
                return escaped(open);
            } else if (c < 0x20) {
                return Token::parse_error;
            } else if (!utf8()) {
                return Token::parse_error;
            }
        }
    }

    // A string with an escape: its token (from its opening quote up to the
    // first quote no backslash escapes) unescaped and judged by nlohmann.
    // Where nlohmann's own lexer would read past that quote (it is one of
    // "\uXXXX"'s four digits), the string is invalid for both.
    Token escaped(const char *open)
    {
        const char *q = p_;
        for (;;) {
            q = static_cast<const char *>(std::memchr(q, '"', end_ - q));
            if (!q) return Token::parse_error;  // no closing quote
            size_t backslashes = 0;
            for (const char *b = q - 1; b > open && *b == '\\'; b--) backslashes++;
            if (backslashes % 2 == 0) break;
            q++;
        }
        p_ = q + 1;
        nlohmann::json s = nlohmann::json::parse(open, p_, nullptr, false);
        if (!s.is_string()) return Token::parse_error;
        unescaped_ = std::move(s.get_ref<std::string &>());
        text_ = unescaped_;
        return Token::value_string;
    }

    // nlohmann's scan_number: its grammar, then strtoull/strtoll/strtod on the
    // token as it does (an integer out of range becomes a double).
    Token number()
    {
        const char *b = p_;
        auto digit = [&] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
        Token type = Token::value_unsigned;
        if (*p_ == '-') {
            type = Token::value_integer;
            p_++;
        }
        if (!digit()) return Token::parse_error;
        if (*p_++ != '0')
            while (digit()) p_++;
        if (p_ != end_ && *p_ == '.') {
            type = Token::value_float;
            p_++;
            if (!digit()) return Token::parse_error;
            while (digit()) p_++;
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            type = Token::value_float;
            p_++;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-')) p_++;
            if (!digit()) return Token::parse_error;
            while (digit()) p_++;
        }
        if (type != Token::value_float && p_ - b <= 18) {
            // At most 18 digits cannot overflow: the value strtoull/strtoll
            // would give, without copying the token (a client's entry holds a
            // millisecond stamp per field).
            const char *d = b + (type == Token::value_integer);
            unsigned long long v = 0;
            for (; d != p_; d++) v = v * 10 + static_cast<unsigned>(*d - '0');
            if (type == Token::value_unsigned) unsigned_ = v;
            else integer_ = -static_cast<long long>(v);
            return type;
        }
        number_.assign(b, p_);  // NUL-terminated for strto*
        char *endptr = nullptr;
        errno = 0;
        if (type == Token::value_unsigned) {
            unsigned_ = std::strtoull(number_.c_str(), &endptr, 10);
            if (errno == 0) return Token::value_unsigned;
        } else if (type == Token::value_integer) {
            integer_ = std::strtoll(number_.c_str(), &endptr, 10);
            if (errno == 0) return Token::value_integer;
        }
        float_ = std::strtod(number_.c_str(), &endptr);
        return Token::value_float;
    }

    const char *p_, *end_, *start_;
    std::string_view text_;
    std::string unescaped_, number_;
    unsigned long long unsigned_ = 0;
    long long integer_ = 0;
    double float_ = 0;
};

// nlohmann's parser::sax_parse (strict) and sax_parse_internal, step by step.
// Returns false when the text is not JSON or the handler stopped the parse.
template <class Handler>
bool parse(std::string_view text, Handler &h)
{
    Lexer lex(text);
    std::vector<bool> states;  // true = array; false = object
    Token last = lex.scan();
    auto next = [&] { return last = lex.scan(); };
    auto error = [&] {
        h.parse_error();
        return false;
    };
    bool skip_to_state_evaluation = false;
    for (;;) {
        if (!skip_to_state_evaluation) {
            switch (last) {
            case Token::begin_object:
                if (!h.start_object()) return false;
                if (next() == Token::end_object) {
                    if (!h.end_object()) return false;
                    break;
                }
                if (last != Token::value_string) return error();
                if (!h.key(lex.text())) return false;
                if (next() != Token::name_separator) return error();
                states.push_back(false);
                next();
                continue;
            case Token::begin_array:
                if (!h.start_array()) return false;
                if (next() == Token::end_array) {
                    if (!h.end_array()) return false;
                    break;
                }
                states.push_back(true);
                continue;
            case Token::value_float:
                if (!std::isfinite(lex.value_float())) return error();
                if (!h.number_float(lex.value_float())) return false;
                break;
            case Token::literal_false:
                if (!h.boolean(false)) return false;
                break;
            case Token::literal_null:
                if (!h.null()) return false;
                break;
            case Token::literal_true:
                if (!h.boolean(true)) return false;
                break;
            case Token::value_integer:
                if (!h.number_integer(lex.value_integer())) return false;
                break;
            case Token::value_string:
                if (!h.string(lex.text())) return false;
                break;
            case Token::value_unsigned:
                if (!h.number_unsigned(lex.value_unsigned())) return false;
                break;
            default: return error();  // a lexer error, or a token out of place
            }
        } else {
            skip_to_state_evaluation = false;
        }

        // a value was parsed
        if (states.empty()) return next() == Token::end_of_input ? true : error();  // strict: nothing after it
        if (states.back()) {  // array
            if (next() == Token::value_separator) {
                next();
                continue;
            }
            if (last == Token::end_array) {
                if (!h.end_array()) return false;
                states.pop_back();
                skip_to_state_evaluation = true;
                continue;
            }
            return error();
        }
        // object
        if (next() == Token::value_separator) {
            if (next() != Token::value_string) return error();
            if (!h.key(lex.text())) return false;
            if (next() != Token::name_separator) return error();
            next();
            continue;
        }
        if (last == Token::end_object) {
            if (!h.end_object()) return false;
            states.pop_back();
            skip_to_state_evaluation = true;
            continue;
        }
        return error();
    }
}

}  // namespace json_scan
}  // namespace credsync
