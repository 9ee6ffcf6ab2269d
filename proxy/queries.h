// Every SQL statement the proxy sends: the only place where HTTP becomes SQL.
// Each calls one function of PROTOCOL.md's SQL API in schema credsync.
#pragma once

#include "pool.h"

#include <string>
#include <vector>

namespace credsync::queries {

extern const Statement token_identity;  // $1 the token's SHA-256 (binary) -> user, device (no row: unknown)
extern const Statement issue_token;     // $1 user, $2 label -> token
extern const Statement account;         // $1 user -> bytes, items, max_bytes, max_items
extern const Statement limits;          // -> max_blob_bytes, max_batch_records (settings text)
extern const Statement zones;           // $1 user -> zone, gencount, items, bytes
extern const Statement zone_state;      // $1 user, $2 zone -> gencount, digest, items, bytes, horizon
extern const Statement push_many;       // $1 user, $2 zone, $3 uuid[], $4 bytea[] (binary), $5 int8[], $6 uuid
extern const Statement pull_page;       // $1 user, $2 zone, $3 since, $4 limit, $5 full,
                                        // $6 max page bytes -> header row, records
extern const Statement notify_key;      // $1 user, $2 zone -> the zone's NOTIFY channel key
extern const Statement delete_item;     // $1 user, $2 zone, $3 item, $4 if_match, $5 op_id
extern const Statement ping;            // SELECT 1

// Accounts, login and devices (extension 1.4). Bytes are binary bytea
// parameters; bytes in answers come as bytea text (\x + hex).
extern const Statement account_create;  // $1 name, $2 login_key, $3 salt, $4 ops, $5 mem, $6 wrapped_key,
                                        // $7 label -> user, device, token
extern const Statement login_challenge; // $1 name -> challenge, salt, ops, mem, expires_in
extern const Statement login;           // $1 name, $2 challenge, $3 signature, $4 label
                                        // -> result, user, device, token, wrapped_key, retry_after
extern const Statement device_list;     // $1 user -> id, label, created, last_seen (RFC 3339 UTC text)
extern const Statement device_revoke;   // $1 user, $2 device -> boolean
extern const Statement set_login;       // $1 user, $2 login_key, $3 salt, $4 ops, $5 mem, $6 wrapped_key,
                                        // $7 logout_others, $8 keep_device -> devices revoked
extern const Statement zone_delete;     // $1 user, $2 zone -> records removed
extern const Statement account_delete;  // $1 user, $2 challenge, $3 signature -> result, removed, retry_after

// The names of the credsync functions the statements above call, read from
// their SQL (for --check: the proxy's role must be allowed to run each).
// Every statement above must be listed in queries.cpp's `all`.
std::vector<std::string> functions_called();

}  // namespace credsync::queries
