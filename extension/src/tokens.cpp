// Bearer tokens: "cs_" followed by 64 hex digits (32 random bytes). Only
// the token's SHA-256 is stored, so a leaked table does not leak tokens.
#include "crypto.h"
#include "errors.h"
#include "notify.h"
#include "spi.h"
#include "validate.h"

namespace credsync {

constexpr int kTokenRandomBytes = 32;
static const char kTokenPrefix[] = "cs_";

static Statement insert_token = {
    "INSERT INTO credsync.tokens (user_id, token_sha256, label) VALUES ($1, $2, $3)",
    3, {TEXTOID, BYTEAOID, TEXTOID}, nullptr};

static Statement revoke_live_token = {
    "UPDATE credsync.tokens SET revoked_at = pg_catalog.now()"
    " WHERE token_sha256 OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL",
    1, {BYTEAOID}, nullptr};

static Statement lookup = {
    "SELECT user_id FROM credsync.tokens"
    " WHERE token_sha256 OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL LIMIT 1",
    1, {BYTEAOID}, nullptr};

static bytea *token_hash(text *token)
{
    bytea *hash = static_cast<bytea *>(palloc(VARHDRSZ + kSha256Bytes));
    SET_VARSIZE(hash, VARHDRSZ + kSha256Bytes);
    if (!sha256(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), reinterpret_cast<uint8_t *>(VARDATA(hash))))
        elog(ERROR, "credsync: SHA-256 failed");
    return hash;
}

// The user of the live token with this SHA-256 (a bytea), or nullptr;
// allocated in the caller's memory context.
static text *user_of_token_hash(Datum hash)
{
    spi_connect();
    Datum values[1] = {hash};
    text *user_id = nullptr;
    if (spi_run(lookup, values, nullptr, true, SPI_OK_SELECT) == 1) {
        bool isnull;
        Datum d = spi_value(0, 1, &isnull);
        if (!isnull)
            user_id = DatumGetTextPP(SPI_datumTransfer(d, false, -1));
    }
    SPI_finish();
    return user_id;
}

}  // namespace credsync

using namespace credsync;

extern "C" {

PG_FUNCTION_INFO_V1(credsync_issue_token);
Datum credsync_issue_token(PG_FUNCTION_ARGS)
{
    text *user_id = user_id_arg(fcinfo, 0);
    uint8_t random[kTokenRandomBytes];
    if (!pg_strong_random(random, sizeof random))
        elog(ERROR, "credsync: could not generate a random token");
    char token[sizeof kTokenPrefix + 2 * kTokenRandomBytes];
    memcpy(token, kTokenPrefix, sizeof kTokenPrefix - 1);
    to_hex(random, sizeof random, token + sizeof kTokenPrefix - 1);
    text *token_text = cstring_to_text(token);

    spi_connect();
    Datum values[3] = {PointerGetDatum(user_id), PointerGetDatum(token_hash(token_text)),
                       PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1)};
    char nulls[3] = {' ', ' ', PG_ARGISNULL(1) ? 'n' : ' '};
    spi_run(insert_token, values, nulls, false, SPI_OK_INSERT);
    SPI_finish();
    PG_RETURN_TEXT_P(token_text);
}

PG_FUNCTION_INFO_V1(credsync_revoke_token);
Datum credsync_revoke_token(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_BOOL(false);
    spi_connect();
    Datum values[1] = {PointerGetDatum(token_hash(PG_GETARG_TEXT_PP(0)))};
    bool revoked = spi_run(revoke_live_token, values, nullptr, false, SPI_OK_UPDATE) > 0;
    SPI_finish();
    if (revoked)
        credsync::notify_tokens_changed();
    PG_RETURN_BOOL(revoked);
}

PG_FUNCTION_INFO_V1(credsync_token_user);
Datum credsync_token_user(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    text *user_id = user_of_token_hash(PointerGetDatum(token_hash(PG_GETARG_TEXT_PP(0))));
    if (user_id == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(user_id);
}

// token_user_hash(token_sha256) (1.3): token_user for a token the caller
// has hashed, so the token itself never reaches the server.
PG_FUNCTION_INFO_V1(credsync_token_user_hash);
Datum credsync_token_user_hash(PG_FUNCTION_ARGS)
{
    if (PG_ARGISNULL(0))
        PG_RETURN_NULL();
    bytea *hash = PG_GETARG_BYTEA_PP(0);
    if (VARSIZE_ANY_EXHDR(hash) != kSha256Bytes)
        raise_bad_argument("token_sha256", "token_sha256 must be the 32 bytes of a token's SHA-256");
    text *user_id = user_of_token_hash(PointerGetDatum(hash));
    if (user_id == nullptr)
        PG_RETURN_NULL();
    PG_RETURN_TEXT_P(user_id);
}

}  // extern "C"
