#include "push.h"

#include <algorithm>

#include "digest.h"
#include "errors.h"
#include "guard.h"
#include "notify.h"
#include "oplog.h"
#include "quota.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

// Statement 1: allocate, (remember the op id,) write the records.
//
// `zone` bumps the counter by k and takes the zone's row lock (creating the
// zone on its first push); RETURNING gives the new gencount and the
// aggregates as they were. `written` upserts the records with consecutive
// gencounts in array order; ON CONFLICT locks the newest version of each
// item, and its SET copies that version into replaced_* so that RETURNING
// reports what was replaced. With an op id, `op` first remembers it with its
// result; if the op id is already known (also when a concurrent retry
// committed it while we waited for the lock) it inserts nothing and no record
// is written: a replay. Pushes without an op id use a plan without `op`:
// every plan node costs time to start.
#define ALLOCATE_CTE                                                                              \
    "zone AS ("                                                                                 \
    "  INSERT INTO credsync.zones AS z (user_id, zone, gencount) VALUES ($1, $2, $3)"           \
    "  ON CONFLICT (user_id, zone)"                                                             \
    "  DO UPDATE SET gencount = z.gencount OPERATOR(pg_catalog.+) EXCLUDED.gencount"            \
    "  RETURNING z.gencount, z.digest, z.items, z.bytes)"

#define REMEMBER_OP_CTE                                                                           \
    "op AS ("                                                                                   \
    "  INSERT INTO credsync.ops (user_id, zone, op_id, request_sha256, items, gencounts)"       \
    "  SELECT $1, $2, $6, $7, $4,"                                                              \
    "         ARRAY(SELECT pg_catalog.generate_series("                                         \
    "               zone.gencount OPERATOR(pg_catalog.-) $3 OPERATOR(pg_catalog.+) 1, zone.gencount))" \
    "    FROM zone"                                                                             \
    "  ON CONFLICT DO NOTHING RETURNING 1)"

#define WRITE_RECORDS_CTE(condition)                                                              \
    "written AS ("                                                                              \
    "  INSERT INTO credsync.records AS r (user_id, zone, item, gencount, deleted, blob, written_at)" \
    "  SELECT $1, $2, u.item, zone.gencount OPERATOR(pg_catalog.-) $3 OPERATOR(pg_catalog.+) u.ord," \
    "         u.blob IS NULL, u.blob, pg_catalog.now()"                                         \
    "    FROM zone, ROWS FROM (pg_catalog.unnest($4), pg_catalog.unnest($5))"                   \
    "         WITH ORDINALITY AS u(item, blob, ord)"                                            \
    "   WHERE " condition                                                                       \
    "  ON CONFLICT (user_id, zone, item) DO UPDATE"                                             \
    "  SET gencount = EXCLUDED.gencount, deleted = EXCLUDED.deleted, blob = EXCLUDED.blob,"     \
    "      written_at = EXCLUDED.written_at, replaced_gencount = r.gencount,"                   \
    "      replaced_deleted = r.deleted, replaced_bytes = pg_catalog.octet_length(r.blob)"      \
    "  RETURNING r.gencount, r.replaced_gencount, r.replaced_deleted, r.replaced_bytes)"

#define WRITE_RESULT_COLUMNS                                                                      \
    " SELECT zone.gencount, zone.digest, zone.items, zone.bytes,"                               \
    "        w.gencount, w.replaced_gencount, w.replaced_deleted, w.replaced_bytes"

static Statement write_push = {
    "WITH " ALLOCATE_CTE ", " WRITE_RECORDS_CTE("true") WRITE_RESULT_COLUMNS
    " FROM zone, written w",
    5, {TEXTOID, TEXTOID, INT8OID, UUIDARRAYOID, BYTEAARRAYOID}, nullptr};

// One row with NULL record columns when the op id was known (a replay).
static Statement write_push_with_op = {
    "WITH " ALLOCATE_CTE ", " REMEMBER_OP_CTE ", " WRITE_RECORDS_CTE("EXISTS (SELECT FROM op)")
    WRITE_RESULT_COLUMNS " FROM zone LEFT JOIN written w ON true",
    7, {TEXTOID, TEXTOID, INT8OID, UUIDARRAYOID, BYTEAARRAYOID, UUIDOID, BYTEAOID}, nullptr};

// A replay: give back the k gencounts (we still hold the row lock, so
// nobody saw them).
static Statement unallocate = {
    "UPDATE credsync.zones SET gencount = gencount OPERATOR(pg_catalog.-) $3"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    3, {TEXTOID, TEXTOID, INT8OID}, nullptr};

// Statement 2, when the push does not grow the zone's usage.
static Statement store_zone = {
    "UPDATE credsync.zones SET digest = $3, items = $4, bytes = $5"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    5, {TEXTOID, TEXTOID, BYTEAOID, INT8OID, INT8OID}, nullptr};

// Statement 2, when it does: also reads the user's other zones and quota.
static Statement store_zone_read_quota = {
    "WITH stored AS ("
    "  UPDATE credsync.zones SET digest = $3, items = $4, bytes = $5"
    "   WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2) "
    CREDSYNC_USAGE_AND_QUOTA_ROWS("z.zone OPERATOR(pg_catalog.<>) $2"),
    5, {TEXTOID, TEXTOID, BYTEAOID, INT8OID, INT8OID}, nullptr};

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
    for (int i = 0; i < request.count; i++)
        if (request.records[i].item_given)
            given[n++] = request.records[i].item;
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

static ArrayType *blob_array(const PushRequest &request)
{
    if (request.blob_array)
        return request.blob_array;
    Datum *blobs = static_cast<Datum *>(palloc(sizeof(Datum) * request.count));
    bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * request.count));
    for (int i = 0; i < request.count; i++) {
        blobs[i] = PointerGetDatum(request.records[i].blob);
        nulls[i] = request.records[i].blob == nullptr;
    }
    int dims[1] = {request.count};
    int lbs[1] = {1};
    return construct_md_array(blobs, nulls, 1, dims, lbs, BYTEAOID, -1, false, TYPALIGN_INT);
}

// The version a written record replaced, from columns 6..8 of write_push.
static Version replaced_version(uint64 row)
{
    bool absent;
    spi_value(row, 6, &absent);
    Version old = {false, 0, false, 0};
    if (!absent) {
        old.exists = true;
        old.gencount = spi_int64(row, 6);
        old.deleted = spi_bool(row, 7);
        old.bytes = spi_int64(row, 8);
    }
    return old;
}

PushResult execute_push(PushRequest &request)
{
    prepare(request);
    if (request.count == 0) {
        PushResult empty = {0, nullptr, nullptr};
        return empty;
    }
    uint8_t fingerprint[kSha256Bytes];
    if (request.has_op_id)
        request_fingerprint(request, fingerprint);
    Datum write_values[7] = {
        PointerGetDatum(request.user_id), PointerGetDatum(request.zone), Int64GetDatum(request.count),
        PointerGetDatum(item_array(request)), PointerGetDatum(blob_array(request)),
        UUIDPGetDatum(&request.op_id),
        request.has_op_id ? PointerGetDatum(bytes_as_bytea(fingerprint, kSha256Bytes)) : (Datum)0};

    spi_connect();

    // 1. allocate k gencounts under the zone's row lock, remember the op id,
    //    write the records
    uint64 rows = spi_run(request.has_op_id ? write_push_with_op : write_push, write_values, nullptr, false,
                          SPI_OK_SELECT);
    int64 last = spi_int64(0, 1);
    int64 first = last - request.count + 1;
    bool replay = false;
    if (request.has_op_id)
        spi_value(0, 5, &replay);  // no record written: the op id was already known
    if (replay) {
        PushResult replayed = replay_op(request, fingerprint);
        spi_run(unallocate, write_values, nullptr, false, SPI_OK_UPDATE);
        SPI_finish();
        return replayed;
    }
    if (rows != static_cast<uint64>(request.count))
        elog(ERROR, "credsync: wrote " UINT64_FORMAT " records of %d", rows, request.count);

    Digest digest;
    bool isnull;
    bytea *stored_digest = DatumGetByteaPP(spi_value(0, 2, &isnull));
    if (VARSIZE_ANY_EXHDR(stored_digest) != kDigestBytes)
        elog(ERROR, "credsync: stored zone digest has the wrong size");
    memcpy(digest.bytes, VARDATA_ANY(stored_digest), kDigestBytes);
    Usage before = {spi_int64(0, 4), spi_int64(0, 3)};
    Usage after = before;

    PushResult result = allocate_result(request.count);
    StringInfoData conflicts;
    initStringInfo(&conflicts);
    appendStringInfoChar(&conflicts, '[');
    bool conflicted = false;
    // Walk the records in push order (RETURNING order is not promised).
    int64 *row_of = static_cast<int64 *>(palloc(sizeof(int64) * request.count));
    for (uint64 row = 0; row < rows; row++)
        row_of[spi_int64(row, 5) - first] = static_cast<int64>(row);
    for (int i = 0; i < request.count; i++) {
        const PushRecord &r = request.records[i];
        Version old = replaced_version(row_of[i]);
        result.items[i] = r.item;
        result.gencounts[i] = first + i;
        if (!if_match_holds(r, old)) {
            add_conflict(&conflicts, r.item, old);
            conflicted = true;
            continue;
        }
        if (old.exists && !old.deleted) {
            apply_to_digest(digest, r.item, old.gencount, false);
            after.items -= 1;
            after.bytes -= old.bytes;
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

    // 2. the zone's new aggregates, and the quota when usage grows
    Datum store_values[5] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
                             PointerGetDatum(bytes_as_bytea(digest.bytes, kDigestBytes)),
                             Int64GetDatum(after.items), Int64GetDatum(after.bytes)};
    if (usage_grows(before, after)) {
        uint64 quota_rows = spi_run(store_zone_read_quota, store_values, nullptr, false, SPI_OK_SELECT);
        Quota quota;
        Usage others;
        fold_usage_and_quota(quota_rows, &quota, &others);
        check_quota(quota, others, before, after);
    } else {
        spi_run(store_zone, store_values, nullptr, false, SPI_OK_UPDATE);
    }

    notify_push(request.user_id, request.zone, last);
    SPI_finish();
    return result;
}

}  // namespace credsync
