// verify_zone (1.1, admin): a zone's aggregates recomputed from its records.
#pragma once
#include "pg.h"

namespace credsync {

// Appends one row (max_gencount, digest, items, bytes, matches) to the
// materialized result.
void verify_zone(ReturnSetInfo *rsinfo, text *user_id, text *zone);

}  // namespace credsync
