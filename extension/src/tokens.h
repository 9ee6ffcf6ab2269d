// Bearer tokens (tokens.cpp). Only a token's SHA-256 is stored; every
// lookup is by that hash.
#pragma once
#include "pg.h"

namespace credsync {

// A new token for the user, with an optional label; palloc'd.
text *issue_token(text *user_id, Datum label, bool label_null);
// True if a live token was revoked (listeners are then told: credsync_tokens).
bool revoke_token(text *token);
// The user of a live token, or nullptr; from the token text, or from its
// SHA-256 (32 bytes, checked by the caller).
text *token_user(text *token);
text *token_user_by_hash(bytea *token_sha256);

}  // namespace credsync
