// Read-only views of a user's data: sync_state, sync_zones, sync_zone_states,
// sync_account.
#include "state.h"

#include "digest.h"
#include "quota.h"
#include "spi.h"

namespace credsync {

static Statement zone_state = {
    "SELECT gencount, digest, items, bytes, horizon FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND zone OPERATOR(pg_catalog.=) $2",
    2, {TEXTOID, TEXTOID}, nullptr};

// Zones by name, in byte order whatever the database's collation.
static Statement user_zones = {
    "SELECT zone, gencount, items, bytes FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 ORDER BY zone COLLATE \"C\"",
    1, {TEXTOID}, nullptr};

// 1.4: a deleted zone's gencount is its deletion's until the next push.
static Statement user_zones_1_4 = {
    "SELECT zone, gencount, items, bytes FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND gencount OPERATOR(pg_catalog.<>) deleted_gencount"
    " ORDER BY zone COLLATE \"C\"",
    1, {TEXTOID}, nullptr};

// 1.5: every listed zone with its sync_state, in one statement (so one
// snapshot): a client compares each zone's gencount and digest with its own
// and needs no second request for a zone where nothing changed. The zones are
// the ones 1.4's sync_zones lists (a deleted zone only after its next push).
static Statement user_zone_states = {
    "SELECT zone, gencount, digest, items, bytes, horizon FROM credsync.zones"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND gencount OPERATOR(pg_catalog.<>) deleted_gencount"
    " ORDER BY zone COLLATE \"C\"",
    1, {TEXTOID}, nullptr};

void sync_state(ReturnSetInfo *rsinfo, text *user_id, text *zone)
{
    spi_connect();
    Datum key[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};
    if (spi_run(zone_state, key, nullptr, true, SPI_OK_SELECT) == 1) {
        spi_rows_to_result(rsinfo, 1, 5);
    } else {  // an unknown zone reads as all zeros
        static const uint8_t zero_digest[kDigestBytes] = {};
        bytea *zero = bytes_as_bytea(zero_digest, kDigestBytes);
        Datum out[5] = {Int64GetDatum(0), PointerGetDatum(zero), Int64GetDatum(0), Int64GetDatum(0),
                        Int64GetDatum(0)};
        bool nulls[5] = {false, false, false, false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    }
    SPI_finish();
}

void sync_zones(ReturnSetInfo *rsinfo, text *user_id, bool hide_deleted)
{
    spi_connect();
    Datum key[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(hide_deleted ? user_zones_1_4 : user_zones, key, nullptr, true, SPI_OK_SELECT);
    spi_rows_to_result(rsinfo, rows, 4);
    SPI_finish();
}

void sync_zone_states(ReturnSetInfo *rsinfo, text *user_id)
{
    spi_connect();
    Datum key[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(user_zone_states, key, nullptr, true, SPI_OK_SELECT);
    spi_rows_to_result(rsinfo, rows, 6);
    SPI_finish();
}

void sync_account(ReturnSetInfo *rsinfo, text *user_id)
{
    spi_connect();
    Quota quota;
    Usage usage;
    read_account(user_id, &quota, &usage);
    Datum out[4] = {Int64GetDatum(usage.bytes), Int64GetDatum(usage.items), Int64GetDatum(quota.max_bytes),
                    Int64GetDatum(quota.max_items)};
    bool nulls[4] = {false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
}

}  // namespace credsync
