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
// user"); returns the number of rows removed. with_login (1.4's drop_user,
// and account_delete): first the user's account, login challenges and
// failure counter, waiting for a login in progress, so that a device it
// creates is removed too (the account's row counts; challenges and counters
// do not); then the zones under the user's lock, and the user is marked
// deleted, so that no push can create a zone of it afterwards
// (deleted_users.h; the mark does not count).
int64 drop_user(text *user_id, bool with_login);

}  // namespace credsync
