// Deleted users (1.4): the user's lock and the mark a deletion leaves
// (deleted_users.h says why).
#include "deleted_users.h"

#include "spi.h"
#include "sweep.h"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
}

namespace credsync {

// The user's lock is an advisory-type lock tag (pg_locks: locktype
// advisory, objsubid kUserLockClass): pg_advisory_lock() and friends use
// classes 1 and 2 only, so no application lock can meet it. Two user ids
// whose 64-bit hashes are equal share a lock: they then wait for each
// other's deletions, nothing worse.
constexpr uint16 kUserLockClass = 0x4353;  // "CS"

static void lock_user(text *user_id, LOCKMODE mode)
{
    uint64 hash = hash_bytes_extended(reinterpret_cast<const unsigned char *>(VARDATA_ANY(user_id)),
                                      static_cast<int>(VARSIZE_ANY_EXHDR(user_id)), 0);
    LOCKTAG tag;
    SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, static_cast<uint32>(hash >> 32), static_cast<uint32>(hash),
                         kUserLockClass);
    (void)LockAcquire(&tag, mode, false, false);  // to the end of the transaction
}

static Statement upsert_mark = {
    "INSERT INTO credsync.deleted_users (user_id, deleted_at) VALUES ($1, pg_catalog.clock_timestamp())"
    " ON CONFLICT (user_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at",
    1, {TEXTOID}, nullptr};

static Statement recently_deleted = {
    "SELECT FROM credsync.deleted_users WHERE user_id OPERATOR(pg_catalog.=) $1"
    " AND deleted_at OPERATOR(pg_catalog.>) (pg_catalog.clock_timestamp()"
    "     OPERATOR(pg_catalog.-) '" CREDSYNC_DELETED_USER_RETENTION "'::pg_catalog.interval)",
    1, {TEXTOID}, nullptr};

static Statement delete_mark = {
    "DELETE FROM credsync.deleted_users WHERE user_id OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

// The user's zones, as text (NULL: none).
static Statement zone_names = {
    "SELECT pg_catalog.array_agg(zone ORDER BY zone)::pg_catalog.text FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1",
    1, {TEXTOID}, nullptr};

bool have_deleted_users()
{
    Oid schema = get_namespace_oid("credsync", true);
    return OidIsValid(schema) && OidIsValid(get_relname_relid("deleted_users", schema));
}

static char *zones_seen(text *user_id, bool latest)
{
    Datum key[1] = {PointerGetDatum(user_id)};
    // Not read_only: both see what this transaction did so far.
    if (latest)
        spi_run_latest(zone_names, key, nullptr, false, SPI_OK_SELECT);
    else
        spi_run(zone_names, key, nullptr, false, SPI_OK_SELECT);
    char *zones = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
    SPI_freetuptable(SPI_tuptable);
    return zones;
}

void lock_user_for_deletion(text *user_id)
{
    lock_user(user_id, ExclusiveLock);
    // From here on no zone of the user can be created by anyone else. Under
    // READ COMMITTED each of the deletion's statements takes a new snapshot
    // and sees every zone; a transaction snapshot may predate a zone whose
    // push held the lock until a moment ago.
    if (!IsolationUsesXactSnapshot())
        return;
    char *in_snapshot = zones_seen(user_id, false);
    char *now = zones_seen(user_id, true);
    if ((in_snapshot == nullptr) != (now == nullptr) || (now != nullptr && strcmp(in_snapshot, now) != 0))
        ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                        errmsg("could not serialize access due to a concurrent push"),
                        errdetail("A push created a zone of the user after this transaction's snapshot.")));
}

void mark_user_deleted(text *user_id)
{
    Datum key[1] = {PointerGetDatum(user_id)};
    spi_run_latest(upsert_mark, key, nullptr, false, SPI_OK_INSERT);
}

void refuse_zone_if_user_deleted(text *user_id)
{
    if (!have_deleted_users())
        return;
    lock_user(user_id, ShareLock);
    // A snapshot taken after the lock: it sees the mark of a deletion that
    // we waited for, whatever the isolation level.
    Datum key[1] = {PointerGetDatum(user_id)};
    if (spi_run_latest(recently_deleted, key, nullptr, true, SPI_OK_SELECT) > 0)
        ereport(ERROR, (errcode(kUserDeleted), errmsg("the user has been deleted"),
                        errdetail_internal("user_id"),
                        errhint("issue_token() or account_create() of the user id starts it again; without "
                                "either, pushes that would create a zone are refused for "
                                CREDSYNC_DELETED_USER_RETENTION " after the deletion.")));
}

void forget_user_deleted(text *user_id)
{
    if (!have_deleted_users())
        return;
    lock_user(user_id, ShareLock);
    Datum key[1] = {PointerGetDatum(user_id)};
    spi_run_latest(delete_mark, key, nullptr, false, SPI_OK_DELETE);
}

int64 forget_old_deleted_users(int32 limit)
{
    return sweep_old_deleted_users(limit);  // in two steps, for Citus (sweep.h)
}

}  // namespace credsync
