#include "digest.h"

#include "crypto.h"

#include <sodium.h>

#include <algorithm>

namespace credsync {

namespace {

void record_hash(const Uuid &item, int64_t gencount, uint8_t h[crypto_hash_sha256_BYTES])
{
    // Once per record of the zone at every verification: no allocation.
    uint8_t in[24];
    std::copy(item.begin(), item.end(), in);
    for (int i = 0; i < 8; i++) in[16 + i] = static_cast<uint8_t>(static_cast<uint64_t>(gencount) >> (56 - 8 * i));
    crypto_hash_sha256(h, in, sizeof in);
}

}  // namespace

void Digest::add(const Uuid &item, int64_t gencount)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    record_hash(item, gencount, h);
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = unsigned(sum_[i]) + unsigned(h[i]) + carry;
        sum_[i] = static_cast<uint8_t>(s & 0xff);
        carry = s >> 8;
    }
}

// The sum is modulo 2^256: subtracting with borrow undoes an add exactly.
void Digest::remove(const Uuid &item, int64_t gencount)
{
    uint8_t h[crypto_hash_sha256_BYTES];
    record_hash(item, gencount, h);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int s = int(sum_[i]) - int(h[i]) - borrow;
        borrow = s < 0;
        sum_[i] = static_cast<uint8_t>(s & 0xff);
    }
}

std::string Digest::hex() const { return hex_encode(sum_.data(), sum_.size()); }

}  // namespace credsync
