// Devices (devices.cpp, 1.4): every token is a device, with an id, a label,
// when it was created and last used. A revoked device is gone from the
// user's list (token_list, admin, still shows it). Arguments are checked by
// the SQL entry points (sql_functions.cpp).
#pragma once
#include "pg.h"

namespace credsync {

// At most one row (user_id, device) for the live token with this SHA-256
// (32 bytes). Records last_seen when it is a minute old or more, unless the
// transaction is read-only (a standby) or another call holds the row.
void token_identity(ReturnSetInfo *rsinfo, bytea *token_sha256);

// The user's live devices (id, label, created, last_seen), oldest first.
void device_list(ReturnSetInfo *rsinfo, text *user_id);

// Revokes the user's live device; false when the user has none with this id
// (another user's id included).
bool device_revoke(text *user_id, const pg_uuid_t *device);

// Admin: every token of the user, revoked ones too (device, label, created,
// last_seen, revoked), oldest first.
void token_list(ReturnSetInfo *rsinfo, text *user_id);

// Admin: revokes the user's live tokens, only those with this label unless
// label is nullptr; returns how many.
int32 token_revoke_all(text *user_id, text *label);

}  // namespace credsync
