// Accounts (accounts.cpp, 1.4): creating one, replacing its login, deleting
// it with all of its user's data. Arguments are checked by the SQL entry
// points (sql_functions.cpp).
#pragma once
#include "pg.h"

namespace credsync {

constexpr int kLoginKeyBytes = 32;
constexpr int kMaxWrappedKeyBytes = 4096;

// What the client derived from the password: all the server keeps of it.
struct AccountLogin {
    bytea *login_key;    // 32 bytes: the Ed25519 public key
    bytea *salt;         // 16 bytes
    int64 kdf_ops;       // kMinKdfOps..kMaxKdfOps
    int64 kdf_mem;       // kMinKdfMem..kMaxKdfMem
    bytea *wrapped_key;  // 1..4096 bytes
};

// One row (user_id, device, token): the account and its first device.
// CSA09 if the name is an account already or has any zone or token (a new
// signup never adopts someone's data).
void account_create(ReturnSetInfo *rsinfo, text *name, const AccountLogin &login, text *device_label);

// Replaces the account's login; with logout_others revokes every live device
// of the user except keep_device (nullptr: all). Returns the devices
// revoked. CS400 (user_id) when the user has no account.
int32 account_set_login(text *user_id, const AccountLogin &login, bool logout_others, const pg_uuid_t *keep_device);

// One row (result, removed, retry_after). A user with an account must prove
// the password (login_proof.h; challenge and signature nullptr: CS400); a
// user without one (tokens only) needs no proof. On 'ok', everything of the
// user goes as drop_user removes it.
void account_delete(ReturnSetInfo *rsinfo, text *user_id, bytea *challenge, bytea *signature);

}  // namespace credsync
