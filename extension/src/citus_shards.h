// Citus: which relations hold a user's rows on this node.
//
// The push reads and writes through the table and index access methods
// (tables.h), below Citus's planner. On a Citus worker the tables named
// credsync.zones, ... are empty shells; a user's rows are in the shards of
// the user's hash range, credsync.zones_<shardid>, ... So when credsync's
// tables are distributed (credsync.distribute(), docs/scaling.md), the push
// opens those shards instead, once per push, after taking the lock Citus's
// own writes take on the shards' placement metadata (a shard move waits for
// the push, and the push for the move's final switch) and checking that the
// shards are placed on this node.
//
// Plain C-style code: everything here may raise an ERROR. SPI must be
// connected.
#pragma once
#include "pg.h"

namespace credsync {

// The push's tables, in this order.
constexpr int kShardTables = 4;
extern const char *const kShardTableNames[kShardTables];  // zones, records, ops, quotas

// false when credsync's tables are not distributed by Citus here (no
// citus extension, or credsync.zones is not a hash-distributed table):
// open the tables by their names. Otherwise *relids are the shard relations
// of the user's rows, placed on this node. A user whose shards are not here
// is an ERROR: FEATURE_NOT_SUPPORTED on the coordinator (the call was not
// delegated to the user's worker), SERIALIZATION_FAILURE on a worker (the
// shards moved away while the call was routed; retrying reaches their new
// node).
bool citus_user_shards(text *user_id, Oid relids[kShardTables]);

}  // namespace credsync
