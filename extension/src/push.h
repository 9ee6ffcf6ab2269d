// The write path shared by sync_push, sync_push_many and sync_delete.
//
// One push, in one transaction:
//   1. allocate: bump the zone's gencount by k under its row lock (the lock
//      is held until commit, so commit order equals gencount order);
//   2. remember the op id (if any) with its result, or replay the first one;
//   3. write each record, reading the version it replaces;
//   4. check if_match and the quota, then store the zone's new digest and
//      usage. Any error aborts the transaction: nothing is applied, no
//      gencount is spent.
#pragma once
#include "pg.h"

namespace credsync {

struct PushRecord {
    pg_uuid_t item;      // generated when the client gave none
    bool item_given;
    bytea *blob;         // detoasted; nullptr writes a tombstone
    bool has_if_match;
    int64 if_match;
};

struct PushRequest {
    text *user_id;
    text *zone;
    int count;
    PushRecord *records;
    bool has_op_id;
    pg_uuid_t op_id;
    const char *item_argument;  // "item_id" or "item_ids", for CS400 details
};

struct PushResult {
    int count;
    pg_uuid_t *items;
    int64 *gencounts;
};

// Validates and applies the push; the result is allocated in the caller's
// memory context.
PushResult execute_push(PushRequest &request);

}  // namespace credsync
