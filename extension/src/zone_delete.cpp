// zone_delete (1.4). docs/sql-api.md, "Deleting a zone", says what every
// other call answers for a deleted zone.
//
// Why the zone's row stays, and why the deletion takes a gencount:
// - The row keeps the zone's counter: a gencount is never handed out twice
//   in a zone (guarantee 1), so the next push continues above it.
// - A device's cursor is at most the zone's gencount G. Had the deletion
//   left gencount and horizon at G, a device in sync at G would pull "since
//   G" and get an empty page, never told that its copy is gone. With the
//   deletion at G + 1 and the horizon there, every cursor from before it is
//   below the horizon: CS410 "expired", sync from 0, an empty zone. A full
//   sync that began before it is expired too (pull.cpp, deleted_gencount),
//   though full sync pages are otherwise never expired: live records it
//   received are gone.
#include "zone_delete.h"

#include "notify_payload.h"
#include "spi.h"

namespace credsync {

// Waits for a push that holds the zone. deleted: no push since its last
// deletion (gencount is still the deletion's).
static Statement lock_zone = {
    "SELECT gencount OPERATOR(pg_catalog.=) deleted_gencount FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2 FOR UPDATE",
    2, {TEXTOID, TEXTOID}, nullptr};

// A new statement, so a new snapshot (READ COMMITTED): it sees every record
// of the push it waited for. Returns (records removed, the new gencount).
static Statement empty_zone = {
    "WITH r AS (DELETE FROM credsync.records"
    "            WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2 RETURNING 1),"
    " o AS (DELETE FROM credsync.ops"
    "        WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2),"
    " z AS (UPDATE credsync.zones"
    "          SET gencount = gencount OPERATOR(pg_catalog.+) 1,"
    "              horizon = gencount OPERATOR(pg_catalog.+) 1,"
    "              deleted_gencount = gencount OPERATOR(pg_catalog.+) 1,"
    "              items = 0, bytes = 0,"
    "              digest = pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex')"
    "        WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2"
    "        RETURNING gencount)"
    " SELECT (SELECT pg_catalog.count(*) FROM r), (SELECT gencount FROM z)",
    2, {TEXTOID, TEXTOID}, nullptr};

int64 zone_delete(text *user_id, text *zone)
{
    spi_connect();
    Datum key[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};
    if (spi_run(lock_zone, key, nullptr, false, SPI_OK_SELECT) == 0 || spi_bool(0, 1)) {
        SPI_finish();
        return 0;
    }
    SPI_freetuptable(SPI_tuptable);
    spi_run(empty_zone, key, nullptr, false, SPI_OK_SELECT);
    int64 removed = spi_int64(0, 1);
    int64 gencount = spi_int64(0, 2);
    SPI_freetuptable(SPI_tuptable);
    // A device waiting for the zone (long-poll) wakes up and is told.
    notify_push(user_id, zone, gencount);
    SPI_finish();
    return removed;
}

}  // namespace credsync
