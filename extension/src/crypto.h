// SHA-256, HMAC-SHA-256 and Ed25519 verification through OpenSSL (the
// server itself links it). Pure computation: nothing here can raise a
// PostgreSQL ERROR.
#pragma once
#include <cstddef>
#include <cstdint>

namespace credsync {

constexpr size_t kSha256Bytes = 32;

// Incremental SHA-256 for fingerprints built from many pieces, on one
// per-backend context: plain functions without a destructor, so the caller
// may check for interrupts (and so longjmp) between pieces. An unfinished
// hash is simply started over by the next sha256_begin(). Each returns false
// only if OpenSSL fails (out of memory).
bool sha256_begin();
bool sha256_add(const void *data, size_t len);
bool sha256_end(uint8_t out[kSha256Bytes]);

// One-shot SHA-256; false only if OpenSSL fails (out of memory).
bool sha256(const void *data, size_t len, uint8_t out[kSha256Bytes]);

// HMAC-SHA-256 under one fixed key, for many messages: the key's inner and
// outer SHA-256 states are computed once (OpenSSL's one-shot HMAC() looks the
// algorithm up and rehashes the key on every call). Plain data, no
// destructor: meant to live in a static for the backend's lifetime.
struct HmacKey {
    void *inner;  // EVP_MD_CTX * after absorbing key ^ ipad
    void *outer;  // EVP_MD_CTX * after absorbing key ^ opad
    void *work;   // scratch EVP_MD_CTX *
};
bool hmac_key_init(HmacKey *hmac, const uint8_t *key, size_t key_len);  // key_len <= 64
bool hmac_sha256(const HmacKey &hmac, const void *data, size_t len, uint8_t out[kSha256Bytes]);

// Ed25519 (RFC 8032, pure: no pre-hash) over `len` bytes of `message`.
constexpr size_t kEd25519KeyBytes = 32;
constexpr size_t kEd25519SignatureBytes = 64;
enum class SignatureCheck { valid, invalid, failed };  // failed: OpenSSL could not run (out of memory)
SignatureCheck ed25519_verify(const uint8_t public_key[kEd25519KeyBytes], const uint8_t *message, size_t len,
                              const uint8_t signature[kEd25519SignatureBytes]);

// Lower-case hex of `len` bytes into `out` (2 * len + 1 bytes, NUL-terminated).
void to_hex(const uint8_t *bytes, size_t len, char *out);

}  // namespace credsync
