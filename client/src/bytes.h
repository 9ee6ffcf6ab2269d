// Byte strings and their text forms: base64 (the HTTP API's), hex, uuids,
// big-endian integers and timestamps. No crypto here (crypto.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace credsync {

using Bytes = std::vector<uint8_t>;
using Uuid = std::array<uint8_t, 16>;

Bytes to_bytes(const std::string &s);
std::string to_string(const Bytes &b);

std::string base64_encode(const uint8_t *data, size_t len);
inline std::string base64_encode(const Bytes &b) { return base64_encode(b.data(), b.size()); }
// Standard base64 with padding; nullopt on anything else.
std::optional<Bytes> base64_decode(const std::string &s);
// The same from n characters at s into out; false (out unspecified) on anything else.
bool base64_decode_into(const char *s, size_t n, Bytes &out);

std::string hex_encode(const uint8_t *data, size_t len);
std::optional<Bytes> hex_decode(const std::string &s);

// Random version-4 uuid (libsodium's randombytes).
Uuid uuid_random();
// Lower-case 8-4-4-4-12 text.
std::string uuid_text(const Uuid &u);
// Accepts the 8-4-4-4-12 form in either case; nullopt otherwise.
std::optional<Uuid> uuid_parse(const std::string &s);

void put_be32(Bytes &out, uint32_t v);
void put_be64(Bytes &out, uint64_t v);

// Wall clock in milliseconds since the Unix epoch.
int64_t now_ms();
// 2024-05-01T12:34:56.789Z
std::string iso_time(int64_t ms);

}  // namespace credsync
