// Small helpers shared by the checker: uuids, hex/base64, the zone digest,
// the self-describing blob format, and violation reporting.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>

namespace ck {

using Uuid = std::array<uint8_t, 16>;

struct UuidHash {
    size_t operator()(const Uuid &u) const noexcept;
};

std::string uuid_str(const Uuid &u);
bool parse_uuid(const std::string &s, Uuid &out);
Uuid random_uuid(std::mt19937_64 &rng);

std::string hex(const std::string &bytes);
bool unhex(const std::string &text, std::string &out);
std::string base64_encode(const std::string &bytes);
bool base64_decode(const std::string &text, std::string &out);

// PROTOCOL.md digest: sum mod 2^256 of SHA-256(uuid 16 bytes || gencount
// 8 bytes big-endian) over live records, 32 bytes big-endian.
struct Digest {
    std::array<uint8_t, 32> v{};
    void add(const Uuid &item, int64_t gencount);
    std::string bytes() const { return std::string(v.begin(), v.end()); }
};

// Every blob the checker writes says who it belongs to:
//   "cs1|<user>|<zone>|<item uuid or ->|<seq>|" + random padding bytes
// so a reader can detect another user's record (isolation) and trace any
// record back to the write that produced it (stale or phantom versions).
struct BlobHeader {
    std::string user, zone, item;
    uint64_t seq = 0;
};
std::string make_blob(const std::string &user, const std::string &zone, const std::string &item,
                      uint64_t seq, std::mt19937_64 &rng, size_t max_pad);
bool parse_blob(const std::string &blob, BlobHeader &h);

// Violations: every one is counted, the first few are printed with details.
void violation(const char *kind, const std::string &detail);
uint64_t violation_count();
void print_violation_kinds();

// Diagnostics (not violations), printed with a "# " prefix.
void note(const std::string &msg);

}  // namespace ck
