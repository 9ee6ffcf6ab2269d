// SHA-256 and HMAC-SHA-256 through OpenSSL (the server itself links it).
// Pure computation: nothing here can raise a PostgreSQL ERROR.
#pragma once
#include <cstddef>
#include <cstdint>

namespace credsync {

constexpr size_t kSha256Bytes = 32;

// Incremental SHA-256 for fingerprints built from several pieces.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256 &) = delete;
    Sha256 &operator=(const Sha256 &) = delete;
    void update(const void *data, size_t len);
    void finish(uint8_t out[kSha256Bytes]);

private:
    void *ctx_;  // EVP_MD_CTX *
};

// One-shot helpers; return false only if OpenSSL fails (out of memory).
bool sha256(const void *data, size_t len, uint8_t out[kSha256Bytes]);
bool hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 uint8_t out[kSha256Bytes]);

// Lower-case hex of `len` bytes into `out` (2 * len + 1 bytes, NUL-terminated).
void to_hex(const uint8_t *bytes, size_t len, char *out);

}  // namespace credsync
