// Administrator functions: set_quota, drop_user (compaction: compact.cpp).
#include "admin.h"

#include "deleted_users.h"
#include "notify_payload.h"
#include "spi.h"

namespace credsync {

static Statement upsert_quota = {
    "INSERT INTO credsync.quotas (user_id, max_bytes, max_items) VALUES ($1, $2, $3)"
    " ON CONFLICT (user_id) DO UPDATE SET max_bytes = EXCLUDED.max_bytes, max_items = EXCLUDED.max_items",
    3, {TEXTOID, INT8OID, INT8OID}, nullptr};

static Statement delete_quota = {
    "DELETE FROM credsync.quotas WHERE user_id OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

// drop_user first locks the user's zones, in key order (compact's order),
// waiting for any push that holds one. Only then does it delete, in a new
// statement and so with a new snapshot (READ COMMITTED) that sees all that
// those pushes committed. A single statement (before 1.3) deleted the zones
// after waiting for them, but records and ops as its snapshot saw them
// before the wait, and left a racing push's rows behind.
static Statement lock_user_zones = {
    "SELECT zone FROM credsync.zones WHERE user_id OPERATOR(pg_catalog.=) $1"
    " ORDER BY zone FOR UPDATE",
    1, {TEXTOID}, nullptr};

// The locked zones ($2) with their records and ops, and the user's records
// and ops whose zone has no row (what that race left behind). Rows of a
// zone created since the lock are left to the next round.
static Statement drop_locked_zones = {
    "WITH r AS (DELETE FROM credsync.records r WHERE r.user_id OPERATOR(pg_catalog.=) $1"
    "             AND (r.zone OPERATOR(pg_catalog.=) ANY ($2) OR NOT EXISTS (SELECT FROM credsync.zones z"
    "                   WHERE z.user_id OPERATOR(pg_catalog.=) $1 AND z.zone OPERATOR(pg_catalog.=) r.zone))"
    "           RETURNING 1),"
    " o AS (DELETE FROM credsync.ops o WHERE o.user_id OPERATOR(pg_catalog.=) $1"
    "             AND (o.zone OPERATOR(pg_catalog.=) ANY ($2) OR NOT EXISTS (SELECT FROM credsync.zones z"
    "                   WHERE z.user_id OPERATOR(pg_catalog.=) $1 AND z.zone OPERATOR(pg_catalog.=) o.zone))"
    "           RETURNING 1),"
    " z AS (DELETE FROM credsync.zones WHERE user_id OPERATOR(pg_catalog.=) $1"
    "             AND zone OPERATOR(pg_catalog.=) ANY ($2) RETURNING 1)"
    " SELECT (SELECT pg_catalog.count(*) FROM r) OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM o)"
    "  OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM z)",
    2, {TEXTOID, TEXTARRAYOID}, nullptr};

static Statement drop_user_account = {
    "WITH t AS (DELETE FROM credsync.tokens WHERE user_id OPERATOR(pg_catalog.=) $1 RETURNING 1),"
    " q AS (DELETE FROM credsync.quotas WHERE user_id OPERATOR(pg_catalog.=) $1 RETURNING 1)"
    " SELECT (SELECT pg_catalog.count(*) FROM t) OPERATOR(pg_catalog.+) (SELECT pg_catalog.count(*) FROM q)",
    1, {TEXTOID}, nullptr};

// 1.4. Deleting the account's row waits for a login of it that holds the
// row (login_proof.cpp locks it); the tokens are deleted in later
// statements, whose snapshots see the device that login created. A login
// that comes later finds no account. The counter's row is deleted first,
// the order login takes them in.
static Statement drop_user_login = {
    "WITH f AS (DELETE FROM credsync.login_failures WHERE name OPERATOR(pg_catalog.=) $1),"
    " c AS (DELETE FROM credsync.login_challenges WHERE name OPERATOR(pg_catalog.=) $1)"
    " SELECT 0",
    1, {TEXTOID}, nullptr};
static Statement drop_user_account_row = {
    "DELETE FROM credsync.accounts WHERE name OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

// Locks the user's zones; their names as a palloc'd text[].
static ArrayType *lock_zones_of(text *user_id, uint64 *count)
{
    Datum key[1] = {PointerGetDatum(user_id)};
    *count = spi_run(lock_user_zones, key, nullptr, false, SPI_OK_SELECT);
    SPITupleTable *locked = SPI_tuptable;
    Datum *zones = static_cast<Datum *>(palloc(sizeof(Datum) * Max(*count, 1)));
    for (uint64 i = 0; i < *count; i++) {
        CHECK_FOR_INTERRUPTS();
        bool isnull;
        zones[i] = spi_value(locked, i, 1, &isnull);
    }
    ArrayType *array = construct_array(zones, static_cast<int>(*count), TEXTOID, -1, false, TYPALIGN_INT);
    SPI_freetuptable(locked);
    pfree(zones);
    return array;
}

// Removes all of the user's rows; returns how many.
static int64 drop_user_rows(text *user_id)
{
    int64 removed = 0;
    uint64 locked;
    // 1.4 holds the user's lock (deleted_users.h): a push that created a
    // zone before it is waited for and seen by the next round, and none is
    // created after it. Before 1.4, a push that creates a new zone meanwhile
    // is not waited for: if it commits before the next round's lock, that
    // round removes its zone as well; if later, its zone is whole (row,
    // records, ops), as if the push had come after drop_user.
    do {
        CHECK_FOR_INTERRUPTS();
        ArrayType *zones = lock_zones_of(user_id, &locked);
        Datum values[2] = {PointerGetDatum(user_id), PointerGetDatum(zones)};
        spi_run(drop_locked_zones, values, nullptr, false, SPI_OK_SELECT);
        removed += spi_int64(0, 1);
        SPI_freetuptable(SPI_tuptable);
        pfree(zones);
    } while (locked > 0);
    Datum key[1] = {PointerGetDatum(user_id)};
    spi_run(drop_user_account, key, nullptr, false, SPI_OK_SELECT);
    removed += spi_int64(0, 1);
    SPI_freetuptable(SPI_tuptable);
    return removed;
}

void set_quota(text *user_id, OptionalLimit max_bytes, OptionalLimit max_items)
{
    spi_connect();
    if (max_bytes.isnull && max_items.isnull) {
        Datum values[1] = {PointerGetDatum(user_id)};
        spi_run(delete_quota, values, nullptr, false, SPI_OK_DELETE);
    } else {
        Datum values[3] = {PointerGetDatum(user_id), Int64GetDatum(max_bytes.value), Int64GetDatum(max_items.value)};
        char nulls[3] = {' ', max_bytes.isnull ? 'n' : ' ', max_items.isnull ? 'n' : ' '};
        spi_run(upsert_quota, values, nulls, false, SPI_OK_INSERT);
    }
    SPI_finish();
}

int64 drop_user(text *user_id, bool with_login)
{
    spi_connect();
    int64 removed = 0;
    if (with_login) {
        Datum key[1] = {PointerGetDatum(user_id)};
        spi_run(drop_user_login, key, nullptr, false, SPI_OK_SELECT);
        removed += static_cast<int64>(spi_run(drop_user_account_row, key, nullptr, false, SPI_OK_DELETE));
        // After the login's rows (a login holding them creates a device,
        // not a zone, and must not wait for this lock while we wait for
        // it), before the zones: from here on nobody else creates a zone of
        // the user until this transaction ends (deleted_users.h).
        lock_user_for_deletion(user_id);
    }
    removed += drop_user_rows(user_id);
    if (with_login)
        mark_user_deleted(user_id);  // a push that waited for the lock finds it
    SPI_finish();
    if (removed > 0)
        notify_tokens_changed();  // its tokens may be gone
    return removed;
}

}  // namespace credsync
