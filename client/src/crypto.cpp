#include "crypto.h"

#include "error.h"

#include <sodium.h>

#include <cstring>

namespace credsync::crypto {

namespace {

constexpr uint8_t kFormat = 1;
const char kLoginLabel[] = "credsync login v1\n";
const char kMasterLabel[] = "credsync master key v1\n";
const char kZoneLabel[] = "credsync zone key v1\n";
const char kEntryLabel[] = "credsync entry v1\n";

void append(Bytes &out, const char *s) { out.insert(out.end(), s, s + std::strlen(s)); }
void append(Bytes &out, const std::string &s) { out.insert(out.end(), s.begin(), s.end()); }

Bytes aead_seal(const Key &key, const Bytes &ad, const uint8_t *msg, size_t len)
{
    Bytes out(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    out[0] = kFormat;
    uint8_t *nonce = out.data() + 1;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, msg,
                                               len, ad.data(), ad.size(), nullptr, nonce, key.b.data());
    out.resize(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + clen);
    return out;
}

std::optional<Bytes> aead_open(const Key &key, const Bytes &ad, const Bytes &blob)
{
    const size_t head = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    if (blob.size() < head + crypto_aead_xchacha20poly1305_ietf_ABYTES || blob[0] != kFormat) return std::nullopt;
    Bytes out(blob.size() - head - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &len, nullptr, blob.data() + head, blob.size() - head,
                                                   ad.data(), ad.size(), blob.data() + 1, key.b.data()) != 0)
        return std::nullopt;
    out.resize(len);
    return out;
}

}  // namespace

void init()
{
    if (sodium_init() < 0) throw Error(Error::Kind::internal, "libsodium failed to initialize");
}

Key::~Key() { sodium_memzero(b.data(), b.size()); }

Key Key::random()
{
    Key k;
    randombytes_buf(k.b.data(), k.b.size());
    return k;
}

std::optional<Key> Key::from(const Bytes &bytes)
{
    if (bytes.size() != 32) return std::nullopt;
    Key k;
    std::memcpy(k.b.data(), bytes.data(), 32);
    return k;
}

std::optional<Kdf> Kdf::preset(const std::string &name)
{
    if (name == "interactive")
        return Kdf{crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
    if (name == "moderate")
        return Kdf{crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
    if (name == "sensitive")
        return Kdf{crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE, crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE};
    return std::nullopt;
}

nlohmann::json Kdf::to_json() const { return {{"alg", "argon2id13"}, {"ops", ops}, {"mem", mem}}; }

Kdf Kdf::from_json(const nlohmann::json &j)
{
    // libsodium's own minimums, and at most twice its "sensitive" preset.
    constexpr unsigned long long kMaxOps = 2 * crypto_pwhash_argon2id_OPSLIMIT_SENSITIVE;
    constexpr unsigned long long kMaxMem = 2ULL * crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE;
    if (!j.is_object() || j.value("alg", "") != "argon2id13" || !j.contains("ops") || !j.contains("mem") ||
        !j["ops"].is_number_integer() || !j["mem"].is_number_integer() || j["ops"].get<long long>() < 0 ||
        j["mem"].get<long long>() < 0)
        throw Error(Error::Kind::server, "the server sent key derivation parameters this client does not know");
    Kdf k{j["ops"].get<unsigned long long>(), j["mem"].get<size_t>()};
    if (k.ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || k.ops > kMaxOps || k.mem < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
        k.mem > kMaxMem)
        throw Error(Error::Kind::server, "the server sent key derivation costs outside sane bounds");
    return k;
}

Derived derive(const std::string &password, const Bytes &salt, const Kdf &kdf)
{
    if (salt.size() != crypto_pwhash_SALTBYTES) throw Error(Error::Kind::server, "the account's salt is not 16 bytes");
    uint8_t out[64];
    if (crypto_pwhash(out, sizeof out, password.data(), password.size(), salt.data(), kdf.ops, kdf.mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw Error(Error::Kind::local, "not enough memory for the key derivation (Argon2id)");
    Derived d;
    std::memcpy(d.login_seed.b.data(), out, 32);
    std::memcpy(d.wrap_key.b.data(), out + 32, 32);
    sodium_memzero(out, sizeof out);
    return d;
}

LoginKeys::~LoginKeys() { sodium_memzero(sk.data(), sk.size()); }

LoginKeys login_keys(const Key &seed)
{
    LoginKeys k;
    crypto_sign_seed_keypair(k.pk.data(), k.sk.data(), seed.b.data());
    return k;
}

Bytes login_message(const Bytes &challenge, const std::string &name)
{
    Bytes m;
    append(m, kLoginLabel);
    m.insert(m.end(), challenge.begin(), challenge.end());
    append(m, name);
    return m;
}

Bytes sign(const LoginKeys &keys, const Bytes &message)
{
    Bytes sig(crypto_sign_BYTES);
    crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), keys.sk.data());
    return sig;
}

Bytes wrap_master(const Key &wrap_key, const Key &master, const std::string &name)
{
    Bytes ad;
    append(ad, kMasterLabel);
    append(ad, name);
    return aead_seal(wrap_key, ad, master.b.data(), master.b.size());
}

std::optional<Key> unwrap_master(const Key &wrap_key, const Bytes &wrapped, const std::string &name)
{
    Bytes ad;
    append(ad, kMasterLabel);
    append(ad, name);
    auto plain = aead_open(wrap_key, ad, wrapped);
    if (!plain) return std::nullopt;
    auto k = Key::from(*plain);
    sodium_memzero(plain->data(), plain->size());
    return k;
}

Key zone_key(const Key &master, const std::string &zone)
{
    Bytes msg;
    append(msg, kZoneLabel);
    append(msg, zone);
    Key k;
    crypto_generichash(k.b.data(), k.b.size(), msg.data(), msg.size(), master.b.data(), master.b.size());
    return k;
}

Bytes entry_ad(const std::string &user, const std::string &zone, const Uuid &item)
{
    Bytes ad;
    append(ad, kEntryLabel);
    put_be32(ad, static_cast<uint32_t>(user.size()));
    append(ad, user);
    put_be32(ad, static_cast<uint32_t>(zone.size()));
    append(ad, zone);
    ad.insert(ad.end(), item.begin(), item.end());
    return ad;
}

size_t padded_size(size_t n)
{
    size_t bucket = 256;
    while (bucket <= n) bucket *= 2;  // sodium_pad always adds at least one byte
    return bucket;
}

Bytes seal_entry(const Key &zone_key, const Bytes &ad, const std::string &plaintext)
{
    size_t bucket = padded_size(plaintext.size());
    Bytes buf(bucket);
    std::memcpy(buf.data(), plaintext.data(), plaintext.size());
    size_t padded = 0;
    if (sodium_pad(&padded, buf.data(), plaintext.size(), bucket, buf.size()) != 0 || padded != bucket)
        throw Error(Error::Kind::internal, "padding failed");
    Bytes out = aead_seal(zone_key, ad, buf.data(), padded);
    sodium_memzero(buf.data(), buf.size());
    return out;
}

namespace {

// The plaintext of a sealed entry, left in padded (wiped by the caller);
// nullopt as open_entry().
std::optional<size_t> unpadded_length(Bytes &padded)
{
    size_t len = 0;
    // The bucket is the whole padded length (seal_entry pads to exactly it):
    // the next power of two above the plaintext's length, at least 256. In a
    // bucket above 256 the plaintext fills more than half, so the padding is
    // in the last half, and sodium_unpad's constant-time scan need not read
    // the first (a first sync unpads every entry of the vault). A blob padded
    // otherwise is not one this client makes, and is refused like any other.
    size_t block = padded.size();
    if (block > 256 && (block & (block - 1)) == 0) block /= 2;
    if (padded.empty() || sodium_unpad(&len, padded.data(), padded.size(), block) != 0) return std::nullopt;
    return len;
}

}  // namespace

std::optional<std::string> open_entry(const Key &zone_key, const Bytes &ad, const Bytes &blob)
{
    auto padded = aead_open(zone_key, ad, blob);
    if (!padded) return std::nullopt;
    std::optional<std::string> out;
    if (auto len = unpadded_length(*padded)) out.emplace(reinterpret_cast<const char *>(padded->data()), *len);
    sodium_memzero(padded->data(), padded->size());
    return out;
}

bool check_entry(const Key &zone_key, const Bytes &ad, const Bytes &blob, bool (*check)(std::string_view plaintext))
{
    auto padded = aead_open(zone_key, ad, blob);
    if (!padded) return false;
    auto len = unpadded_length(*padded);
    bool ok = false;
    try {
        ok = len && check(std::string_view(reinterpret_cast<const char *>(padded->data()), *len));
    } catch (...) {
        sodium_memzero(padded->data(), padded->size());
        throw;
    }
    sodium_memzero(padded->data(), padded->size());
    return ok;
}

std::string generate_password(size_t n)
{
    static const char kChars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&()*+,-./:;<=>?@[]^_{|}~";
    const uint32_t count = sizeof kChars - 1;
    std::string out;
    for (size_t i = 0; i < n; i++) out += kChars[randombytes_uniform(count)];
    return out;
}

Bytes random_bytes(size_t n)
{
    Bytes b(n);
    randombytes_buf(b.data(), n);
    return b;
}

std::array<uint8_t, 32> sha256(const Bytes &data)
{
    std::array<uint8_t, 32> h;
    crypto_hash_sha256(h.data(), data.data(), data.size());
    return h;
}

}  // namespace credsync::crypto
