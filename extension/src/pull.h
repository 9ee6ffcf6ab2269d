// sync_pull and sync_pull_page (pull.cpp): a zone's records after `since`,
// in the caller's snapshot, appended to a materialized result.
#pragma once
#include "pg.h"

namespace credsync {

// The arguments both share, checked by their SQL entry points.
struct PageRequest {
    Datum key[2];  // user_id, zone (text)
    int64 since;        // 0 or more
    int32 max_records;  // 1..kMaxPullRecords
    bool full_sync;
    // 1.4's entry points (the zones table has deleted_gencount): a since
    // below the zone's last deletion is expired, full sync included.
    bool deleted_zones;
};

// sync_pull's rows (item, gencount, deleted, blob). CS410 for a since the
// zone cannot answer.
void sync_pull(ReturnSetInfo *rsinfo, const PageRequest &q);

// The header row (item NULL, the zone's gencount, more), then the page's
// records cut once their blobs pass max_bytes (-1: no cap; the first record
// always comes).
void sync_pull_page(ReturnSetInfo *rsinfo, const PageRequest &q, int64 max_bytes);

}  // namespace credsync
