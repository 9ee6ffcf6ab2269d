// sync_pull: the records of a zone with gencount > since, ascending.
// sync_pull_page: the same page, capped in bytes, with the zone's gencount
// and whether more records lie beyond it (what an HTTP pull answers).
//
// Everything runs in the caller's snapshot (read-only SPI), so the zone's
// counter and its records are read consistently. Cost follows the page, not
// the zone: a range scan on records (user_id, zone, gencount).
#include "pull.h"

#include "errors.h"
#include "spi.h"
#include "validate.h"

extern "C" {
#include "access/detoast.h"
}

namespace credsync {

static Statement zone_cursor_state = {
    "SELECT gencount, horizon FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    2, {TEXTOID, TEXTOID}, nullptr};

// 1.4: also the gencount of the zone's last deletion (zone_delete.cpp).
static Statement zone_cursor_state_1_4 = {
    "SELECT gencount, horizon, deleted_gencount FROM credsync.zones"
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

// Reads the zone's counter (an unknown zone reads as 0), refuses a since the
// zone cannot answer, then selects up to `rows_wanted` records after since
// into SPI_tuptable. Returns their number; *gencount is the zone's counter.
static uint64 select_page(const PageRequest &q, int32 rows_wanted, int64 *gencount)
{
    int64 horizon = 0, deleted_at = 0;
    *gencount = 0;
    Statement &state = q.deleted_zones ? zone_cursor_state_1_4 : zone_cursor_state;
    if (spi_run(state, q.key, nullptr, true, SPI_OK_SELECT) == 1) {
        *gencount = spi_int64(0, 1);
        horizon = spi_int64(0, 2);
        if (q.deleted_zones)
            deleted_at = spi_int64(0, 3);
    }
    if (q.since > *gencount)
        raise_cursor_invalid("ahead", *gencount, horizon);
    // A full sync's pages are never expired by compaction (live records are
    // never compacted), but a zone_delete removed live records it may have
    // received. (The horizon is at least deleted_at.)
    if (q.since > 0 && (q.since < deleted_at || (!q.full_sync && q.since < horizon)))
        raise_cursor_invalid("expired", *gencount, horizon);
    if (q.since == *gencount) return 0;
    Datum values[4] = {q.key[0], q.key[1], Int64GetDatum(q.since), Int32GetDatum(rows_wanted)};
    Statement &page = q.since == 0 ? page_live_only : page_with_tombstones;
    return spi_run(page, values, nullptr, true, SPI_OK_SELECT);
}

// Whether any record, a tombstone included, has a gencount above `after`.
static bool any_record_after(const PageRequest &q, int64 after)
{
    Datum values[4] = {q.key[0], q.key[1], Int64GetDatum(after), Int32GetDatum(1)};
    return spi_run(page_with_tombstones, values, nullptr, true, SPI_OK_SELECT) > 0;
}

// How much of the selected rows a capped page sends, and whether more exists.
struct PageCut {
    uint64 send = 0;
    bool more = false;
};

// rows: records selected after since, asked for max_records + 1 (so one
// beyond the page when there is one; not beyond 10000). The page is the first
// max_records, cut once the blobs pass max_bytes (the first record always
// goes out). "more": rows were cut or lie beyond the page; when the page
// was not full, nothing live does (since = 0 skips tombstones: a new device
// has nothing to delete); when it was exactly full, a tombstone may still lie
// beyond, unless the page reaches the zone's counter.
static PageCut cut_page(const PageRequest &q, const SPITupleTable *page, uint64 rows, int64 max_bytes,
                       int64 gencount)
{
    PageCut cut;
    uint64 in_page = Min(rows, static_cast<uint64>(q.max_records));
    int64 bytes = 0;
    for (; cut.send < in_page; cut.send++) {
        CHECK_FOR_INTERRUPTS();
        bool isnull;
        Datum blob = spi_value(page, cut.send, 4, &isnull);
        // the blob's own length: stored, it may be compressed or out of line
        if (!isnull) bytes += toast_raw_datum_size(blob) - VARHDRSZ;
        if (cut.send > 0 && max_bytes >= 0 && bytes > max_bytes) break;
    }
    if (cut.send < in_page || rows > in_page) {
        cut.more = true;
    } else if (in_page == static_cast<uint64>(q.max_records)) {
        int64 last = spi_int64(page, in_page - 1, 2);
        cut.more = last < gencount && any_record_after(q, last);
    }
    return cut;
}

void sync_pull(ReturnSetInfo *rsinfo, const PageRequest &q)
{
    spi_connect();
    int64 gencount;
    uint64 rows = select_page(q, q.max_records, &gencount);
    spi_rows_to_result(rsinfo, rows, 4);
    SPI_finish();
}

void sync_pull_page(ReturnSetInfo *rsinfo, const PageRequest &q, int64 max_bytes)
{
    spi_connect();
    int64 gencount;
    int32 rows_wanted = Min(q.max_records + 1, kMaxPullRecords);
    uint64 rows = select_page(q, rows_wanted, &gencount);
    // kept until SPI_finish, though cut_page may run another query
    const SPITupleTable *page = SPI_tuptable;
    PageCut cut = cut_page(q, page, rows, max_bytes, gencount);

    Datum header[5] = {0, Int64GetDatum(gencount), 0, 0, BoolGetDatum(cut.more)};
    bool nulls[5] = {true, false, true, true, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, header, nulls);
    spi_rows_to_result(rsinfo, page, cut.send, 4);  // more: NULL
    SPI_finish();
}

}  // namespace credsync
