// token_identity, device_list, device_revoke, token_list, token_revoke_all
// (1.4). Revocations send NOTIFY credsync_tokens, as revoke_token does, so
// that the proxy's token cache forgets at once.
#include "devices.h"

#include "notify_payload.h"
#include "spi.h"

extern "C" {
#include "access/xact.h"
}

namespace credsync {

// stale: last_seen is NULL or a minute old.
static Statement identity = {
    "SELECT user_id, device, last_seen IS NULL OR last_seen OPERATOR(pg_catalog.<)"
    "       (pg_catalog.now() OPERATOR(pg_catalog.-) '1 minute'::pg_catalog.interval)"
    "  FROM credsync.tokens"
    " WHERE token_sha256 OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL LIMIT 1",
    1, {BYTEAOID}, nullptr};

// Requests of one device come in parallel: one of them writes, the others
// skip the row it holds instead of queueing behind it (and a revocation
// holding it is not waited for either).
static Statement touch = {
    "UPDATE credsync.tokens t SET last_seen = pg_catalog.now() FROM ("
    "  SELECT user_id, token_sha256 FROM credsync.tokens"
    "   WHERE user_id OPERATOR(pg_catalog.=) $1 AND device OPERATOR(pg_catalog.=) $2 AND revoked_at IS NULL"
    "     AND (last_seen IS NULL OR last_seen OPERATOR(pg_catalog.<)"
    "          (pg_catalog.now() OPERATOR(pg_catalog.-) '1 minute'::pg_catalog.interval))"
    "   FOR UPDATE SKIP LOCKED) s"
    " WHERE t.user_id OPERATOR(pg_catalog.=) s.user_id AND t.token_sha256 OPERATOR(pg_catalog.=) s.token_sha256",
    2, {TEXTOID, UUIDOID}, nullptr};

static Statement live_devices = {
    "SELECT device, label, created_at, last_seen FROM credsync.tokens"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL ORDER BY created_at, device",
    1, {TEXTOID}, nullptr};

static Statement all_tokens = {
    "SELECT device, label, created_at, last_seen, revoked_at FROM credsync.tokens"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 ORDER BY created_at, device",
    1, {TEXTOID}, nullptr};

static Statement revoke_device = {
    "UPDATE credsync.tokens SET revoked_at = pg_catalog.now()"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND device OPERATOR(pg_catalog.=) $2 AND revoked_at IS NULL",
    2, {TEXTOID, UUIDOID}, nullptr};

static Statement revoke_by_label = {
    "UPDATE credsync.tokens SET revoked_at = pg_catalog.now()"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL"
    "   AND ($2::pg_catalog.text IS NULL OR label OPERATOR(pg_catalog.=) $2)",
    2, {TEXTOID, TEXTOID}, nullptr};

void token_identity(ReturnSetInfo *rsinfo, bytea *token_sha256)
{
    spi_connect();
    Datum key[1] = {PointerGetDatum(token_sha256)};
    if (spi_run(identity, key, nullptr, false, SPI_OK_SELECT) == 1) {
        const SPITupleTable *found = SPI_tuptable;
        spi_rows_to_result(rsinfo, found, 1, 2);
        if (spi_bool(found, 0, 3) && !XactReadOnly) {
            bool user_null, device_null;
            Datum who[2] = {spi_value(found, 0, 1, &user_null), spi_value(found, 0, 2, &device_null)};
            spi_run(touch, who, nullptr, false, SPI_OK_UPDATE);
        }
    }
    SPI_finish();
}

void device_list(ReturnSetInfo *rsinfo, text *user_id)
{
    spi_connect();
    Datum key[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(live_devices, key, nullptr, true, SPI_OK_SELECT);
    spi_rows_to_result(rsinfo, rows, 4);
    SPI_finish();
}

bool device_revoke(text *user_id, const pg_uuid_t *device)
{
    spi_connect();
    Datum values[2] = {PointerGetDatum(user_id), UUIDPGetDatum(const_cast<pg_uuid_t *>(device))};
    bool revoked = spi_run(revoke_device, values, nullptr, false, SPI_OK_UPDATE) > 0;
    SPI_finish();
    if (revoked)
        notify_tokens_changed();
    return revoked;
}

void token_list(ReturnSetInfo *rsinfo, text *user_id)
{
    spi_connect();
    Datum key[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(all_tokens, key, nullptr, true, SPI_OK_SELECT);
    spi_rows_to_result(rsinfo, rows, 5);
    SPI_finish();
}

int32 token_revoke_all(text *user_id, text *label)
{
    spi_connect();
    Datum values[2] = {PointerGetDatum(user_id), PointerGetDatum(label)};
    char nulls[2] = {' ', label ? ' ' : 'n'};
    int32 revoked = static_cast<int32>(spi_run(revoke_by_label, values, nulls, false, SPI_OK_UPDATE));
    SPI_finish();
    if (revoked > 0)
        notify_tokens_changed();
    return revoked;
}

}  // namespace credsync
