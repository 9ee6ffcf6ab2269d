#include "names.h"

#include <cctype>
#include <cstdint>

namespace credsync {

namespace {

bool segment_chars(const std::string &s, size_t max)
{
    if (s.empty() || s.size() > max) return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
    return true;
}

}  // namespace

bool valid_zone(const std::string &zone) { return segment_chars(zone, 64); }
bool valid_device_id(const std::string &id) { return segment_chars(id, 128); }

bool valid_name(const std::string &name)
{
    if (name.empty() || name.size() > 256) return false;
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return false;
    // Well-formed UTF-8 (no overlongs, no surrogates).
    size_t i = 0;
    while (i < name.size()) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        if (n == 0 || i + n > name.size()) return false;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1f) : n == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < n; k++) {
            unsigned char d = static_cast<unsigned char>(name[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

}  // namespace credsync
