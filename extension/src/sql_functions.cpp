// The SQL-callable functions: the C++/PostgreSQL border in one file.
//
// Every PG_FUNCTION_INFO_V1 entry point of the library is here, and each is
// thin: it reads its arguments
// (NULL checked before anything is detoasted, each checked and named in
// CS400 errors by validate.h), calls the function that does the work, and
// returns its result. The work is in plain C-style code in the files named
// below, under the rules of guard.h: no C++ object with a destructor lives
// across a call that can raise an ERROR.
//
//   sync_push, sync_push_many, sync_delete   push.cpp (execute_push)
//   sync_pull, sync_pull_page                pull.cpp
//   sync_state, sync_zones, sync_account,
//   sync_zone_states                         state.cpp (sync_zone_states: 1.5)
//   issue_token, revoke_token, token_user,
//   token_user_hash                          tokens.cpp
//   set_quota, drop_user                     admin.cpp
//   compact, compact_batched                 compact.cpp
//   verify_zone                              verify.cpp
//   notify_key                               notify_payload.cpp
//   renew_new_install_secret                 install_secret.cpp (1.2 -> 1.3 script only)
//   account_create, account_set_login,
//   account_delete                           accounts.cpp (1.4)
//   login_challenge, login                   login.cpp (1.4; the proof: login_proof.cpp)
//   token_identity, device_list,
//   device_revoke, token_list,
//   token_revoke_all                         devices.cpp (1.4)
//   zone_delete                              zone_delete.cpp (1.4)
//
// Entry points named *_1_4 serve 1.4's version of a function that existed
// before (credsync--1.3--1.4.sql says why); the older entry point stays for
// databases not yet updated.
#include "accounts.h"
#include "admin.h"
#include "compact.h"
#include "crypto.h"
#include "devices.h"
#include "errors.h"
#include "install_secret.h"
#include "login.h"
#include "login_proof.h"
#include "notify_payload.h"
#include "pull.h"
#include "push.h"
#include "spi.h"
#include "srf.h"
#include "state.h"
#include "tokens.h"
#include "validate.h"
#include "verify.h"
#include "zone_delete.h"

namespace credsync {

// --- arguments of the push functions --------------------------------------

static void return_push_rows(FunctionCallInfo fcinfo, const PushResult &result)
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

// --- arguments of the pull functions --------------------------------------

static PageRequest page_request_args(FunctionCallInfo fcinfo, bool deleted_zones = false)
{
    PageRequest q;
    q.deleted_zones = deleted_zones;
    q.key[0] = PointerGetDatum(user_id_arg(fcinfo, 0));
    q.key[1] = PointerGetDatum(zone_arg(fcinfo, 1));
    q.since = DatumGetInt64(required_arg(fcinfo, 2, "since"));
    q.max_records = DatumGetInt32(required_arg(fcinfo, 3, "max_records"));
    q.full_sync = DatumGetBool(required_arg(fcinfo, 4, "full_sync"));
    if (q.since < 0)
        raise_bad_argument("since", "since must be 0 or more");
    if (q.max_records < 1 || q.max_records > kMaxPullRecords)
        raise_bad_argument("max_records", "max_records must be between 1 and 10000");
    return q;
}

// --- other arguments ------------------------------------------------------

static OptionalLimit limit_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
    OptionalLimit limit = {PG_ARGISNULL(argno), 0};
    if (!limit.isnull) {
        limit.value = PG_GETARG_INT64(argno);
        if (limit.value < 0)
            raise_bad_argument(name, psprintf("%s must be NULL or 0 or more", name));
    }
    return limit;
}

// The login an account keeps, from arguments argno..argno+4 (login_key,
// salt, kdf_ops, kdf_mem, wrapped_key), each checked and named.
static AccountLogin account_login_args(FunctionCallInfo fcinfo, int argno)
{
    AccountLogin login;
    login.login_key = bytes_arg(fcinfo, argno, "login_key", kLoginKeyBytes, kLoginKeyBytes);
    login.salt = bytes_arg(fcinfo, argno + 1, "salt", kSaltBytes, kSaltBytes);
    login.kdf_ops = bounded_int64_arg(fcinfo, argno + 2, "kdf_ops", kMinKdfOps, kMaxKdfOps);
    login.kdf_mem = bounded_int64_arg(fcinfo, argno + 3, "kdf_mem", kMinKdfMem, kMaxKdfMem);
    login.wrapped_key = bytes_arg(fcinfo, argno + 4, "wrapped_key", 1, kMaxWrappedKeyBytes);
    return login;
}

static bytea *token_sha256_arg(FunctionCallInfo fcinfo, int argno)
{
    bytea *hash = PG_GETARG_BYTEA_PP(argno);
    if (VARSIZE_ANY_EXHDR(hash) != kSha256Bytes)
        raise_bad_argument("token_sha256", "token_sha256 must be the 32 bytes of a token's SHA-256");
    return hash;
}

static const Interval *keep_arg(FunctionCallInfo fcinfo, int argno)
{
    if (PG_ARGISNULL(argno))
        raise_bad_argument("keep", "keep must not be NULL");
    return PG_GETARG_INTERVAL_P(argno);
}

}  // namespace credsync

using namespace credsync;

extern "C" {

// --- writes ---------------------------------------------------------------

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
    return_push_rows(fcinfo, execute_push(request));
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
    return_push_rows(fcinfo, execute_push(request));
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

// --- reads ----------------------------------------------------------------

PG_FUNCTION_INFO_V1(credsync_sync_pull);
Datum credsync_sync_pull(PG_FUNCTION_ARGS)
{
    PageRequest q = page_request_args(fcinfo);
    sync_pull(begin_materialized_result(fcinfo), q);
    return (Datum)0;
}

// max_bytes NULL: no byte cap.
PG_FUNCTION_INFO_V1(credsync_sync_pull_page);
Datum credsync_sync_pull_page(PG_FUNCTION_ARGS)
{
    PageRequest q = page_request_args(fcinfo);
    int64 max_bytes = PG_ARGISNULL(5) ? -1 : PG_GETARG_INT64(5);
    if (!PG_ARGISNULL(5) && max_bytes < 0)
        raise_bad_argument("max_bytes", "max_bytes must be 0 or more");
    sync_pull_page(begin_materialized_result(fcinfo), q, max_bytes);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_pull_1_4);
Datum credsync_sync_pull_1_4(PG_FUNCTION_ARGS)
{
    PageRequest q = page_request_args(fcinfo, true);
    sync_pull(begin_materialized_result(fcinfo), q);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_pull_page_1_4);
Datum credsync_sync_pull_page_1_4(PG_FUNCTION_ARGS)
{
    PageRequest q = page_request_args(fcinfo, true);
    int64 max_bytes = PG_ARGISNULL(5) ? -1 : PG_GETARG_INT64(5);
    if (!PG_ARGISNULL(5) && max_bytes < 0)
        raise_bad_argument("max_bytes", "max_bytes must be 0 or more");
    sync_pull_page(begin_materialized_result(fcinfo), q, max_bytes);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_state);
Datum credsync_sync_state(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    sync_state(begin_materialized_result(fcinfo), user_id, zone);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_zones);
Datum credsync_sync_zones(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    sync_zones(begin_materialized_result(fcinfo), user_id, false);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_zones_1_4);
Datum credsync_sync_zones_1_4(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    sync_zones(begin_materialized_result(fcinfo), user_id, true);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_zone_states_1_5);
Datum credsync_sync_zone_states_1_5(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    sync_zone_states(begin_materialized_result(fcinfo), user_id);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_sync_account);
Datum credsync_sync_account(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    sync_account(begin_materialized_result(fcinfo), user_id);
    return (Datum)0;
}

// --- tokens ---------------------------------------------------------------

PG_FUNCTION_INFO_V1(credsync_issue_token);
Datum credsync_issue_token(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    // The label is stored as given: no detoasting needed.
    PG_RETURN_TEXT_P(issue_token(user_id, PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1)));
}

PG_FUNCTION_INFO_V1(credsync_revoke_token);
Datum credsync_revoke_token(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_BOOL(false);
    PG_RETURN_BOOL(revoke_token(PG_GETARG_TEXT_PP(0)));
}

PG_FUNCTION_INFO_V1(credsync_token_user);
Datum credsync_token_user(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    text *user_id = token_user(PG_GETARG_TEXT_PP(0));
    if (user_id == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(user_id);
}

// token_user_hash(token_sha256) (1.3): token_user for a token the caller has
// hashed, so the token itself never reaches the server.
PG_FUNCTION_INFO_V1(credsync_token_user_hash);
Datum credsync_token_user_hash(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    text *user_id = token_user_by_hash(token_sha256_arg(fcinfo, 0));
    if (user_id == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(user_id);
}

// --- administration -------------------------------------------------------

PG_FUNCTION_INFO_V1(credsync_set_quota);
Datum credsync_set_quota(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    OptionalLimit max_bytes = limit_arg(fcinfo, 1, "max_bytes");
    OptionalLimit max_items = limit_arg(fcinfo, 2, "max_items");
    set_quota(user_id, max_bytes, max_items);
    PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(credsync_drop_user);
Datum credsync_drop_user(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    PG_RETURN_INT64(drop_user(user_id, false));
}

PG_FUNCTION_INFO_V1(credsync_drop_user_1_4);
Datum credsync_drop_user_1_4(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    PG_RETURN_INT64(drop_user(user_id, true));
}

PG_FUNCTION_INFO_V1(credsync_compact);
Datum credsync_compact(PG_FUNCTION_ARGS)
{
    PG_RETURN_INT64(compact(keep_arg(fcinfo, 0)));
}

// CALL credsync.compact_batched(keep, batch): compact() a batch of zones at a
// time, committing after each batch, then the old op ids the same way.
// Returns (INOUT removed) what compact() would have returned.
PG_FUNCTION_INFO_V1(credsync_compact_batched);
Datum credsync_compact_batched(PG_FUNCTION_ARGS)
{
    const Interval *keep = keep_arg(fcinfo, 0);
    if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) < 1)
        raise_bad_argument("batch", "batch must be 1 or more");
    int32 batch = PG_GETARG_INT32(1);
    compact_check_keep(keep);  // arguments first, then the context
    // Only a CALL outside a transaction block (and not from a function) may
    // commit.
    bool may_commit = fcinfo->context != nullptr && IsA(fcinfo->context, CallContext) &&
                      !castNode(CallContext, fcinfo->context)->atomic;
    if (!may_commit) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
                        errmsg("credsync.compact_batched() commits after each batch: CALL it outside a "
                               "transaction block"),
                        errhint("Inside a transaction, use SELECT credsync.compact(keep).")));
    }
    int64 removed = compact_batched(keep, batch, fcinfo->flinfo->fn_oid);

    TupleDesc result_desc;
    if (get_call_result_type(fcinfo, nullptr, &result_desc) != TYPEFUNC_COMPOSITE)
        elog(ERROR, "credsync: compact_batched must have an INOUT removed argument");
    result_desc = BlessTupleDesc(result_desc);
    Datum values[1] = {Int64GetDatum(removed)};
    bool nulls[1] = {false};
    return HeapTupleGetDatum(heap_form_tuple(result_desc, values, nulls));
}

PG_FUNCTION_INFO_V1(credsync_verify_zone);
Datum credsync_verify_zone(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    verify_zone(begin_materialized_result(fcinfo), user_id, zone);
    return (Datum)0;
}

// --- notifications ------------------------------------------------------------

PG_FUNCTION_INFO_V1(credsync_notify_key);
Datum credsync_notify_key(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    spi_connect();
    char *key = notify_key_for(user_id, zone);
    text *result = (text *)SPI_palloc(VARHDRSZ + kNotifyKeyHexChars);
    SET_VARSIZE(result, VARHDRSZ + kNotifyKeyHexChars);
    memcpy(VARDATA(result), key, kNotifyKeyHexChars);
    SPI_finish();
    PG_RETURN_TEXT_P(result);
}

// --- accounts, login, devices (1.4) ------------------------------------------

PG_FUNCTION_INFO_V1(credsync_account_create);
Datum credsync_account_create(PG_FUNCTION_ARGS)
{
    text *name = user_id_arg(fcinfo, 0, "name");
    AccountLogin login = account_login_args(fcinfo, 1);
    text *label = label_arg(fcinfo, 6, "device_label");
    account_create(begin_materialized_result(fcinfo), name, login, label);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_login_challenge);
Datum credsync_login_challenge(PG_FUNCTION_ARGS)
{
    text *name = user_id_arg(fcinfo, 0, "name");
    login_challenge(begin_materialized_result(fcinfo), name);
    return (Datum)0;
}

// Bad shapes are CS400 and change nothing; a wrong proof is a result row.
PG_FUNCTION_INFO_V1(credsync_login);
Datum credsync_login(PG_FUNCTION_ARGS)
{
    text *name = user_id_arg(fcinfo, 0, "name");
    bytea *challenge = bytes_arg(fcinfo, 1, "challenge", kChallengeBytes, kChallengeBytes);
    bytea *signature = bytes_arg(fcinfo, 2, "signature", kSignatureBytes, kSignatureBytes);
    text *label = label_arg(fcinfo, 3, "device_label");
    login(begin_materialized_result(fcinfo), name, challenge, signature, label);
    return (Datum)0;
}

// NULL gives no row, as token_user_hash(NULL) gives NULL.
PG_FUNCTION_INFO_V1(credsync_token_identity);
Datum credsync_token_identity(PG_FUNCTION_ARGS)
{
    ReturnSetInfo *rsinfo = begin_materialized_result(fcinfo);
    if (!PG_ARGISNULL(0))
        token_identity(rsinfo, token_sha256_arg(fcinfo, 0));
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_device_list);
Datum credsync_device_list(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    device_list(begin_materialized_result(fcinfo), user_id);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_device_revoke);
Datum credsync_device_revoke(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    const pg_uuid_t *device = DatumGetUUIDP(required_arg(fcinfo, 1, "device"));
    PG_RETURN_BOOL(device_revoke(user_id, device));
}

PG_FUNCTION_INFO_V1(credsync_account_set_login);
Datum credsync_account_set_login(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    AccountLogin login = account_login_args(fcinfo, 1);
    bool logout_others = DatumGetBool(required_arg(fcinfo, 6, "logout_others"));
    const pg_uuid_t *keep = PG_ARGISNULL(7) ? nullptr : PG_GETARG_UUID_P(7);
    PG_RETURN_INT32(account_set_login(user_id, login, logout_others, keep));
}

PG_FUNCTION_INFO_V1(credsync_zone_delete);
Datum credsync_zone_delete(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *zone = zone_arg(fcinfo, 1);
    PG_RETURN_INT64(zone_delete(user_id, zone));
}

// challenge and signature: NULL or of their sizes (whether they are needed
// depends on the account: accounts.cpp).
PG_FUNCTION_INFO_V1(credsync_account_delete);
Datum credsync_account_delete(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    bytea *challenge = optional_bytes_arg(fcinfo, 1, "challenge", kChallengeBytes, kChallengeBytes);
    bytea *signature = optional_bytes_arg(fcinfo, 2, "signature", kSignatureBytes, kSignatureBytes);
    account_delete(begin_materialized_result(fcinfo), user_id, challenge, signature);
    return (Datum)0;
}

PG_FUNCTION_INFO_V1(credsync_token_list);
Datum credsync_token_list(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    token_list(begin_materialized_result(fcinfo), user_id);
    return (Datum)0;
}

// label NULL: every live token of the user.
PG_FUNCTION_INFO_V1(credsync_token_revoke_all);
Datum credsync_token_revoke_all(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    text *label = PG_ARGISNULL(1) ? nullptr : PG_GETARG_TEXT_PP(1);
    PG_RETURN_INT32(token_revoke_all(user_id, label));
}

// Used by credsync--1.2--1.3.sql only (the function is dropped again there).
PG_FUNCTION_INFO_V1(credsync_renew_new_install_secret);
Datum credsync_renew_new_install_secret(PG_FUNCTION_ARGS)
{
    PG_RETURN_BOOL(renew_new_install_secret());
}

}  // extern "C"
