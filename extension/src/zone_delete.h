// zone_delete (zone_delete.cpp, 1.4): a user removes one of their zones.
#pragma once
#include "pg.h"

namespace credsync {

// Under the zone's row lock (after a push that holds it commits): removes
// the zone's records, tombstones included, and op ids; the zone's row stays,
// empty, its gencount raised by one (the deletion's own, so that no cursor
// handed out before it stays valid) and its horizon and deleted_gencount set
// to that. Returns the records removed; an unknown zone, or one deleted with
// no push since, is left as it is (0).
int64 zone_delete(text *user_id, text *zone);

}  // namespace credsync
