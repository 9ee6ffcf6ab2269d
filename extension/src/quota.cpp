#include "quota.h"

#include "errors.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

static Statement account_rows = {
    CREDSYNC_USAGE_AND_QUOTA_ROWS("true"), 1, {TEXTOID}, nullptr};

void fold_usage_and_quota(uint64 rows, Quota *quota, Usage *usage)
{
    quota->max_bytes = settings.default_max_bytes;
    quota->max_items = settings.default_max_items;
    usage->bytes = usage->items = 0;
    for (uint64 row = 0; row < rows; row++) {
        bool quota_row;
        spi_value(row, 1, &quota_row);  // zone rows carry bytes, the quota row NULL
        if (!quota_row) {
            usage->bytes += spi_int64(row, 1);
            usage->items += spi_int64(row, 2);
            continue;
        }
        bool isnull;
        Datum d = spi_value(row, 3, &isnull);
        if (!isnull)
            quota->max_bytes = DatumGetInt64(d);
        d = spi_value(row, 4, &isnull);
        if (!isnull)
            quota->max_items = DatumGetInt64(d);
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
