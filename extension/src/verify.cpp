// verify_zone (1.1, admin): recompute a zone's aggregates from its records
// and compare them with the values maintained incrementally by pushes. An
// operator's check after a restore or an incident; O(records in the zone).
#include "verify.h"

#include "digest.h"
#include "spi.h"

namespace credsync {

static Statement zone_records = {
    "SELECT item, gencount, deleted, pg_catalog.octet_length(blob) FROM credsync.records"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    2, {TEXTOID, TEXTOID}, nullptr};

static Statement stored_aggregates = {
    "SELECT gencount, digest, items, bytes FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    2, {TEXTOID, TEXTOID}, nullptr};

void verify_zone(ReturnSetInfo *rsinfo, text *user_id, text *zone)
{
    spi_connect();
    Datum key[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};

    Digest digest;
    memset(digest.bytes, 0, kDigestBytes);
    int64 items = 0, bytes = 0, max_gencount = 0;
    uint64 rows = spi_run(zone_records, key, nullptr, true, SPI_OK_SELECT);
    const SPITupleTable *records = SPI_tuptable;
    for (uint64 row = 0; row < rows; row++) {
        CHECK_FOR_INTERRUPTS();  // the whole zone
        bool isnull;
        Datum item_datum = spi_value(records, row, 1, &isnull);
        if (isnull)
            elog(ERROR, "credsync: a record has no item id");
        pg_uuid_t *item = DatumGetUUIDP(item_datum);
        int64 gencount = spi_int64(records, row, 2);
        max_gencount = Max(max_gencount, gencount);
        if (spi_bool(records, row, 3))
            continue;
        uint8_t term[kDigestBytes];
        if (!record_term(item->data, gencount, term))
            elog(ERROR, "credsync: SHA-256 failed");
        digest.add(term);
        items += 1;
        bytes += spi_int32(records, row, 4);  // octet_length() is an int4
    }

    int64 stored_gencount = 0, stored_items = 0, stored_bytes = 0;
    bool digest_matches = true;
    if (spi_run(stored_aggregates, key, nullptr, true, SPI_OK_SELECT) == 1) {
        bool isnull;
        stored_gencount = spi_int64(0, 1);
        Datum stored_digest = spi_value(0, 2, &isnull);
        if (isnull) {
            digest_matches = false;  // a damaged row: it cannot match
        } else {
            bytea *stored = DatumGetByteaPP(stored_digest);
            digest_matches = VARSIZE_ANY_EXHDR(stored) == kDigestBytes &&
                             memcmp(VARDATA_ANY(stored), digest.bytes, kDigestBytes) == 0;
        }
        stored_items = spi_int64(0, 3);
        stored_bytes = spi_int64(0, 4);
    } else {
        digest_matches = items == 0;
    }

    bytea *recomputed = bytes_as_bytea(digest.bytes, kDigestBytes);
    bool matches = digest_matches && items == stored_items && bytes == stored_bytes &&
                   max_gencount <= stored_gencount;
    Datum out[5] = {Int64GetDatum(max_gencount), PointerGetDatum(recomputed), Int64GetDatum(items),
                    Int64GetDatum(bytes), BoolGetDatum(matches)};
    bool nulls[5] = {false, false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
}

}  // namespace credsync
