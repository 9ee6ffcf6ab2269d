// The zone digest of docs/protocol.md: the sum modulo 2^256 of
// SHA-256(item uuid as 16 bytes || gencount as 8 bytes big-endian) over the
// live records, as 32 bytes big-endian.
#pragma once

#include "bytes.h"

#include <array>
#include <string>

namespace credsync {

class Digest {
public:
    void add(const Uuid &item, int64_t gencount);
    void remove(const Uuid &item, int64_t gencount);  // undoes add() of the same pair
    std::string hex() const;

private:
    std::array<uint8_t, 32> sum_{};
};

}  // namespace credsync
