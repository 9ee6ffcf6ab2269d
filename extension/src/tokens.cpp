// Bearer tokens: "cs_" followed by 64 hex digits (32 random bytes). Only
// the token's SHA-256 is stored, so a leaked table does not leak tokens.
#include "tokens.h"

#include "crypto.h"
#include "deleted_users.h"
#include "notify_payload.h"
#include "spi.h"

namespace credsync {

constexpr int kTokenRandomBytes = 32;
static const char kTokenPrefix[] = "cs_";

static Statement insert_token = {
    "INSERT INTO credsync.tokens (user_id, token_sha256, label) VALUES ($1, $2, $3)",
    3, {TEXTOID, BYTEAOID, TEXTOID}, nullptr};

// 1.4 (the device column is 1.4's).
static Statement insert_device_token = {
    "INSERT INTO credsync.tokens (user_id, token_sha256, label) VALUES ($1, $2, $3) RETURNING device",
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

// A new token's text, palloc'd.
static text *new_token()
{
    uint8_t random[kTokenRandomBytes];
    if (!pg_strong_random(random, sizeof random))
        elog(ERROR, "credsync: could not generate a random token");
    char token[sizeof kTokenPrefix + 2 * kTokenRandomBytes];
    memcpy(token, kTokenPrefix, sizeof kTokenPrefix - 1);
    to_hex(random, sizeof random, token + sizeof kTokenPrefix - 1);
    text *token_text = cstring_to_text(token);
    explicit_bzero(random, sizeof random);
    explicit_bzero(token, sizeof token);
    return token_text;
}

text *issue_token(text *user_id, Datum label, bool label_null)
{
    text *token_text = new_token();

    spi_connect();
    // A token for a deleted user id starts it again: its pushes may create
    // zones (deleted_users.h). A deletion under way is waited for first, so
    // that it cannot remove this token after the mark is gone.
    forget_user_deleted(user_id);
    Datum values[3] = {PointerGetDatum(user_id), PointerGetDatum(token_hash(token_text)), label};
    char nulls[3] = {' ', ' ', label_null ? 'n' : ' '};
    spi_run(insert_token, values, nulls, false, SPI_OK_INSERT);
    SPI_finish();
    return token_text;
}

text *issue_device_token(text *user_id, text *label, pg_uuid_t *device)
{
    text *token_text = new_token();
    Datum values[3] = {PointerGetDatum(user_id), PointerGetDatum(token_hash(token_text)), PointerGetDatum(label)};
    char nulls[3] = {' ', ' ', label ? ' ' : 'n'};
    if (spi_run(insert_device_token, values, nulls, false, SPI_OK_INSERT_RETURNING) != 1)
        elog(ERROR, "credsync: a new token was not stored");
    bool isnull;
    Datum id = spi_value(0, 1, &isnull);
    if (isnull)
        elog(ERROR, "credsync: a new token has no device id");
    *device = *DatumGetUUIDP(id);
    SPI_freetuptable(SPI_tuptable);
    return token_text;
}

bool revoke_token(text *token)
{
    spi_connect();
    Datum values[1] = {PointerGetDatum(token_hash(token))};
    bool revoked = spi_run(revoke_live_token, values, nullptr, false, SPI_OK_UPDATE) > 0;
    SPI_finish();
    if (revoked)
        notify_tokens_changed();
    return revoked;
}

text *token_user(text *token)
{
    return user_of_token_hash(PointerGetDatum(token_hash(token)));
}

text *token_user_by_hash(bytea *token_sha256)
{
    return user_of_token_hash(PointerGetDatum(token_sha256));
}

}  // namespace credsync
