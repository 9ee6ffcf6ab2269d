// Row access for the push path without the planner or the executor.
//
// A push touches a handful of rows found by primary key. Going through SPI
// costs a plan-cache lookup, an executor start-up and shut-down per
// statement, which the profile showed to be most of a push (docs/
// performance.md). Instead the push reads and writes through the table and
// index access methods directly, with the executor's helpers for single rows
// that logical replication's apply worker uses (ExecSimpleRelationInsert /
// ExecSimpleRelationUpdate): constraints are checked, every index is
// maintained, TOAST and WAL are the table AM's as for any other write.
//
// Plain C-style code: everything here may raise an ERROR, and everything it
// opens is released by the transaction's resource owner if it does.
#pragma once
#include "pg.h"

extern "C" {
#include "access/genam.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
}

namespace credsync {

struct Table {
    Relation rel;
    Relation key;               // its primary key index
    ResultRelInfo *info;
    TupleTableSlot *found;      // the row a lookup returned
    TupleTableSlot *scanned;    // the rows of a key scan (found stays as it is)
    TupleTableSlot *row;        // a row to insert or to update with (virtual)
    TupleTableSlot *target;     // virtual; carries the TID of the row to update
    // Primary-key probes reuse one index scan: equality keys set up once per
    // push, a dirty snapshot (it also sees rows being written), a rescan per
    // probe. A batch probes once per record.
    ScanKeyData keys[INDEX_MAX_KEYS];
    int nkeys;
    SnapshotData dirty;
    IndexScanDesc probe;
};

struct PushTables {
    EState *estate;
    EPQState epq;
    Table zones;
    Table records;
    Table ops;
    Table quotas;  // read only: rel, key and scanned
};

// Opens credsync.zones, records and ops for writing (RowExclusiveLock, kept
// to the end of the transaction, as for any INSERT or UPDATE) and quotas for
// reading; on Citus, their shards that hold `user_id`'s rows
// (citus_shards.h). SPI must be connected.
void open_push_tables(PushTables *t, text *user_id);
void close_push_tables(PushTables *t);

// The 0-based position of a column in the table's rows; an ERROR if the
// table has no such column.
int column_of(const Table &table, const char *name);

// Locks the newest version of the row with this primary key for update
// (waiting for a writer that holds it) and leaves it in table.found; false
// if there is no such row. Under REPEATABLE READ or SERIALIZABLE a row the
// transaction's snapshot cannot see is a serialization failure, as for
// INSERT ... ON CONFLICT DO UPDATE.
bool lock_by_key(Table &table, const Datum *key);

// The newest committed (or own) version of the row with this primary key,
// in table.found, without locking it: only for rows whose writers all hold
// a lock the caller holds too (the zone's row lock for its records and ops).
bool find_by_key(Table &table, const Datum *key);

// An index scan over the rows whose key starts with `nkeys` values, as seen
// by `snapshot`; rows come out in table.scanned.
IndexScanDesc begin_key_scan(Table &table, const Datum *key, int nkeys, Snapshot snapshot);
bool next_row(IndexScanDesc scan, Table &table);

// Inserts table.row / replaces the row at `tid` with table.row.
void insert_row(PushTables *t, Table &table);
void update_row(PushTables *t, Table &table, const ItemPointerData &tid);

// Makes table.row an empty row to fill in; every column starts NULL.
void start_row(Table &table);
void set_column(Table &table, int column, Datum value);
void finish_row(Table &table);

// Column `column` (0-based) of a row in one of the table's slots
// (table.found, table.scanned).
Datum column_value(TupleTableSlot *row, int column, bool *isnull);
int64 column_int64(TupleTableSlot *row, int column);  // NULL reads as 0

}  // namespace credsync
