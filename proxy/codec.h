// Encodings at the HTTP edge: base64 (strict), uuids, zone names, hex, integers,
// and PostgreSQL binary values. Pure functions, no I/O.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credsync {

// Standard base64 with padding. decode accepts only the canonical encoding
// (no whitespace, no missing or extra padding, no stray bits), so that one blob
// has exactly one spelling.
std::string base64_encode(const std::string &bytes);
std::optional<std::string> base64_decode(std::string_view text);
// The same strict decoding into out (replaced; left unspecified when the text
// is refused), so that a caller can decode straight from a buffer it does not
// own into the string it keeps.
bool base64_decode_into(std::string_view text, std::string &out);
// Whether text is canonical base64, without decoding it anywhere.
bool base64_valid(std::string_view text);
// Appends the base64 of n bytes at p to out (no intermediate string).
void append_base64(std::string &out, const char *p, size_t n);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex digits of either case.
bool is_uuid(std::string_view s);
// Lower-case canonical form of a valid uuid.
std::string uuid_lower(std::string_view s);
// A random (version 4) uuid from OpenSSL's CSPRNG.
std::string random_uuid();
// 16 raw bytes -> canonical text.
std::string uuid_from_bytes(const unsigned char *b);
// Appends the canonical text of 16 raw bytes to out.
void append_uuid(std::string &out, const unsigned char *b);
// Appends the decimal text of v to out.
void append_int(std::string &out, long long v);

// 1..64 characters of [A-Za-z0-9_.-].
bool is_zone(std::string_view s);

std::string to_hex(const unsigned char *b, size_t n);
// PostgreSQL's bytea text output (a backslash, "x", hex digits) -> the bytes.
std::optional<std::string> from_bytea_text(std::string_view text);
std::string sha256(const std::string &data);

// A whole decimal integer in [lo, hi]; no sign except '-', no spaces, no '+'.
std::optional<long long> parse_int(const std::string &s, long long lo, long long hi);
// A PostgreSQL setting like "1MB", "1024kB", "1048576" in bytes (or a plain count).
std::optional<long long> parse_setting_bytes(const std::string &s);

// PostgreSQL binary send formats.
int64_t be_int64(const char *p);
void put_be32(std::string &out, int32_t v);

// Array parameters of sync_push_many: uuid[] and int8[] as array text
// ({a,NULL,b}: uuids and integers need no quoting), bytea[] in the binary
// array format (no hex or escape encoding of ciphertext).
std::string uuid_array_text(const std::vector<std::optional<std::string>> &ids);
std::string int8_array_text(const std::vector<std::optional<long long>> &v);
std::string bytea_array_binary(const std::vector<std::optional<std::string>> &blobs);

// Answers written straight into one string, keys in the order nlohmann::json
// (a std::map) writes them; uuids, integers and base64 need no escaping.
// {"gencount":..,"results":[{"gencount":..,"item":..}]} from sync_push_many's
// rows (item, gencount as text); nullopt when a row is not what it must be.
std::optional<std::string> push_answer_json(const PGresult *r);
// {"gencount":..,"more":..,"next_since":..,"records":[{"blob":..,"deleted":..,
// "gencount":..,"item":..}]} from rows 1..count of sync_pull_page's binary
// answer (uuid 16 bytes, gencount 8, deleted 1, blob raw), already checked.
std::string pull_page_json(const PGresult *r, int count, long long gencount, bool more, long long next_since);

}  // namespace credsync
