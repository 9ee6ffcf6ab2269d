// The write path shared by sync_push, sync_push_many and sync_delete.
//
// One push is one transaction and two statements, whatever its size:
//   1. write: bump the zone's gencount by k under its row lock (held until
//      commit, so commit order equals gencount order), remember the op id,
//      and upsert the k records, each reporting the version it replaced;
//   2. store: the zone's new digest, items and bytes (reading the user's
//      other zones and quota when the push grows usage).
// if_match and the quota are checked between the two; any error aborts the
// transaction: nothing is applied, no gencount is spent.
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
    ArrayType *blob_array;      // the caller's bytea[] if it has one, else nullptr
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
