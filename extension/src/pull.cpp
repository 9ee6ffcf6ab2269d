// sync_pull: the records of a zone with gencount > since, ascending.
//
// Everything runs in the caller's snapshot (read-only SPI), so the zone's
// counter and its records are read consistently. Cost follows the page, not
// the zone: a range scan on records (user_id, zone, gencount).
#include "errors.h"
#include "spi.h"
#include "srf.h"
#include "validate.h"

namespace credsync {

static Statement zone_cursor_state = {
    "SELECT gencount, horizon FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    2, {TEXTOID, TEXTOID}, nullptr};

static Statement page_with_tombstones = {
    "SELECT item, gencount, deleted, blob FROM credsync.records"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2"
    "   AND gencount OPERATOR(pg_catalog.>) $3"
    " ORDER BY gencount LIMIT $4",
    4, {TEXTOID, TEXTOID, INT8OID, INT4OID}, nullptr};

// since = 0: a new device has nothing to delete.
static Statement page_live_only = {
    "SELECT item, gencount, deleted, blob FROM credsync.records"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2"
    "   AND gencount OPERATOR(pg_catalog.>) $3 AND NOT deleted"
    " ORDER BY gencount LIMIT $4",
    4, {TEXTOID, TEXTOID, INT8OID, INT4OID}, nullptr};

static void raise_cursor_invalid(const char *reason, int64 gencount, int64 horizon)
{
    char *detail = psprintf("{\"reason\": \"%s\", \"gencount\": " INT64_FORMAT ", \"horizon\": " INT64_FORMAT "}",
                            reason, gencount, horizon);
    raise_with_detail(kCursorGone, detail,
                      strcmp(reason, "expired") == 0
                          ? "since is below the zone's compaction horizon: sync again from 0"
                          : "since is above the zone's gencount: the server is behind the client");
}

}  // namespace credsync

using namespace credsync;

extern "C" {

PG_FUNCTION_INFO_V1(credsync_sync_pull);
Datum credsync_sync_pull(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    int64 since = DatumGetInt64(required_arg(fcinfo, 2, "since"));
    int32 max_records = DatumGetInt32(required_arg(fcinfo, 3, "max_records"));
    bool full_sync = DatumGetBool(required_arg(fcinfo, 4, "full_sync"));
    if (since < 0)
        raise_bad_argument("since", "since must be 0 or more");
    if (max_records < 1 || max_records > kMaxPullRecords)
        raise_bad_argument("max_records", "max_records must be between 1 and 10000");

    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    spi_connect();

    Datum key[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};
    int64 gencount = 0, horizon = 0;  // an unknown zone reads as all zeros
    if (spi_run(zone_cursor_state, key, nullptr, true, SPI_OK_SELECT) == 1) {
        gencount = spi_int64(0, 1);
        horizon = spi_int64(0, 2);
    }
    if (since > gencount)
        raise_cursor_invalid("ahead", gencount, horizon);
    if (!full_sync && since > 0 && since < horizon)
        raise_cursor_invalid("expired", gencount, horizon);

    if (since < gencount) {
        Datum values[4] = {key[0], key[1], Int64GetDatum(since), Int32GetDatum(max_records)};
        Statement &page = since == 0 ? page_live_only : page_with_tombstones;
        uint64 rows = spi_run(page, values, nullptr, true, SPI_OK_SELECT);
        spi_rows_to_result(rsinfo, rows, 4);
    }
    SPI_finish();
    return (Datum)0;
}

}  // extern "C"
