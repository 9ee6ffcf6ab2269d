// Read-only views of a user's data: sync_state, sync_zones, sync_account.
#include "digest.h"
#include "quota.h"
#include "spi.h"
#include "srf.h"
#include "validate.h"

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

static void connect_spi()
{
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "credsync: SPI_connect failed");
}

}  // namespace credsync

using namespace credsync;

extern "C" {

PG_FUNCTION_INFO_V1(credsync_sync_state);
Datum credsync_sync_state(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    connect_spi();
    Datum key[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};
    Datum out[5];
    bool nulls[5] = {false, false, false, false, false};
    if (spi_run(zone_state, key, nullptr, true, SPI_OK_SELECT) == 1) {
        for (int col = 0; col < 5; col++)
            out[col] = spi_value(0, col + 1, &nulls[col]);
    } else {
        bytea *zero = static_cast<bytea *>(palloc0(VARHDRSZ + kDigestBytes));
        SET_VARSIZE(zero, VARHDRSZ + kDigestBytes);
        out[0] = out[2] = out[3] = out[4] = Int64GetDatum(0);
        out[1] = PointerGetDatum(zero);
    }
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_zones);
Datum credsync_sync_zones(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    connect_spi();
    Datum key[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(user_zones, key, nullptr, true, SPI_OK_SELECT);
    for (uint64 row = 0; row < rows; row++) {
        Datum out[4];
        bool nulls[4];
        for (int col = 0; col < 4; col++)
            out[col] = spi_value(row, col + 1, &nulls[col]);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    }
    SPI_finish();
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_account);
Datum credsync_sync_account(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    connect_spi();
    Quota quota;
    Usage usage;
    read_account(user_id, &quota, &usage);
    Datum out[4] = {Int64GetDatum(usage.bytes), Int64GetDatum(usage.items), Int64GetDatum(quota.max_bytes),
                    Int64GetDatum(quota.max_items)};
    bool nulls[4] = {false, false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
    return (Datum)0;
}

}  // extern "C"
