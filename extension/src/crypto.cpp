#include "crypto.h"

#include <openssl/evp.h>

namespace credsync {

// One context and one fetched SHA-256 implementation per backend: OpenSSL 3's
// one-shot EVP_Digest() looks the algorithm up and allocates a context on
// every call, a third of the cost of hashing 24 bytes. Plain statics, never
// freed (they live as long as the backend).
static EVP_MD *sha256_md = nullptr;
static EVP_MD_CTX *sha256_ctx = nullptr;

static EVP_MD_CTX *incremental_ctx = nullptr;

static bool fetch_sha256()
{
    if (sha256_md == nullptr)
        sha256_md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return sha256_md != nullptr;
}

bool sha256(const void *data, size_t len, uint8_t out[kSha256Bytes])
{
    if (sha256_ctx == nullptr) {
        sha256_ctx = fetch_sha256() ? EVP_MD_CTX_new() : nullptr;
        if (sha256_ctx == nullptr)
            return false;
    }
    unsigned int n = 0;
    return EVP_DigestInit_ex(sha256_ctx, sha256_md, nullptr) == 1 && EVP_DigestUpdate(sha256_ctx, data, len) == 1 &&
           EVP_DigestFinal_ex(sha256_ctx, out, &n) == 1 && n == kSha256Bytes;
}

bool sha256_begin()
{
    if (incremental_ctx == nullptr) {
        incremental_ctx = fetch_sha256() ? EVP_MD_CTX_new() : nullptr;
        if (incremental_ctx == nullptr)
            return false;
    }
    return EVP_DigestInit_ex(incremental_ctx, sha256_md, nullptr) == 1;
}

bool sha256_add(const void *data, size_t len)
{
    return EVP_DigestUpdate(incremental_ctx, data, len) == 1;
}

bool sha256_end(uint8_t out[kSha256Bytes])
{
    unsigned int n = 0;
    return EVP_DigestFinal_ex(incremental_ctx, out, &n) == 1 && n == kSha256Bytes;
}

bool hmac_key_init(HmacKey *hmac, const uint8_t *key, size_t key_len)
{
    constexpr size_t kBlock = 64;
    if (key_len > kBlock)
        return false;
    uint8_t ipad[kBlock], opad[kBlock];
    for (size_t i = 0; i < kBlock; i++) {
        uint8_t k = i < key_len ? key[i] : 0;
        ipad[i] = k ^ 0x36;
        opad[i] = k ^ 0x5c;
    }
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new(), *work = EVP_MD_CTX_new();
    bool ok = inner && outer && work && EVP_DigestInit_ex(inner, EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(inner, ipad, kBlock) == 1 && EVP_DigestInit_ex(outer, EVP_sha256(), nullptr) == 1 &&
              EVP_DigestUpdate(outer, opad, kBlock) == 1;
    if (!ok) {
        EVP_MD_CTX_free(inner);
        EVP_MD_CTX_free(outer);
        EVP_MD_CTX_free(work);
        return false;
    }
    hmac->inner = inner;
    hmac->outer = outer;
    hmac->work = work;
    return true;
}

bool hmac_sha256(const HmacKey &hmac, const void *data, size_t len, uint8_t out[kSha256Bytes])
{
    EVP_MD_CTX *work = static_cast<EVP_MD_CTX *>(hmac.work);
    uint8_t inner_hash[kSha256Bytes];
    unsigned int n = 0;
    return EVP_MD_CTX_copy_ex(work, static_cast<EVP_MD_CTX *>(hmac.inner)) == 1 &&
           EVP_DigestUpdate(work, data, len) == 1 && EVP_DigestFinal_ex(work, inner_hash, &n) == 1 &&
           EVP_MD_CTX_copy_ex(work, static_cast<EVP_MD_CTX *>(hmac.outer)) == 1 &&
           EVP_DigestUpdate(work, inner_hash, sizeof inner_hash) == 1 && EVP_DigestFinal_ex(work, out, &n) == 1 &&
           n == kSha256Bytes;
}

SignatureCheck ed25519_verify(const uint8_t public_key[kEd25519KeyBytes], const uint8_t *message, size_t len,
                              const uint8_t signature[kEd25519SignatureBytes])
{
    // Any 32 bytes make a key here; a non-canonical or invalid point fails
    // in EVP_DigestVerify, as an invalid signature.
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key, kEd25519KeyBytes);
    EVP_MD_CTX *ctx = key ? EVP_MD_CTX_new() : nullptr;
    SignatureCheck check = SignatureCheck::failed;
    // Ed25519 takes no digest (NULL md) and the whole message in one call.
    if (ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1)
        check = EVP_DigestVerify(ctx, signature, kEd25519SignatureBytes, message, len) == 1 ? SignatureCheck::valid
                                                                                            : SignatureCheck::invalid;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return check;
}

void to_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * len] = '\0';
}

}  // namespace credsync
