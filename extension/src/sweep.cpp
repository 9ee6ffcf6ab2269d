// Compaction's sweeps (sweep.h says why they take two steps).
#include "sweep.h"

#include "deleted_users.h"
#include "login_proof.h"
#include "spi.h"

extern "C" {
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
}

namespace credsync {

// A sweep: `candidates` reads the keys ($1: LIMIT, NULL for none; $2: the
// extra argument, if any) of rows that match; `remove_one` removes the row
// of one key ($1..$keys, then the extra argument) if it still matches and
// no one holds it.
struct Sweep {
    Statement &candidates;
    Statement &remove_one;
    int keys;
    Datum extra;
};

// Keys are read this many at a time when there is no limit.
constexpr int32 kSweepChunk = 1000;

// One round: up to `limit` keys. Returns the rows removed; *seen the keys read.
static int64 sweep_round(Sweep &sweep, int32 limit, uint64 *seen)
{
    Datum args[2] = {Int64GetDatum(limit), sweep.extra};
    spi_run(sweep.candidates, args, nullptr, false, SPI_OK_SELECT);
    SPITupleTable *keys = SPI_tuptable;
    *seen = SPI_processed;
    int64 removed = 0;
    for (uint64 row = 0; row < *seen; row++) {
        CHECK_FOR_INTERRUPTS();
        Datum key[3];
        for (int col = 0; col < sweep.keys; col++) {
            bool isnull;
            key[col] = spi_value(keys, row, col + 1, &isnull);
        }
        key[sweep.keys] = sweep.extra;
        removed += static_cast<int64>(spi_run(sweep.remove_one, key, nullptr, false, SPI_OK_DELETE));
    }
    SPI_freetuptable(keys);
    return removed;
}

static int64 run_sweep(Sweep &sweep, int32 limit)
{
    uint64 seen;
    if (limit > 0)
        return sweep_round(sweep, limit, &seen);
    // All: chunk after chunk while each removes something (a chunk of rows
    // that are all held by others would be read again and again).
    int64 total = 0;
    for (;;) {
        int64 removed = sweep_round(sweep, kSweepChunk, &seen);
        total += removed;
        if (seen < static_cast<uint64>(kSweepChunk) || removed == 0)
            return total;
    }
}

bool have_credsync_table(const char *name)
{
    Oid schema = get_namespace_oid("credsync", true);
    return OidIsValid(schema) && OidIsValid(get_relname_relid(name, schema));
}

#define OLD_MARK                                                                \
    "deleted_at OPERATOR(pg_catalog.<) (pg_catalog.now()"                      \
    "     OPERATOR(pg_catalog.-) '" CREDSYNC_DELETED_USER_RETENTION "'::pg_catalog.interval)"

static Statement old_marks = {
    "SELECT user_id FROM credsync.deleted_users WHERE " OLD_MARK " LIMIT $1", 1, {INT8OID}, nullptr};

static Statement remove_old_mark = {
    "DELETE FROM credsync.deleted_users d USING ("
    "  SELECT user_id FROM credsync.deleted_users"
    "   WHERE user_id OPERATOR(pg_catalog.=) $1 AND " OLD_MARK " FOR UPDATE SKIP LOCKED) old"
    " WHERE d.user_id OPERATOR(pg_catalog.=) $1 AND d.user_id OPERATOR(pg_catalog.=) old.user_id",
    1, {TEXTOID}, nullptr};

static Statement expired_challenges = {
    "SELECT name, challenge FROM credsync.login_challenges"
    " WHERE expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() LIMIT $1",
    1, {INT8OID}, nullptr};

static Statement remove_expired_challenge = {
    "DELETE FROM credsync.login_challenges c USING ("
    "  SELECT name, challenge FROM credsync.login_challenges"
    "   WHERE name OPERATOR(pg_catalog.=) $1 AND challenge OPERATOR(pg_catalog.=) $2"
    "     AND expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() FOR UPDATE SKIP LOCKED) old"
    " WHERE c.name OPERATOR(pg_catalog.=) $1 AND c.name OPERATOR(pg_catalog.=) old.name"
    "   AND c.challenge OPERATOR(pg_catalog.=) old.challenge",
    2, {TEXTOID, BYTEAOID}, nullptr};

#define PASSED_WINDOW                                                           \
    "window_start OPERATOR(pg_catalog.<=)"                                      \
    " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $2))"

static Statement passed_windows = {
    "SELECT name FROM credsync.login_failures WHERE " PASSED_WINDOW " LIMIT $1", 2, {INT8OID, FLOAT8OID}, nullptr};

static Statement remove_passed_window = {
    "DELETE FROM credsync.login_failures f USING ("
    "  SELECT name FROM credsync.login_failures"
    "   WHERE name OPERATOR(pg_catalog.=) $1 AND " PASSED_WINDOW " FOR UPDATE SKIP LOCKED) old"
    " WHERE f.name OPERATOR(pg_catalog.=) $1 AND f.name OPERATOR(pg_catalog.=) old.name",
    2, {TEXTOID, FLOAT8OID}, nullptr};

int64 sweep_old_deleted_users(int32 limit)
{
    if (!have_credsync_table("deleted_users"))
        return 0;
    Sweep marks = {old_marks, remove_old_mark, 1, 0};
    return run_sweep(marks, limit);
}

int64 sweep_expired_login_rows(int32 limit)
{
    if (!have_credsync_table("login_challenges") || !have_credsync_table("login_failures"))
        return 0;
    Sweep challenges = {expired_challenges, remove_expired_challenge, 2, 0};
    Sweep failures = {passed_windows, remove_passed_window, 1, Float8GetDatum(kFailureWindowSeconds)};
    return run_sweep(challenges, limit) + run_sweep(failures, limit);
}

}  // namespace credsync
