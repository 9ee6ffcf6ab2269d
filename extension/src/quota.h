// Per-user quotas over all of a user's zones. Only growth is checked: a
// delete or a shrinking update always goes through, even over quota.
#pragma once
#include "pg.h"

namespace credsync {

struct Usage {
    int64 bytes;
    int64 items;
};

struct Quota {
    int64 max_bytes;
    int64 max_items;
};

// The quota in force for a user whose credsync.quotas row has these limits;
// a NULL limit (or no row: pass both as NULL) is the credsync.default_* setting.
Quota quota_in_force(Datum max_bytes, bool max_bytes_null, Datum max_items, bool max_items_null);

// The quota in force for the user and their usage over all zones.
// SPI must be connected; reads in the caller's snapshot.
void read_account(text *user_id, Quota *quota, Usage *usage);

// Raises CS507 if a push that changed its zone's usage from `before` to
// `after` makes the user's usage (others + after) exceed the quota in a
// dimension that grew. `others` is the usage of the user's other zones.
void check_quota(Quota quota, Usage others, Usage before, Usage after);

inline bool usage_grows(Usage before, Usage after)
{
    return after.bytes > before.bytes || after.items > before.items;
}

}  // namespace credsync
