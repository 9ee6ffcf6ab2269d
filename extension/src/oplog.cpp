#include "oplog.h"

#include "errors.h"

namespace credsync {

void request_fingerprint(const PushRequest &request, uint8_t out[kSha256Bytes])
{
    static const char version[] = "credsync push v1";
    bool ok = sha256_begin() && sha256_add(version, sizeof version);
    for (int i = 0; ok && i < request.count; i++) {
        CHECK_FOR_INTERRUPTS();  // up to credsync.max_batch_records blobs
        const PushRecord &r = request.records[i];
        uint8_t flags = (r.item_given ? 1 : 0) | (r.blob ? 2 : 0) | (r.has_if_match ? 4 : 0);
        ok = sha256_add(&flags, 1);
        if (ok && r.item_given)
            ok = sha256_add(r.item.data, UUID_LEN);
        if (ok && r.blob) {
            uint64_t len = VARSIZE_ANY_EXHDR(r.blob);
            ok = sha256_add(&len, sizeof len) && sha256_add(VARDATA_ANY(r.blob), len);
        }
        if (ok && r.has_if_match)
            ok = sha256_add(&r.if_match, sizeof r.if_match);
    }
    if (!ok || !sha256_end(out))
        elog(ERROR, "credsync: SHA-256 failed");
}

PushResult replay_op(const PushRequest &request, const uint8_t fingerprint[kSha256Bytes], bytea *stored,
                     ArrayType *items, ArrayType *gencounts)
{
    if (VARSIZE_ANY_EXHDR(stored) != kSha256Bytes ||
        memcmp(VARDATA_ANY(stored), fingerprint, kSha256Bytes) != 0) {
        char *op = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(const_cast<pg_uuid_t *>(&request.op_id))));
        raise_with_detail(kOpReused, op, "op_id was already used for a different request");
    }
    Datum *item_datums, *gencount_datums;
    int n_items, n_gencounts;
    deconstruct_array(items, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &item_datums, nullptr, &n_items);
    deconstruct_array(gencounts, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &gencount_datums, nullptr,
                      &n_gencounts);
    if (n_items != n_gencounts)
        elog(ERROR, "credsync: remembered op id is malformed");
    PushResult result;
    result.count = n_items;
    result.items = static_cast<pg_uuid_t *>(SPI_palloc(sizeof(pg_uuid_t) * n_items));
    result.gencounts = static_cast<int64 *>(SPI_palloc(sizeof(int64) * n_items));
    for (int i = 0; i < n_items; i++) {
        result.items[i] = *DatumGetUUIDP(item_datums[i]);
        result.gencounts[i] = DatumGetInt64(gencount_datums[i]);
    }
    return result;
}

}  // namespace credsync
