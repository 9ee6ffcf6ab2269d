#include "quota.h"

#include "errors.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

// One row (bytes, items, NULL, NULL) per zone of the user, plus one row
// (NULL, NULL, max_bytes, max_items) if a quota is set. Plain index scans,
// no aggregate: cheaper to start.
static Statement account_rows = {
    "SELECT z.bytes, z.items, NULL::pg_catalog.int8, NULL::pg_catalog.int8"
    "  FROM credsync.zones z WHERE z.user_id OPERATOR(pg_catalog.=) $1"
    " UNION ALL "
    "SELECT NULL, NULL, q.max_bytes, q.max_items"
    "  FROM credsync.quotas q WHERE q.user_id OPERATOR(pg_catalog.=) $1",
    1, {TEXTOID}, nullptr};

Quota quota_in_force(Datum max_bytes, bool max_bytes_null, Datum max_items, bool max_items_null)
{
    Quota quota;
    quota.max_bytes = max_bytes_null ? settings.default_max_bytes : DatumGetInt64(max_bytes);
    quota.max_items = max_items_null ? settings.default_max_items : DatumGetInt64(max_items);
    return quota;
}

// Sums the rows of account_rows in SPI_tuptable.
static void fold_usage_and_quota(uint64 rows, Quota *quota, Usage *usage)
{
    *quota = quota_in_force((Datum)0, true, (Datum)0, true);
    usage->bytes = usage->items = 0;
    for (uint64 row = 0; row < rows; row++) {
        bool quota_row;
        spi_value(row, 1, &quota_row);  // zone rows carry bytes, the quota row NULL
        if (!quota_row) {
            usage->bytes += spi_int64(row, 1);
            usage->items += spi_int64(row, 2);
            continue;
        }
        bool bytes_null, items_null;
        Datum max_bytes = spi_value(row, 3, &bytes_null);
        Datum max_items = spi_value(row, 4, &items_null);
        *quota = quota_in_force(max_bytes, bytes_null, max_items, items_null);
    }
}

void read_account(text *user_id, Quota *quota, Usage *usage)
{
    Datum values[1] = {PointerGetDatum(user_id)};
    uint64 rows = spi_run(account_rows, values, nullptr, true, SPI_OK_SELECT);
    fold_usage_and_quota(rows, quota, usage);
}

void check_quota(Quota quota, Usage others, Usage before, Usage after)
{
    bool over = (after.bytes > before.bytes && others.bytes + after.bytes > quota.max_bytes) ||
                (after.items > before.items && others.items + after.items > quota.max_items);
    if (!over)
        return;
    char *detail = psprintf("{\"max_bytes\": " INT64_FORMAT ", \"max_items\": " INT64_FORMAT
                            ", \"bytes\": " INT64_FORMAT ", \"items\": " INT64_FORMAT "}",
                            quota.max_bytes, quota.max_items, others.bytes + before.bytes,
                            others.items + before.items);
    raise_with_detail(kQuotaExceeded, detail, "the push would exceed the user's quota");
}

}  // namespace credsync
