// Logging in to an account (login.cpp): a challenge, then its signature
// (login_proof.h) for a new device token. Arguments are checked by the SQL
// entry points (sql_functions.cpp).
#pragma once
#include "pg.h"

namespace credsync {

// The Argon2id cost handed out for a name without an account (libsodium's
// "moderate"), and the bounds an account's cost must keep.
constexpr int64 kDefaultKdfOps = 3;
constexpr int64 kDefaultKdfMem = 268435456;  // 256 MiB
constexpr int64 kMinKdfOps = 1, kMaxKdfOps = 20;
constexpr int64 kMinKdfMem = 8388608;       // 8 MiB
constexpr int64 kMaxKdfMem = 4294967296;    // 4 GiB
constexpr int kSaltBytes = 16;

// One row (challenge, salt, kdf_ops, kdf_mem, expires_in). The challenge
// (32 random bytes) is stored for the name, known or not; an unknown name
// gets a deterministic fake salt and the default cost, so both answers have
// the same shape.
void login_challenge(ReturnSetInfo *rsinfo, text *name);

// One row (result, user_id, device, token, wrapped_key, retry_after): on
// 'ok' a new device (token with the label, nullptr: none) and the account's
// wrapped key; on 'failed' or 'too_many_attempts' (retry_after) NULLs.
void login(ReturnSetInfo *rsinfo, text *name, bytea *challenge, bytea *signature, text *device_label);

}  // namespace credsync
