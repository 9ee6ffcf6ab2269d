// What credsync notifies, and with which payload (delivery after commit is
// notify_worker.h).
//
// Keyed notifications: each committed push sends NOTIFY credsync with
// payload "<key> <gencount>", where key = notify_key(user_id, zone) is the
// first 16 bytes, in hex, of HMAC-SHA-256(installation secret,
// user_id || 0x00 || zone). Listeners can match a zone's key without
// learning, or being able to confirm a guess of, the user id.
#pragma once
#include "pg.h"

namespace credsync {

constexpr int kNotifyKeyHexChars = 32;

// The key as a palloc'd NUL-terminated string. SPI must be connected.
char *notify_key_for(text *user_id, text *zone);

// Queues the notification (sent at commit) if credsync.notify is on.
// SPI must be connected.
void notify_push(text *user_id, text *zone, int64 gencount);

// NOTIFY credsync_tokens (empty payload) when the transaction commits: a
// token was revoked or removed. Listeners that cache token answers (the
// proxy) forget them. Sent whatever credsync.notify says.
void notify_tokens_changed();

}  // namespace credsync
