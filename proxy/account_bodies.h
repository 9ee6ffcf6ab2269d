// The small JSON bodies of the accounts routes (issues 11 and 16), read
// strictly, as pure functions (no I/O): the server calls them (accounts.cpp)
// and so does the fuzzer (test/fuzz/). Every refusal is ApiError 400 naming
// the field, so that a typo or a wrong length never reaches the database
// (where a login attempt would count against the name's limit).
//
// Common rules: the body is one JSON object (no NUL byte, nothing nested
// deeper than the kdf object); a key given twice anywhere is refused, and so
// is an unknown field (the first in byte order is named). Byte strings are
// canonical standard base64 (codec.h) of the exact length the field has.
// Then the fields are checked in the order their struct lists them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace credsync {

// What a client derives from the password: sent at signup and at a password
// change. Bounds as extension 1.4 checks them (docs/sql-api.md).
struct LoginSecrets {
    std::string login_key;    // 32 bytes: the Ed25519 public key that signs logins
    std::string salt;         // 16 bytes
    long long kdf_ops = 0;    // kdf: {"alg": "argon2id13", "ops": 1..20, "mem": 8 MiB..4 GiB}
    long long kdf_mem = 0;
    std::string wrapped_key;  // 1..4096 bytes, opaque
};

// POST /v1/accounts {"name", "login_key", "salt", "kdf", "wrapped_key", "device"?}
struct CreateAccountRequest {
    std::string name;
    LoginSecrets login;
    std::optional<std::string> device;  // the first device's label; absent or null: none
};
CreateAccountRequest parse_create_account(std::string_view body);

// POST /v1/login/challenge {"name"}
std::string parse_challenge_request(std::string_view body);

// POST /v1/login {"name", "challenge", "signature", "device"?}
struct LoginRequest {
    std::string name;
    std::string challenge;  // 32 bytes
    std::string signature;  // 64 bytes
    std::optional<std::string> device;
};
LoginRequest parse_login(std::string_view body);

// PUT /v1/account/login {"login_key", "salt", "kdf", "wrapped_key", "logout_others"?}
struct SetLoginRequest {
    LoginSecrets login;
    bool logout_others = false;  // absent: false
};
SetLoginRequest parse_set_login(std::string_view body);

// DELETE /v1/account, body {"challenge", "signature"}: both or neither; an
// empty body is neither (a user without an account needs no proof).
struct DeleteAccountRequest {
    std::optional<std::string> challenge;  // 32 bytes
    std::optional<std::string> signature;  // 64 bytes
};
DeleteAccountRequest parse_delete_account(std::string_view body);

// A user id (an account's name): 1 to 256 bytes, no control characters
// (C0, DEL, C1), as PROTOCOL.md says.
bool is_user_id(std::string_view s);

}  // namespace credsync
