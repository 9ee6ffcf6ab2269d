// The zone digest: the sum, modulo 2^256, of
//   SHA-256(item uuid as 16 bytes || gencount as 8 bytes big-endian)
// over the zone's live records, as 32 bytes big-endian. Maintained
// incrementally: add a record's term when it becomes live, subtract it when
// it is overwritten or deleted. Pure computation.
#pragma once
#include <cstdint>

namespace credsync {

constexpr int kDigestBytes = 32;

struct Digest {
    uint8_t bytes[kDigestBytes];  // big-endian

    void add(const uint8_t term[kDigestBytes]);
    void subtract(const uint8_t term[kDigestBytes]);
};

// The digest term of one live record; false only if OpenSSL fails.
bool record_term(const uint8_t item_uuid[16], int64_t gencount, uint8_t term[kDigestBytes]);

}  // namespace credsync
