// Everything cryptographic the client does, as thin wrappers over libsodium
// (no primitive is implemented here). The formats are specified in
// docs/client.md ("Cryptography"); changing one breaks every existing vault.
#pragma once

#include "bytes.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace credsync::crypto {

// Call once before anything else (Vault does).
void init();

// A 32-byte secret key, wiped when it goes away.
struct Key {
    std::array<uint8_t, 32> b{};
    Key() = default;
    Key(const Key &o) : b(o.b) {}
    Key &operator=(const Key &o) { b = o.b; return *this; }
    ~Key();
    static Key random();
    static std::optional<Key> from(const Bytes &bytes);
    Bytes bytes() const { return Bytes(b.begin(), b.end()); }
};

// Argon2id parameters as the accounts API carries them:
// {"alg": "argon2id13", "ops": n, "mem": bytes}.
struct Kdf {
    unsigned long long ops = 0;
    size_t mem = 0;
    // libsodium's presets: "interactive", "moderate", "sensitive".
    static std::optional<Kdf> preset(const std::string &name);
    nlohmann::json to_json() const;
    // Refuses another algorithm and costs outside sane bounds (a hostile
    // server must not make the client allocate gigabytes or spin for hours).
    static Kdf from_json(const nlohmann::json &j);
};

constexpr size_t kSaltBytes = 16;

// password + salt + kdf -> Argon2id -> 64 bytes: the first 32 seed the login
// key pair, the last 32 wrap the master key.
struct Derived {
    Key login_seed;
    Key wrap_key;
};
Derived derive(const std::string &password, const Bytes &salt, const Kdf &kdf);

struct LoginKeys {
    std::array<uint8_t, 32> pk{};
    std::array<uint8_t, 64> sk{};
    ~LoginKeys();
};
LoginKeys login_keys(const Key &seed);
// The message signed at login: "credsync login v1\n" || challenge || name.
Bytes login_message(const Bytes &challenge, const std::string &name);
Bytes sign(const LoginKeys &keys, const Bytes &message);

// The master key sealed with the wrap key (XChaCha20-Poly1305, associated
// data "credsync master key v1\n" || name): 0x01 || nonce(24) || ciphertext.
Bytes wrap_master(const Key &wrap_key, const Key &master, const std::string &name);
// nullopt when the wrap key is wrong (a wrong password) or the data was altered.
std::optional<Key> unwrap_master(const Key &wrap_key, const Bytes &wrapped, const std::string &name);

// The key of one zone: BLAKE2b-256 keyed with the master key over
// "credsync zone key v1\n" || zone.
Key zone_key(const Key &master, const std::string &zone);

// The associated data of an entry blob: it binds the ciphertext to its place.
// "credsync entry v1\n" || be32(len user) || user || be32(len zone) || zone || item(16).
Bytes entry_ad(const std::string &user, const std::string &zone, const Uuid &item);
// Pads the plaintext to its size bucket and seals it:
// 0x01 || nonce(24) || XChaCha20-Poly1305(padded, ad).
Bytes seal_entry(const Key &zone_key, const Bytes &ad, const std::string &plaintext);
// nullopt when the blob does not authenticate for this place (tampered,
// swapped, moved, or sealed with another key) or is malformed.
std::optional<std::string> open_entry(const Key &zone_key, const Bytes &ad, const Bytes &blob);
// The same opening, the plaintext lent to check() and wiped after, not copied
// (a first sync checks every entry of a vault and keeps none): false where
// open_entry() gives nullopt, else what check() says.
bool check_entry(const Key &zone_key, const Bytes &ad, const Bytes &blob, bool (*check)(std::string_view plaintext));
// The padded size of a plaintext of n bytes: the next power of two above n,
// at least 256.
size_t padded_size(size_t n);
// Bytes a sealed entry adds to the padded plaintext.
constexpr size_t kSealOverhead = 1 + 24 + 16;

// A random password of n characters from letters, digits and punctuation.
std::string generate_password(size_t n);

Bytes random_bytes(size_t n);

// SHA-256.
std::array<uint8_t, 32> sha256(const Bytes &data);

}  // namespace credsync::crypto
