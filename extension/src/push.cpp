#include "push.h"

#include <algorithm>

#include "deleted_users.h"
#include "digest.h"
#include "errors.h"
#include "guard.h"
#include "notify_payload.h"
#include "oplog.h"
#include "quota.h"
#include "settings.h"
#include "spi.h"
#include "tables.h"

extern "C" {
#include "access/detoast.h"
#include "access/xact.h"
#include "tcop/utility.h"
#include "utils/snapmgr.h"
}

namespace credsync {

// A zone's row is created by its first push; ON CONFLICT DO NOTHING waits
// for (and then defers to) a concurrent push that creates it too. Rare
// enough to go through SPI.
static Statement create_zone = {
    "INSERT INTO credsync.zones (user_id, zone) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    2, {TEXTOID, TEXTOID}, nullptr};

// --- checking the request ---------------------------------------------------

// Random version-4 ids for the records that came without one, drawn in one
// call (the random source has a per-call cost).
static void generate_missing_items(PushRequest &request)
{
    int missing = 0;
    for (int i = 0; i < request.count; i++)
        missing += !request.records[i].item_given;
    if (missing == 0)
        return;
    uint8_t *random = static_cast<uint8_t *>(palloc(static_cast<size_t>(missing) * UUID_LEN));
    if (!pg_strong_random(random, static_cast<size_t>(missing) * UUID_LEN))
        elog(ERROR, "credsync: could not generate random item ids");
    const uint8_t *next = random;
    for (int i = 0; i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records
        if (request.records[i].item_given)
            continue;
        uint8_t *id = request.records[i].item.data;
        memcpy(id, next, UUID_LEN);
        next += UUID_LEN;
        id[6] = (id[6] & 0x0f) | 0x40;  // version 4
        id[8] = (id[8] & 0x3f) | 0x80;  // RFC 4122 variant
    }
    pfree(random);
}

static bool uuid_less(const pg_uuid_t &a, const pg_uuid_t &b)
{
    return memcmp(a.data, b.data, UUID_LEN) < 0;
}

static bool has_duplicate_items(const PushRequest &request)
{
    pg_uuid_t *given = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t) * request.count));
    int n = 0;
    for (int i = 0; i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records
        if (request.records[i].item_given)
            given[n++] = request.records[i].item;
    }
    bool duplicate = false;
    run_guarded("duplicate item check", [&] {
        std::sort(given, given + n, uuid_less);
        for (int i = 1; i < n && !duplicate; i++)
            duplicate = memcmp(given[i - 1].data, given[i].data, UUID_LEN) == 0;
    });
    pfree(given);
    return duplicate;
}

// Checks the request (CS400/CS413 before anything is written) and gives the
// new items their ids.
static void prepare(PushRequest &request)
{
    if (request.count > settings.max_batch_records)
        raise_with_detail(kTooLarge, psprintf("max_batch_records=%d", settings.max_batch_records),
                          "the push has more records than credsync.max_batch_records");
    for (int i = 0; i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records
        PushRecord &r = request.records[i];
        if (!r.item_given && r.blob == nullptr)
            raise_bad_argument(request.item_argument, "a delete needs an item id");
        if (r.has_if_match && r.if_match < 0)
            raise_bad_argument("if_match", "if_match must be NULL, 0 or a gencount");
        if (r.blob && VARSIZE_ANY_EXHDR(r.blob) > static_cast<size_t>(settings.max_blob_bytes))
            raise_with_detail(kTooLarge, psprintf("max_blob_bytes=%d", settings.max_blob_bytes),
                              "a blob is larger than credsync.max_blob_bytes");
    }
    if (has_duplicate_items(request))
        raise_bad_argument(request.item_argument, "an item appears more than once in one push");
    generate_missing_items(request);
}

// --- if_match conflicts ---------------------------------------------------

struct Version {
    bool exists;
    int64 gencount;
    bool deleted;
    int64 bytes;
};

static bool if_match_holds(const PushRecord &r, const Version &old)
{
    if (!r.has_if_match)
        return true;
    if (r.if_match == 0)
        return !old.exists || old.deleted;
    return old.exists && old.gencount == r.if_match;
}

static void add_conflict(StringInfo conflicts, const pg_uuid_t &item, const Version &old)
{
    char *uuid = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(const_cast<pg_uuid_t *>(&item))));
    appendStringInfo(conflicts, "%s{\"item\": \"%s\", \"gencount\": " INT64_FORMAT ", \"deleted\": %s}",
                     conflicts->len > 1 ? ", " : "", uuid, old.exists ? old.gencount : 0,
                     old.exists && old.deleted ? "true" : "false");
}

// --- the push -------------------------------------------------------------

static void apply_to_digest(Digest &digest, const pg_uuid_t &item, int64 gencount, bool add)
{
    uint8_t term[kDigestBytes];
    if (!record_term(item.data, gencount, term))
        elog(ERROR, "credsync: SHA-256 failed");
    if (add)
        digest.add(term);
    else
        digest.subtract(term);
}

static PushResult allocate_result(int count)
{
    PushResult result;
    result.count = count;
    result.items = static_cast<pg_uuid_t *>(SPI_palloc(sizeof(pg_uuid_t) * Max(count, 1)));
    result.gencounts = static_cast<int64 *>(SPI_palloc(sizeof(int64) * Max(count, 1)));
    return result;
}

static ArrayType *item_array(const PushRequest &request)
{
    Datum *items = static_cast<Datum *>(palloc(sizeof(Datum) * request.count));
    for (int i = 0; i < request.count; i++)
        items[i] = UUIDPGetDatum(&request.records[i].item);
    return construct_array(items, request.count, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
}

static ArrayType *gencount_array(int64 first, int count)
{
    Datum *gencounts = static_cast<Datum *>(palloc(sizeof(Datum) * count));
    for (int i = 0; i < count; i++)
        gencounts[i] = Int64GetDatum(first + i);
    return construct_array(gencounts, count, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
}

// Where the push finds the columns it reads and writes. Records and ops rows
// are written whole, so those tables must have exactly these columns.
struct ZoneColumns {
    int zone, gencount, digest, items, bytes;
};
struct RecordColumns {
    int user_id, zone, item, gencount, deleted, blob, written_at, replaced_gencount, replaced_deleted,
        replaced_bytes;
};
struct OpColumns {
    int user_id, zone, op_id, request_sha256, items, gencounts, created_at;
};

static void expect_columns(const Table &table, int count)
{
    TupleDesc desc = RelationGetDescr(table.rel);
    int live = 0;
    for (int i = 0; i < desc->natts; i++)
        live += !TupleDescAttr(desc, i)->attisdropped;
    if (live != count)
        elog(ERROR, "credsync: table %s does not have the columns this library writes",
             RelationGetRelationName(table.rel));
}

static ZoneColumns zone_columns(const Table &t)
{
    return {column_of(t, "zone"), column_of(t, "gencount"), column_of(t, "digest"), column_of(t, "items"),
            column_of(t, "bytes")};
}

static RecordColumns record_columns(const Table &t)
{
    expect_columns(t, 10);
    return {column_of(t, "user_id"),          column_of(t, "zone"),
            column_of(t, "item"),             column_of(t, "gencount"),
            column_of(t, "deleted"),          column_of(t, "blob"),
            column_of(t, "written_at"),       column_of(t, "replaced_gencount"),
            column_of(t, "replaced_deleted"), column_of(t, "replaced_bytes")};
}

static OpColumns op_columns(const Table &t)
{
    expect_columns(t, 7);
    return {column_of(t, "user_id"),        column_of(t, "zone"),  column_of(t, "op_id"),
            column_of(t, "request_sha256"), column_of(t, "items"), column_of(t, "gencounts"),
            column_of(t, "created_at")};
}

// Takes the zone's row lock, creating the zone on its first push. The lock
// is held to the end of the transaction: the zone's writers queue here, so
// gencounts are allocated in commit order. (compact.cpp's
// lock_zone_for_update takes the same lock through SQL, for a zone that
// exists.)
//
// Only the creation path asks whether the user was deleted (a push into a
// zone that exists pays nothing for it): a zone a deletion removed while
// this push waited for its row lock is not found again, and so comes here
// too (deleted_users.h).
static void lock_or_create_zone(PushTables &t, const PushRequest &request)
{
    Datum key[2] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone)};
    if (lock_by_key(t.zones, key))
        return;
    refuse_zone_if_user_deleted(request.user_id);
    for (int attempt = 0; !lock_by_key(t.zones, key); attempt++) {
        if (attempt == 3)
            elog(ERROR, "credsync: the zone was removed each time it was created");
        spi_run(create_zone, key, nullptr, false, SPI_OK_INSERT);
        CommandCounterIncrement();  // so that the lock sees the new row
    }
}

// The version of the item the push replaces, and where it is.
static Version current_version(PushTables &t, const RecordColumns &c, const PushRequest &request,
                               const PushRecord &r, ItemPointerData *tid)
{
    Datum key[3] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
                    UUIDPGetDatum(const_cast<pg_uuid_t *>(&r.item))};
    Version v = {false, 0, false, 0};
    if (!find_by_key(t.records, key))
        return v;
    bool blob_null;
    Datum blob = column_value(t.records.found, c.blob, &blob_null);
    v.exists = true;
    v.gencount = column_int64(t.records.found, c.gencount);
    bool deleted_null;
    v.deleted = DatumGetBool(column_value(t.records.found, c.deleted, &deleted_null));
    v.bytes = blob_null ? 0 : static_cast<int64>(toast_raw_datum_size(blob) - VARHDRSZ);
    *tid = t.records.found->tts_tid;
    return v;
}

// The usage of the user's other zones and the quota in force, as committed
// now (a concurrent push to another zone may not be counted: the documented
// bound on quota overshoot, docs/sql-api.md).
static void read_others_and_quota(PushTables &t, const ZoneColumns &zc, const PushRequest &request, Quota *quota,
                                  Usage *others)
{
    Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
    Datum user[1] = {PointerGetDatum(request.user_id)};
    others->bytes = others->items = 0;
    IndexScanDesc scan = begin_key_scan(t.zones, user, 1, snapshot);
    while (next_row(scan, t.zones)) {
        CHECK_FOR_INTERRUPTS();  // the user's zones: no limit
        bool isnull;
        Datum zone_datum = column_value(t.zones.scanned, zc.zone, &isnull);
        if (isnull)
            elog(ERROR, "credsync: a zone row has no zone");
        text *zone = DatumGetTextPP(zone_datum);
        if (VARSIZE_ANY_EXHDR(zone) == VARSIZE_ANY_EXHDR(request.zone) &&
            memcmp(VARDATA_ANY(zone), VARDATA_ANY(request.zone), VARSIZE_ANY_EXHDR(zone)) == 0)
            continue;
        others->bytes += column_int64(t.zones.scanned, zc.bytes);
        others->items += column_int64(t.zones.scanned, zc.items);
    }
    index_endscan(scan);

    *quota = quota_in_force((Datum)0, true, (Datum)0, true);
    scan = begin_key_scan(t.quotas, user, 1, snapshot);
    if (next_row(scan, t.quotas)) {
        bool bytes_null, items_null;
        Datum max_bytes = column_value(t.quotas.scanned, column_of(t.quotas, "max_bytes"), &bytes_null);
        Datum max_items = column_value(t.quotas.scanned, column_of(t.quotas, "max_items"), &items_null);
        *quota = quota_in_force(max_bytes, bytes_null, max_items, items_null);
    }
    index_endscan(scan);
    UnregisterSnapshot(snapshot);
}

static void write_record(PushTables &t, const RecordColumns &c, const PushRequest &request, const PushRecord &r,
                         int64 gencount, const Version &old, const ItemPointerData &tid, TimestampTz now)
{
    Table &records = t.records;
    start_row(records);
    set_column(records, c.user_id, PointerGetDatum(request.user_id));
    set_column(records, c.zone, PointerGetDatum(request.zone));
    set_column(records, c.item, UUIDPGetDatum(const_cast<pg_uuid_t *>(&r.item)));
    set_column(records, c.gencount, Int64GetDatum(gencount));
    set_column(records, c.deleted, BoolGetDatum(r.blob == nullptr));
    if (r.blob)
        set_column(records, c.blob, PointerGetDatum(r.blob));
    set_column(records, c.written_at, TimestampTzGetDatum(now));
    if (old.exists) {
        set_column(records, c.replaced_gencount, Int64GetDatum(old.gencount));
        set_column(records, c.replaced_deleted, BoolGetDatum(old.deleted));
        set_column(records, c.replaced_bytes, Int32GetDatum(static_cast<int32>(old.bytes)));
    }
    finish_row(records);
    if (old.exists)
        update_row(&t, records, tid);
    else
        insert_row(&t, records);
}

static void remember_op(PushTables &t, const PushRequest &request, const uint8_t fingerprint[kSha256Bytes],
                        int64 first, TimestampTz now)
{
    OpColumns c = op_columns(t.ops);
    start_row(t.ops);
    set_column(t.ops, c.user_id, PointerGetDatum(request.user_id));
    set_column(t.ops, c.zone, PointerGetDatum(request.zone));
    set_column(t.ops, c.op_id, UUIDPGetDatum(const_cast<pg_uuid_t *>(&request.op_id)));
    set_column(t.ops, c.request_sha256, PointerGetDatum(bytes_as_bytea(fingerprint, kSha256Bytes)));
    set_column(t.ops, c.items, PointerGetDatum(item_array(request)));
    set_column(t.ops, c.gencounts, PointerGetDatum(gencount_array(first, request.count)));
    set_column(t.ops, c.created_at, TimestampTzGetDatum(now));
    finish_row(t.ops);
    insert_row(&t, t.ops);
}

// The zone's row with its new counter and aggregates; other columns as they were.
static void store_zone(PushTables &t, const ZoneColumns &c, int64 last, const Digest &digest, Usage after)
{
    Table &zones = t.zones;
    TupleTableSlot *old = zones.found;
    slot_getallattrs(old);
    start_row(zones);
    for (int i = 0; i < old->tts_tupleDescriptor->natts; i++) {
        zones.row->tts_values[i] = old->tts_values[i];
        zones.row->tts_isnull[i] = old->tts_isnull[i];
    }
    set_column(zones, c.gencount, Int64GetDatum(last));
    set_column(zones, c.digest, PointerGetDatum(bytes_as_bytea(digest.bytes, kDigestBytes)));
    set_column(zones, c.items, Int64GetDatum(after.items));
    set_column(zones, c.bytes, Int64GetDatum(after.bytes));
    finish_row(zones);
    update_row(&t, zones, old->tts_tid);
}

static void read_zone(PushTables &t, const ZoneColumns &c, int64 *gencount, Digest *digest, Usage *usage)
{
    bool isnull;
    *gencount = column_int64(t.zones.found, c.gencount);
    Datum digest_datum = column_value(t.zones.found, c.digest, &isnull);
    if (isnull)
        elog(ERROR, "credsync: the stored zone digest is NULL");
    bytea *stored = DatumGetByteaPP(digest_datum);
    if (VARSIZE_ANY_EXHDR(stored) != kDigestBytes)
        elog(ERROR, "credsync: stored zone digest has the wrong size");
    memcpy(digest->bytes, VARDATA_ANY(stored), kDigestBytes);
    usage->bytes = column_int64(t.zones.found, c.bytes);
    usage->items = column_int64(t.zones.found, c.items);
}

// A known op id: its remembered result (or CS422), from the row just found.
static PushResult replay(PushTables &t, const PushRequest &request, const uint8_t fingerprint[kSha256Bytes])
{
    OpColumns c = op_columns(t.ops);
    bool sha_null, items_null, gencounts_null;
    Datum sha = column_value(t.ops.found, c.request_sha256, &sha_null);
    Datum items = column_value(t.ops.found, c.items, &items_null);
    Datum gencounts = column_value(t.ops.found, c.gencounts, &gencounts_null);
    if (sha_null || items_null || gencounts_null)
        elog(ERROR, "credsync: a remembered op id has NULL columns");
    return replay_op(request, fingerprint, DatumGetByteaPP(sha), DatumGetArrayTypeP(items),
                     DatumGetArrayTypeP(gencounts));
}

PushResult execute_push(PushRequest &request)
{
    // The executor refuses writes in a read-only transaction (and on a
    // standby) for SQL; this path does not go through it.
    PreventCommandIfReadOnly("a credsync push");
    PreventCommandIfParallelMode("a credsync push");
    prepare(request);
    if (request.count == 0) {
        PushResult empty = {0, nullptr, nullptr};
        return empty;
    }
    uint8_t fingerprint[kSha256Bytes];
    if (request.has_op_id)
        request_fingerprint(request, fingerprint);

    spi_connect();
    PushTables t;
    open_push_tables(&t, request.user_id);
    lock_or_create_zone(t, request);
    if (request.has_op_id) {
        Datum op_key[3] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
                           UUIDPGetDatum(&request.op_id)};
        if (find_by_key(t.ops, op_key)) {
            PushResult replayed = replay(t, request, fingerprint);
            close_push_tables(&t);
            SPI_finish();
            return replayed;
        }
    }

    ZoneColumns zc = zone_columns(t.zones);
    RecordColumns rc = record_columns(t.records);
    int64 last;
    Digest digest;
    Usage before;
    read_zone(t, zc, &last, &digest, &before);
    int64 first = last + 1;
    last += request.count;
    Usage after = before;

    // 1. read the versions the push replaces; check if_match; new aggregates
    Version *old = static_cast<Version *>(palloc(sizeof(Version) * request.count));
    ItemPointerData *where = static_cast<ItemPointerData *>(palloc0(sizeof(ItemPointerData) * request.count));
    PushResult result = allocate_result(request.count);
    StringInfoData conflicts;
    initStringInfo(&conflicts);
    appendStringInfoChar(&conflicts, '[');
    bool conflicted = false;
    for (int i = 0; i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records
        const PushRecord &r = request.records[i];
        // An id generated for this push is new: no version to look for (the
        // primary key would still refuse a duplicate).
        old[i] = r.item_given ? current_version(t, rc, request, r, &where[i]) : Version{false, 0, false, 0};
        result.items[i] = r.item;
        result.gencounts[i] = first + i;
        if (!if_match_holds(r, old[i])) {
            add_conflict(&conflicts, r.item, old[i]);
            conflicted = true;
            continue;
        }
        if (old[i].exists && !old[i].deleted) {
            apply_to_digest(digest, r.item, old[i].gencount, false);
            after.items -= 1;
            after.bytes -= old[i].bytes;
        }
        if (r.blob) {
            apply_to_digest(digest, r.item, first + i, true);
            after.items += 1;
            after.bytes += VARSIZE_ANY_EXHDR(r.blob);
        }
    }
    if (conflicted) {
        appendStringInfoChar(&conflicts, ']');
        raise_with_detail(kConflict, conflicts.data, "if_match failed: the push was not applied");
    }
    if (usage_grows(before, after)) {
        Quota quota;
        Usage others;
        read_others_and_quota(t, zc, request, &quota, &others);
        check_quota(quota, others, before, after);
    }

    // 2. write the records, the op id, the zone's counter and aggregates
    t.estate->es_output_cid = GetCurrentCommandId(true);
    TimestampTz now = GetCurrentTransactionStartTimestamp();  // now(), as the SQL functions use
    for (int i = 0; i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records
        write_record(t, rc, request, request.records[i], first + i, old[i], where[i], now);
    }
    if (request.has_op_id)
        remember_op(t, request, fingerprint, first, now);
    store_zone(t, zc, last, digest, after);
    CommandCounterIncrement();  // later statements of this transaction see the push
    close_push_tables(&t);

    notify_push(request.user_id, request.zone, last);
    SPI_finish();
    return result;
}

}  // namespace credsync
