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

// The SQL shape both readers below share: one row (bytes, items, NULL, NULL)
// per zone of the user, plus one row (NULL, NULL, max_bytes, max_items) if a
// quota is set. Plain index scans, no aggregate: cheaper to start per push.
#define CREDSYNC_USAGE_AND_QUOTA_ROWS(zone_filter)                                              \
    "SELECT z.bytes, z.items, NULL::pg_catalog.int8, NULL::pg_catalog.int8"                     \
    "  FROM credsync.zones z WHERE z.user_id OPERATOR(pg_catalog.=) $1 AND " zone_filter        \
    " UNION ALL "                                                                              \
    "SELECT NULL, NULL, q.max_bytes, q.max_items"                                              \
    "  FROM credsync.quotas q WHERE q.user_id OPERATOR(pg_catalog.=) $1"

// Sums the rows of CREDSYNC_USAGE_AND_QUOTA_ROWS in SPI_tuptable.
void fold_usage_and_quota(uint64 rows, Quota *quota, Usage *usage);

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
