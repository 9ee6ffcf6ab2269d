// The write path shared by sync_push, sync_push_many and sync_delete.
//
// One push is one transaction and one pass over its rows, whatever its size
// (docs/design.md): lock the zone's row (held until commit, so commit order
// equals gencount order); replay a known op id; read the versions the
// records replace, check if_match and the quota; then write the records, the
// op id and the zone's counter and aggregates. Rows are read and written
// through the table AM (tables.h), not SQL. Any error aborts the
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
