#include "digest.h"

#include "crypto.h"

namespace credsync {

void Digest::add(const Uuid &item, int64_t gencount)
{
    Bytes in(item.begin(), item.end());
    put_be64(in, static_cast<uint64_t>(gencount));
    auto h = crypto::sha256(in);
    unsigned carry = 0;
    for (int i = 31; i >= 0; i--) {
        unsigned s = unsigned(sum_[i]) + unsigned(h[i]) + carry;
        sum_[i] = static_cast<uint8_t>(s & 0xff);
        carry = s >> 8;
    }
}

std::string Digest::hex() const { return hex_encode(sum_.data(), sum_.size()); }

}  // namespace credsync
