// Read-only views of a user's data. Each appends its rows to a
// materialized result set up by its SQL entry point; reads run in the
// caller's snapshot.
#pragma once
#include "pg.h"

namespace credsync {

void sync_state(ReturnSetInfo *rsinfo, text *user_id, text *zone);  // an unknown zone: zeros
// hide_deleted (1.4's entry point): leaves out zones deleted with no push
// since (zone_delete.cpp).
void sync_zones(ReturnSetInfo *rsinfo, text *user_id, bool hide_deleted);
// 1.5: the zones sync_zones (1.4) lists, each with sync_state's columns.
void sync_zone_states(ReturnSetInfo *rsinfo, text *user_id);
void sync_account(ReturnSetInfo *rsinfo, text *user_id);

}  // namespace credsync
