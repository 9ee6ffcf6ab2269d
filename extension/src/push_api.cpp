// SQL entry points of the write path: turn arguments into a PushRequest.
#include "errors.h"
#include "push.h"
#include "srf.h"
#include "validate.h"

namespace credsync {

static void return_rows(FunctionCallInfo fcinfo, const PushResult &result)
{
    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    for (int i = 0; i < result.count; i++) {
        Datum values[2] = {UUIDPGetDatum(&result.items[i]), Int64GetDatum(result.gencounts[i])};
        bool nulls[2] = {false, false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
}

static void read_op_id(FunctionCallInfo fcinfo, int argno, PushRequest &request)
{
    request.has_op_id = PG_NARGS() > argno && !PG_ARGISNULL(argno);
    if (request.has_op_id)
        request.op_id = *PG_GETARG_UUID_P(argno);
}

static void read_single_if_match(FunctionCallInfo fcinfo, int argno, PushRecord &record)
{
    record.has_if_match = !PG_ARGISNULL(argno);
    record.if_match = record.has_if_match ? PG_GETARG_INT64(argno) : 0;
}

// The elements of a one-dimensional array argument (NULL array: count -1).
struct ArrayArg {
    ArrayType *array;
    int count;
    Datum *values;
    bool *nulls;
};

static ArrayArg array_arg(FunctionCallInfo fcinfo, int argno, const char *name, Oid type, int16 typlen,
                          bool byval, char align)
{
    ArrayArg arg = {nullptr, -1, nullptr, nullptr};
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
        return arg;
    arg.array = PG_GETARG_ARRAYTYPE_P(argno);
    if (ARR_NDIM(arg.array) > 1)
        raise_bad_argument(name, psprintf("%s must be a one-dimensional array", name));
    deconstruct_array(arg.array, type, typlen, byval, align, &arg.values, &arg.nulls, &arg.count);
    return arg;
}

// The arguments every push function starts with: user_id, zone.
static PushRequest request_for(FunctionCallInfo fcinfo, const char *item_argument)
{
    PushRequest request = {};
    request.user_id = user_id_arg(fcinfo, 0);
    request.zone = zone_arg(fcinfo, 1);
    request.item_argument = item_argument;
    return request;
}

}  // namespace credsync

using namespace credsync;

extern "C" {

PG_FUNCTION_INFO_V1(credsync_sync_push);
Datum credsync_sync_push(PG_FUNCTION_ARGS)
{
    PushRequest request = request_for(fcinfo, "item_id");
    PushRecord record = {};
    record.blob = PG_ARGISNULL(2) ? nullptr : PG_GETARG_BYTEA_PP(2);
    record.item_given = !PG_ARGISNULL(3);
    if (record.item_given)
        record.item = *PG_GETARG_UUID_P(3);
    read_single_if_match(fcinfo, 4, record);
    read_op_id(fcinfo, 5, request);
    request.count = 1;
    request.records = &record;
    return_rows(fcinfo, execute_push(request));
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_push_many);
Datum credsync_sync_push_many(PG_FUNCTION_ARGS)
{
    PushRequest request = request_for(fcinfo, "item_ids");
    required_arg(fcinfo, 3, "blobs");
    ArrayArg blobs = array_arg(fcinfo, 3, "blobs", BYTEAOID, -1, false, TYPALIGN_INT);
    ArrayArg items = array_arg(fcinfo, 2, "item_ids", UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
    ArrayArg if_match = array_arg(fcinfo, 4, "if_match", INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
    if (items.count >= 0 && items.count != blobs.count)
        raise_bad_argument("item_ids", "item_ids and blobs must have the same length");
    if (if_match.count >= 0 && if_match.count != blobs.count)
        raise_bad_argument("if_match", "if_match and blobs must have the same length");
    read_op_id(fcinfo, 5, request);
    request.count = blobs.count;
    request.records = static_cast<PushRecord *>(palloc0(sizeof(PushRecord) * Max(blobs.count, 1)));
    for (int i = 0; i < blobs.count; i++) {
        CHECK_FOR_INTERRUPTS();  // the arrays' length is checked later (CS413)
        PushRecord &r = request.records[i];
        r.blob = blobs.nulls[i] ? nullptr : DatumGetByteaPP(blobs.values[i]);
        r.item_given = items.count >= 0 && !items.nulls[i];
        if (r.item_given)
            r.item = *DatumGetUUIDP(items.values[i]);
        r.has_if_match = if_match.count >= 0 && !if_match.nulls[i];
        r.if_match = r.has_if_match ? DatumGetInt64(if_match.values[i]) : 0;
    }
    return_rows(fcinfo, execute_push(request));
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_delete);
Datum credsync_sync_delete(PG_FUNCTION_ARGS)
{
    PushRequest request = request_for(fcinfo, "item_id");
    PushRecord record = {};
    record.blob = nullptr;
    record.item_given = true;
    record.item = *DatumGetUUIDP(required_arg(fcinfo, 2, "item_id"));
    read_single_if_match(fcinfo, 3, record);
    read_op_id(fcinfo, 4, request);
    request.count = 1;
    request.records = &record;
    PushResult result = execute_push(request);
    PG_RETURN_INT64(result.gencounts[0]);
}

}  // extern "C"
