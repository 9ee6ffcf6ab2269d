// Bearer tokens (tokens.cpp). Only a token's SHA-256 is stored; every
// lookup is by that hash.
#pragma once
#include "pg.h"

namespace credsync {

// A new token for the user, with an optional label; palloc'd.
text *issue_token(text *user_id, Datum label, bool label_null);
// 1.4: a new token for the user as a device with an optional label
// (nullptr: none); its id goes to *device. SPI must be connected; the token
// is palloc'd in the current memory context.
text *issue_device_token(text *user_id, text *label, pg_uuid_t *device);
// True if a live token was revoked (listeners are then told: credsync_tokens).
bool revoke_token(text *token);
// The user of a live token, or nullptr; from the token text, or from its
// SHA-256 (32 bytes, checked by the caller).
text *token_user(text *token);
text *token_user_by_hash(bytea *token_sha256);

}  // namespace credsync
