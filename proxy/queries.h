// Every SQL statement the proxy sends: the only place where HTTP becomes SQL.
// Each calls one function of PROTOCOL.md's SQL API in schema credsync.
#pragma once

#include "pool.h"

#include <string>
#include <vector>

namespace credsync::queries {

extern const Statement token_user;      // $1 the token's SHA-256 (binary) -> user or NULL
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

// The names of the credsync functions the statements above call, read from
// their SQL (for --check: the proxy's role must be allowed to run each).
// Every statement above must be listed in queries.cpp's `all`.
std::vector<std::string> functions_called();

}  // namespace credsync::queries
