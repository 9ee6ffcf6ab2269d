#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <new>

namespace credsync {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new())
{
    if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX *>(ctx_), EVP_sha256(), nullptr) != 1)
        throw std::bad_alloc();
}

Sha256::~Sha256()
{
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX *>(ctx_));
}

void Sha256::update(const void *data, size_t len)
{
    if (EVP_DigestUpdate(static_cast<EVP_MD_CTX *>(ctx_), data, len) != 1)
        throw std::bad_alloc();
}

void Sha256::finish(uint8_t out[kSha256Bytes])
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX *>(ctx_), out, &n) != 1 || n != kSha256Bytes)
        throw std::bad_alloc();
}

bool sha256(const void *data, size_t len, uint8_t out[kSha256Bytes])
{
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), nullptr) == 1 && n == kSha256Bytes;
}

bool hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                 uint8_t out[kSha256Bytes])
{
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key, static_cast<int>(key_len), static_cast<const unsigned char *>(data),
                len, out, &n) != nullptr && n == kSha256Bytes;
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
