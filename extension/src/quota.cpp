#include "quota.h"

#include "errors.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

// Zones of one user are few; summing them is cheaper than a per-user usage
// row, which would serialize every push of the user across zones.
static Statement usage_and_quota = {
    "SELECT (SELECT pg_catalog.sum(z.bytes)::pg_catalog.int8 FROM credsync.zones z"
    "         WHERE z.user_id OPERATOR(pg_catalog.=) $1"
    "           AND ($2 IS NULL OR z.zone OPERATOR(pg_catalog.<>) $2)),"
    "       (SELECT pg_catalog.sum(z.items)::pg_catalog.int8 FROM credsync.zones z"
    "         WHERE z.user_id OPERATOR(pg_catalog.=) $1"
    "           AND ($2 IS NULL OR z.zone OPERATOR(pg_catalog.<>) $2)),"
    "       (SELECT q.max_bytes FROM credsync.quotas q WHERE q.user_id OPERATOR(pg_catalog.=) $1),"
    "       (SELECT q.max_items FROM credsync.quotas q WHERE q.user_id OPERATOR(pg_catalog.=) $1)",
    2, {TEXTOID, TEXTOID}, nullptr};

void read_quota_and_usage(text *user_id, text *zone, bool read_only, Quota *quota, Usage *others)
{
    Datum values[2] = {PointerGetDatum(user_id), PointerGetDatum(zone)};
    char nulls[2] = {' ', zone == nullptr ? 'n' : ' '};
    spi_run(usage_and_quota, values, nulls, read_only, SPI_OK_SELECT);
    others->bytes = spi_int64(0, 1);
    others->items = spi_int64(0, 2);
    bool isnull;
    Datum d = spi_value(0, 3, &isnull);
    quota->max_bytes = isnull ? settings.default_max_bytes : DatumGetInt64(d);
    d = spi_value(0, 4, &isnull);
    quota->max_items = isnull ? settings.default_max_items : DatumGetInt64(d);
}

void check_quota(text *user_id, text *zone, Usage before, Usage after)
{
    bool grows_bytes = after.bytes > before.bytes;
    bool grows_items = after.items > before.items;
    if (!grows_bytes && !grows_items)
        return;
    Quota quota;
    Usage others;
    read_quota_and_usage(user_id, zone, false, &quota, &others);
    bool over = (grows_bytes && others.bytes + after.bytes > quota.max_bytes) ||
                (grows_items && others.items + after.items > quota.max_items);
    if (!over)
        return;
    char *detail = psprintf("{\"max_bytes\": " INT64_FORMAT ", \"max_items\": " INT64_FORMAT
                            ", \"bytes\": " INT64_FORMAT ", \"items\": " INT64_FORMAT "}",
                            quota.max_bytes, quota.max_items, others.bytes + before.bytes,
                            others.items + before.items);
    raise_with_detail(kQuotaExceeded, detail, "the push would exceed the user's quota");
}

}  // namespace credsync
