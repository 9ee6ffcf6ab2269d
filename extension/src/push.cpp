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

extern "C" {
#include "utils/json.h"
}

namespace credsync {

// Bumps the counter by k and takes the zone's row lock (creating the zone on
// its first push). RETURNING gives the new gencount and the aggregates as
// they were before this push.
static Statement allocate = {
    "INSERT INTO credsync.zones AS z (user_id, zone, gencount) VALUES ($1, $2, $3)"
    " ON CONFLICT (user_id, zone)"
    " DO UPDATE SET gencount = z.gencount OPERATOR(pg_catalog.+) EXCLUDED.gencount"
    " RETURNING z.gencount, z.digest, z.items, z.bytes",
    3, {TEXTOID, TEXTOID, INT8OID}, nullptr};

// Gives back the k gencounts allocated by a push that turned out to be a
// replay (we still hold the row lock, so nobody saw them).
static Statement unallocate = {
    "UPDATE credsync.zones SET gencount = gencount OPERATOR(pg_catalog.-) $3"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    3, {TEXTOID, TEXTOID, INT8OID}, nullptr};

// Writes one record and returns the version it replaced (no row if none).
static Statement write_record = {
    "WITH old AS ("
    "  SELECT r.gencount, r.deleted, pg_catalog.octet_length(r.blob) AS len"
    "    FROM credsync.records r"
    "   WHERE r.user_id OPERATOR(pg_catalog.=) $1 AND r.zone OPERATOR(pg_catalog.=) $2"
    "     AND r.item OPERATOR(pg_catalog.=) $3),"
    " written AS ("
    "  INSERT INTO credsync.records AS r (user_id, zone, item, gencount, deleted, blob, written_at)"
    "  VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.now())"
    "  ON CONFLICT (user_id, zone, item) DO UPDATE"
    "  SET gencount = EXCLUDED.gencount, deleted = EXCLUDED.deleted,"
    "      blob = EXCLUDED.blob, written_at = EXCLUDED.written_at)"
    " SELECT gencount, deleted, len FROM old",
    6, {TEXTOID, TEXTOID, UUIDOID, INT8OID, BOOLOID, BYTEAOID}, nullptr};

static Statement store_zone = {
    "UPDATE credsync.zones SET digest = $3, items = $4, bytes = $5"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    5, {TEXTOID, TEXTOID, BYTEAOID, INT8OID, INT8OID}, nullptr};

// --- validation -----------------------------------------------------------

static void generate_uuid(pg_uuid_t *uuid)
{
    if (!pg_strong_random(uuid->data, UUID_LEN))
        elog(ERROR, "credsync: could not generate a random item id");
    uuid->data[6] = (uuid->data[6] & 0x0f) | 0x40;  // version 4
    uuid->data[8] = (uuid->data[8] & 0x3f) | 0x80;  // RFC 4122 variant
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

static void validate(PushRequest &request)
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
    for (int i = 0; i < request.count; i++)
        if (!request.records[i].item_given)
            generate_uuid(&request.records[i].item);
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

static Version write_one(const PushRequest &request, const PushRecord &r, int64 gencount)
{
    Datum values[6] = {
        PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
        UUIDPGetDatum(const_cast<pg_uuid_t *>(&r.item)), Int64GetDatum(gencount),
        BoolGetDatum(r.blob == nullptr), PointerGetDatum(r.blob),
    };
    char nulls[6] = {' ', ' ', ' ', ' ', ' ', r.blob ? ' ' : 'n'};
    Version old = {false, 0, false, 0};
    if (spi_run(write_record, values, nulls, false, SPI_OK_SELECT) == 1) {
        old.exists = true;
        old.gencount = spi_int64(0, 1);
        old.deleted = spi_bool(0, 2);
        old.bytes = spi_int64(0, 3);
    }
    return old;
}

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

PushResult execute_push(PushRequest &request)
{
    validate(request);
    if (request.count == 0) {
        PushResult empty = {0, nullptr, nullptr};
        return empty;
    }
    uint8_t fingerprint[kSha256Bytes];
    if (request.has_op_id)
        request_fingerprint(request, fingerprint);

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "credsync: SPI_connect failed");

    // 1. allocate k gencounts under the zone's row lock
    Datum alloc_values[3] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
                             Int64GetDatum(request.count)};
    spi_run(allocate, alloc_values, nullptr, false, SPI_OK_INSERT_RETURNING);
    int64 last = spi_int64(0, 1);
    int64 first = last - request.count + 1;
    Digest digest;
    bool isnull;
    bytea *stored_digest = DatumGetByteaPP(spi_value(0, 2, &isnull));
    if (VARSIZE_ANY_EXHDR(stored_digest) != kDigestBytes)
        elog(ERROR, "credsync: stored zone digest has the wrong size");
    memcpy(digest.bytes, VARDATA_ANY(stored_digest), kDigestBytes);
    Usage before = {spi_int64(0, 4), spi_int64(0, 3)};
    Usage after = before;

    PushResult result = allocate_result(request.count);
    for (int i = 0; i < request.count; i++) {
        result.items[i] = request.records[i].item;
        result.gencounts[i] = first + i;
    }

    // 2. the op id: remember it, or replay the first push that used it
    if (request.has_op_id && !remember_op(request, fingerprint, result)) {
        PushResult replayed = replay_op(request, fingerprint);
        spi_run(unallocate, alloc_values, nullptr, false, SPI_OK_UPDATE);
        SPI_finish();
        return replayed;
    }

    // 3. write the records, collecting if_match conflicts
    StringInfoData conflicts;
    initStringInfo(&conflicts);
    appendStringInfoChar(&conflicts, '[');
    bool conflicted = false;
    for (int i = 0; i < request.count; i++) {
        const PushRecord &r = request.records[i];
        Version old = write_one(request, r, result.gencounts[i]);
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
            apply_to_digest(digest, r.item, result.gencounts[i], true);
            after.items += 1;
            after.bytes += VARSIZE_ANY_EXHDR(r.blob);
        }
    }
    if (conflicted) {
        appendStringInfoChar(&conflicts, ']');
        raise_with_detail(kConflict, conflicts.data, "if_match failed: the push was not applied");
    }

    // 4. quota, then the zone's new aggregates
    check_quota(request.user_id, request.zone, before, after);
    bytea *new_digest = static_cast<bytea *>(palloc(VARHDRSZ + kDigestBytes));
    SET_VARSIZE(new_digest, VARHDRSZ + kDigestBytes);
    memcpy(VARDATA(new_digest), digest.bytes, kDigestBytes);
    Datum zone_values[5] = {PointerGetDatum(request.user_id), PointerGetDatum(request.zone),
                            PointerGetDatum(new_digest), Int64GetDatum(after.items),
                            Int64GetDatum(after.bytes)};
    spi_run(store_zone, zone_values, nullptr, false, SPI_OK_UPDATE);

    notify_push(request.user_id, request.zone, last);
    SPI_finish();
    return result;
}

}  // namespace credsync
