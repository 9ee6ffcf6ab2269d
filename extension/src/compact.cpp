// Compaction: compact() in the caller's transaction, compact_batched() in
// batches of zones, each batch its own transaction (docs/operations.md,
// "Compaction on a schedule", says what each locks and for how long).
//
// Both also remove the marks of users deleted more than an hour ago
// (deleted_users.h), expired login challenges and login-failure counters
// whose window has passed (login_challenge sweeps only its own name's:
// login.cpp), none of which the return value counts. On Citus, run through
// the coordinator, every statement is one Citus can distribute: the zone
// list is a multi-shard read, each zone's compaction one shard's, and the
// sweeps take two steps (sweep.h).
//
// Both walk the zones that have tombstones older than the cutoff through a
// cursor, in key order, and compact one zone at a time: lock its row, remove
// its old tombstones, raise its horizon. Every SPI result is freed as soon as
// it is read, so memory does not grow with the number of zones: the cursor
// holds a chunk of zone keys, and the sort behind it spills to disk past
// work_mem.
#include "compact.h"

#include "deleted_users.h"
#include "errors.h"
#include "settings.h"
#include "spi.h"
#include "sweep.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "utils/portal.h"
#include "utils/syscache.h"
}

namespace credsync {

struct CompactCutoffs {
    TimestampTz tombstones;  // tombstones written before this go
    TimestampTz ops;         // op ids created before this go
};

// The zones that have tombstones older than the cutoff, in key order, read
// a chunk at a time.
struct ZoneCursor {
    Portal portal;
    SPITupleTable *chunk;  // the zone keys fetched last, until used up
    uint64 rows, next;
    bool finished;         // the cursor has no more rows
    bool pinned;           // kept across commits
};

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

// Zones with tombstones older than the cutoff, in key order: zones are
// locked in this order, so two compactions cannot deadlock, and a push
// (which locks one zone) only ever waits for one zone's compaction.
static Statement zones_to_compact = {
    "SELECT DISTINCT user_id, zone FROM credsync.records"
    " WHERE deleted AND written_at OPERATOR(pg_catalog.<) $1"
    " ORDER BY user_id, zone",
    1, {TIMESTAMPTZOID}, nullptr};

static Statement lock_zone_for_update = {
    "SELECT 1 FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2 FOR UPDATE",
    2, {TEXTOID, TEXTOID}, nullptr};

static Statement compact_zone = {
    "WITH removed AS ("
    "  DELETE FROM credsync.records"
    "   WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2"
    "     AND deleted AND written_at OPERATOR(pg_catalog.<) $3"
    "  RETURNING gencount),"
    " raised AS ("
    "  UPDATE credsync.zones"
    "     SET horizon = pg_catalog.int8larger(horizon, (SELECT pg_catalog.max(gencount) FROM removed))"
    "   WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2"
    "     AND EXISTS (SELECT FROM removed))"
    " SELECT pg_catalog.count(*) FROM removed",
    3, {TEXTOID, TEXTOID, TIMESTAMPTZOID}, nullptr};

static Statement forget_ops = {
    "DELETE FROM credsync.ops WHERE created_at OPERATOR(pg_catalog.<) $1", 1, {TIMESTAMPTZOID}, nullptr};

// At most $2 old op ids (compact_batched: one batch).
static Statement forget_some_ops = {
    "DELETE FROM credsync.ops o USING ("
    "  SELECT user_id, zone, op_id FROM credsync.ops WHERE created_at OPERATOR(pg_catalog.<) $1 LIMIT $2) old"
    " WHERE o.user_id OPERATOR(pg_catalog.=) old.user_id AND o.zone OPERATOR(pg_catalog.=) old.zone"
    "   AND o.op_id OPERATOR(pg_catalog.=) old.op_id",
    2, {TIMESTAMPTZOID, INT4OID}, nullptr};

// Zone keys are fetched from the cursor this many at a time.
constexpr long kZoneChunk = 100;

static TimestampTz now_minus(const Interval *age)
{
    return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval,
                                                   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
                                                   PointerGetDatum(age)));
}

static bool interval_negative(const Interval *span)
{
    Interval zero = {0, 0, 0};
    return DatumGetBool(DirectFunctionCall2(interval_lt, PointerGetDatum(span), PointerGetDatum(&zero)));
}

// The cutoffs for `keep` (CS400 if negative), from the transaction's start
// time: the larger of keep and credsync.op_retention for op ids.
void compact_check_keep(const Interval *keep)
{
    if (interval_negative(keep))
        raise_bad_argument("keep", "keep must not be negative");
}

static CompactCutoffs compact_cutoffs(const Interval *keep)
{
    compact_check_keep(keep);
    CompactCutoffs cutoffs;
    cutoffs.tombstones = now_minus(keep);
    // Op ids are kept for the larger of keep and credsync.op_retention.
    Interval retention = {static_cast<TimeOffset>(settings.op_retention_seconds) * USECS_PER_SEC, 0, 0};
    cutoffs.ops = Min(cutoffs.tombstones, now_minus(&retention));
    return cutoffs;
}

// Locks one zone's row (held to the end of the transaction), removes its
// tombstones older than the cutoff and raises its horizon. Returns the
// number of tombstones removed. Frees what SPI returned.
static int64 compact_one_zone(Datum user_id, Datum zone, TimestampTz cutoff)
{
    Datum key[3] = {user_id, zone, TimestampTzGetDatum(cutoff)};
    spi_run(lock_zone_for_update, key, nullptr, false, SPI_OK_SELECT);
    SPI_freetuptable(SPI_tuptable);
    spi_run(compact_zone, key, nullptr, false, SPI_OK_SELECT);
    int64 removed = spi_int64(0, 1);
    SPI_freetuptable(SPI_tuptable);
    return removed;
}

static ZoneCursor open_zones_to_compact(const CompactCutoffs &cutoffs)
{
    Datum values[1] = {TimestampTzGetDatum(cutoffs.tombstones)};
    ZoneCursor cursor = {spi_cursor_open(zones_to_compact, values, nullptr, false), nullptr, 0, 0, false, false};
    return cursor;
}

// Makes the cursor survive SPI_commit (PostgreSQL then materializes its
// remaining rows in a tuplestore, spilled to disk past work_mem).
static void keep_across_commits(ZoneCursor *cursor)
{
    PinPortal(cursor->portal);
    cursor->pinned = true;
}

static void close_zones_to_compact(ZoneCursor *cursor)
{
    if (cursor->chunk)
        SPI_freetuptable(cursor->chunk);
    cursor->chunk = nullptr;
    if (cursor->pinned)
        UnpinPortal(cursor->portal);
    SPI_cursor_close(cursor->portal);
}

// Compacts up to max_zones more zones of the cursor, one at a time. Returns
// the tombstones removed; *zones_done is the number of zones taken from the
// cursor (fewer than max_zones: the cursor is used up). No SPI result is
// left behind.
static int64 compact_next_zones(ZoneCursor *cursor, const CompactCutoffs &cutoffs, int64 max_zones, int64 *zones_done)
{
    int64 removed = 0;
    *zones_done = 0;
    while (*zones_done < max_zones) {
        if (cursor->next == cursor->rows) {
            if (cursor->finished)
                break;
            // No chunk outlives the batch it was fetched for: compact_batched
            // commits between batches.
            long wanted = static_cast<long>(Min(static_cast<int64>(kZoneChunk), max_zones - *zones_done));
            SPI_cursor_fetch(cursor->portal, true, wanted);
            cursor->chunk = SPI_tuptable;
            cursor->rows = SPI_processed;
            cursor->next = 0;
            cursor->finished = SPI_processed < static_cast<uint64>(wanted);
            if (cursor->rows == 0)
                break;
        }
        CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum user_id = spi_value(cursor->chunk, cursor->next, 1, &isnull);
        Datum zone = spi_value(cursor->chunk, cursor->next, 2, &isnull);
        cursor->next++;
        removed += compact_one_zone(user_id, zone, cutoffs.tombstones);
        *zones_done += 1;
        if (cursor->next == cursor->rows) {
            SPI_freetuptable(cursor->chunk);
            cursor->chunk = nullptr;
        }
    }
    return removed;
}

// Removes the op ids older than the cutoff: all of them, or at most `limit`.
static int64 forget_old_ops(const CompactCutoffs &cutoffs)
{
    Datum values[1] = {TimestampTzGetDatum(cutoffs.ops)};
    return static_cast<int64>(spi_run(forget_ops, values, nullptr, false, SPI_OK_DELETE));
}

static int64 forget_some_old_ops(const CompactCutoffs &cutoffs, int32 limit)
{
    Datum values[2] = {TimestampTzGetDatum(cutoffs.ops), Int32GetDatum(limit)};
    return static_cast<int64>(spi_run(forget_some_ops, values, nullptr, false, SPI_OK_DELETE));
}

// --- running as the procedure's owner -------------------------------------

static Oid function_owner(Oid function)
{
    HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(function));
    if (!HeapTupleIsValid(tuple))
        elog(ERROR, "credsync: cache lookup failed for function %u", function);
    Oid owner = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple))->proowner;
    ReleaseSysCache(tuple);
    return owner;
}

static void become_owner(OwnerContext *context)
{
    GetUserIdAndSecContext(&context->saved_user, &context->saved_security);
    SetUserIdAndSecContext(context->owner, context->saved_security | SECURITY_LOCAL_USERID_CHANGE);
    context->guc_level = NewGUCNestLevel();
    (void)set_config_option("search_path", "pg_catalog, pg_temp", superuser() ? PGC_SUSET : PGC_USERSET,
                            PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

static void stop_being_owner(OwnerContext *context)
{
    AtEOXact_GUC(true, context->guc_level);
    SetUserIdAndSecContext(context->saved_user, context->saved_security);
}

// --- the two entry points ---------------------------------------------------

int64 compact(const Interval *keep)
{
    CompactCutoffs cutoffs = compact_cutoffs(keep);
    spi_connect();
    ZoneCursor cursor = open_zones_to_compact(cutoffs);
    int64 zones;
    int64 removed = compact_next_zones(&cursor, cutoffs, PG_INT64_MAX, &zones);
    close_zones_to_compact(&cursor);
    removed += forget_old_ops(cutoffs);
    (void)forget_old_deleted_users(0);  // not counted: neither tombstones nor op ids
    (void)sweep_expired_login_rows(0);
    SPI_finish();
    return removed;
}

int64 compact_batched(const Interval *keep, int32 batch, Oid procedure)
{
    CompactCutoffs cutoffs = compact_cutoffs(keep);  // from the first transaction's start
    OwnerContext owner = {function_owner(procedure), InvalidOid, 0, 0};
    if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
        elog(ERROR, "credsync: SPI_connect_ext failed");
    become_owner(&owner);
    ZoneCursor cursor = open_zones_to_compact(cutoffs);
    keep_across_commits(&cursor);
    int64 removed = 0;
    for (;;) {
        int64 zones;
        removed += compact_next_zones(&cursor, cutoffs, batch, &zones);
        stop_being_owner(&owner);
        if (zones == 0)
            break;
        SPI_commit();  // releases the batch's zone locks
        become_owner(&owner);
    }
    close_zones_to_compact(&cursor);
    for (;;) {
        become_owner(&owner);
        int64 forgotten = forget_some_old_ops(cutoffs, batch);
        stop_being_owner(&owner);
        SPI_commit();
        removed += forgotten;
        if (forgotten < batch)
            break;
    }
    for (;;) {
        become_owner(&owner);
        int64 forgotten = forget_old_deleted_users(batch);  // not counted, as in compact()
        stop_being_owner(&owner);
        SPI_commit();
        if (forgotten < batch)
            break;
    }
    for (;;) {
        become_owner(&owner);
        int64 forgotten = sweep_expired_login_rows(batch);  // not counted either; both kinds
        stop_being_owner(&owner);
        SPI_commit();
        if (forgotten < batch)
            break;
    }
    SPI_finish();
    return removed;
}

}  // namespace credsync
