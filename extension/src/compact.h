// Compaction, shared by compact() (one transaction) and compact_batched()
// (a procedure that commits after each batch of zones). SPI must be
// connected; everything here may raise an ERROR.
#pragma once
#include "pg.h"

namespace credsync {

struct CompactCutoffs {
    TimestampTz tombstones;  // tombstones written before this go
    TimestampTz ops;         // op ids created before this go
};

// The cutoffs for `keep` (CS400 if negative), from the transaction's start
// time: the larger of keep and credsync.op_retention for op ids.
CompactCutoffs compact_cutoffs(const Interval *keep);

// The zones that have tombstones older than the cutoff, in key order, read
// a chunk at a time.
struct ZoneCursor {
    Portal portal;
    SPITupleTable *chunk;  // the zone keys fetched last, until used up
    uint64 rows, next;
    bool finished;         // the cursor has no more rows
    bool pinned;           // kept across commits
};
ZoneCursor open_zones_to_compact(const CompactCutoffs &cutoffs);
// Makes the cursor survive SPI_commit (PostgreSQL then materializes its
// remaining rows in a tuplestore, spilled to disk past work_mem).
void keep_across_commits(ZoneCursor *cursor);
void close_zones_to_compact(ZoneCursor *cursor);

// Compacts up to max_zones more zones of the cursor, one at a time: locks
// the zone's row (held until the transaction ends), removes its old
// tombstones, raises its horizon. Returns the tombstones removed;
// *zones_done is the number of zones taken from the cursor (fewer than
// max_zones: the cursor is used up). No SPI result is left behind.
int64 compact_next_zones(ZoneCursor *cursor, const CompactCutoffs &cutoffs, int64 max_zones, int64 *zones_done);

// Removes the op ids older than the cutoff: all of them, or at most `limit`.
int64 forget_old_ops(const CompactCutoffs &cutoffs);
int64 forget_some_old_ops(const CompactCutoffs &cutoffs, int32 limit);

// What SECURITY DEFINER and SET search_path would do, for a procedure that
// commits (PostgreSQL refuses COMMIT in a procedure that has either): run as
// the function's owner with search_path = pg_catalog, pg_temp, from
// become_owner() to stop_being_owner(), which must come before each commit.
// An ERROR in between needs nothing: the transaction's abort restores both.
struct OwnerContext {
    Oid owner;
    Oid saved_user;
    int saved_security;
    int guc_level;
};
Oid function_owner(Oid function);
void become_owner(OwnerContext *context);
void stop_being_owner(OwnerContext *context);

}  // namespace credsync
