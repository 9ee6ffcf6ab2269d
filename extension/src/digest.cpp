#include "digest.h"

#include "crypto.h"

namespace credsync {

void Digest::add(const uint8_t term[kDigestBytes])
{
    unsigned carry = 0;
    for (int i = kDigestBytes - 1; i >= 0; i--) {
        unsigned sum = bytes[i] + term[i] + carry;
        bytes[i] = static_cast<uint8_t>(sum);
        carry = sum >> 8;
    }
}

void Digest::subtract(const uint8_t term[kDigestBytes])
{
    int borrow = 0;
    for (int i = kDigestBytes - 1; i >= 0; i--) {
        int diff = static_cast<int>(bytes[i]) - term[i] - borrow;
        borrow = diff < 0;
        bytes[i] = static_cast<uint8_t>(diff + (borrow << 8));
    }
}

bool record_term(const uint8_t item_uuid[16], int64_t gencount, uint8_t term[kDigestBytes])
{
    uint8_t message[24];
    for (int i = 0; i < 16; i++)
        message[i] = item_uuid[i];
    uint64_t g = static_cast<uint64_t>(gencount);
    for (int i = 0; i < 8; i++)
        message[16 + i] = static_cast<uint8_t>(g >> (56 - 8 * i));
    return sha256(message, sizeof message, term);
}

}  // namespace credsync
