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

// The quota in force for the user (set_quota, else the default settings)
// and the user's usage in zones other than `zone` (all zones if zone is
// nullptr). SPI must be connected.
void read_quota_and_usage(text *user_id, text *zone, bool read_only, Quota *quota, Usage *others);

// Raises CS507 if a push that changes the zone's usage from `before` to
// `after` grows past the user's quota. SPI must be connected.
void check_quota(text *user_id, text *zone, Usage before, Usage after);

}  // namespace credsync
