// Administrator functions: set_quota, drop_user. Arguments are checked by
// their SQL entry points (sql_functions.cpp).
#pragma once
#include "pg.h"

namespace credsync {

struct OptionalLimit {
    bool isnull;  // NULL: the credsync.default_* setting
    int64 value;  // 0 or more
};

// Sets the user's quota; both limits NULL removes it.
void set_quota(text *user_id, OptionalLimit max_bytes, OptionalLimit max_items);

// Removes all of the user's zones, records, op ids, tokens and quota, after
// waiting for the pushes that hold its zones (docs/sql-api.md, "Removing a
// user"); returns the number of rows removed.
int64 drop_user(text *user_id);

}  // namespace credsync
