// account_create, account_set_login, account_delete (1.4).
#include "accounts.h"

#include "admin.h"
#include "deleted_users.h"
#include "errors.h"
#include "login_proof.h"
#include "notify_payload.h"
#include "spi.h"
#include "tokens.h"

namespace credsync {

// ON CONFLICT DO NOTHING: of two signups of one name, the second waits for
// the first to commit and then inserts nothing (CSA09); if the first rolls
// back, the second gets the name.
static Statement insert_account = {
    "INSERT INTO credsync.accounts (name, login_key, salt, kdf_ops, kdf_mem, wrapped_key)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
    6, {TEXTOID, BYTEAOID, BYTEAOID, INT8OID, INT8OID, BYTEAOID}, nullptr};

// Revoked tokens count too: their user id is someone's.
static Statement user_has_data = {
    "SELECT EXISTS (SELECT FROM credsync.zones WHERE user_id OPERATOR(pg_catalog.=) $1)"
    "    OR EXISTS (SELECT FROM credsync.tokens WHERE user_id OPERATOR(pg_catalog.=) $1)",
    1, {TEXTOID}, nullptr};

static Statement update_login = {
    "UPDATE credsync.accounts SET login_key = $2, salt = $3, kdf_ops = $4, kdf_mem = $5, wrapped_key = $6,"
    " updated_at = pg_catalog.now() WHERE name OPERATOR(pg_catalog.=) $1",
    6, {TEXTOID, BYTEAOID, BYTEAOID, INT8OID, INT8OID, BYTEAOID}, nullptr};

static Statement revoke_other_devices = {
    "UPDATE credsync.tokens SET revoked_at = pg_catalog.now()"
    " WHERE user_id OPERATOR(pg_catalog.=) $1 AND revoked_at IS NULL AND device IS DISTINCT FROM $2",
    2, {TEXTOID, UUIDOID}, nullptr};

static Statement account_exists = {
    "SELECT FROM credsync.accounts WHERE name OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

static void login_values(text *name, const AccountLogin &login, Datum values[6])
{
    values[0] = PointerGetDatum(name);
    values[1] = PointerGetDatum(login.login_key);
    values[2] = PointerGetDatum(login.salt);
    values[3] = Int64GetDatum(login.kdf_ops);
    values[4] = Int64GetDatum(login.kdf_mem);
    values[5] = PointerGetDatum(login.wrapped_key);
}

static void raise_name_taken()
{
    raise_with_detail(kNameTaken, "name", "the name is taken");
}

void account_create(ReturnSetInfo *rsinfo, text *name, const AccountLogin &login, text *device_label)
{
    spi_connect();
    Datum values[6];
    login_values(name, login, values);
    // The new row's unique key is the name's lock: from here on a concurrent
    // signup of it waits for this transaction.
    if (spi_run(insert_account, values, nullptr, false, SPI_OK_INSERT) != 1)
        raise_name_taken();
    spi_run(user_has_data, values, nullptr, false, SPI_OK_SELECT);
    if (spi_bool(0, 1))
        raise_name_taken();  // the ERROR takes the account row back out
    // A name deleted a moment ago starts again (deleted_users.h).
    forget_user_deleted(name);
    pg_uuid_t device;
    text *token = issue_device_token(name, device_label, &device);
    Datum out[3] = {PointerGetDatum(name), UUIDPGetDatum(&device), PointerGetDatum(token)};
    bool nulls[3] = {false, false, false};
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
}

int32 account_set_login(text *user_id, const AccountLogin &login, bool logout_others, const pg_uuid_t *keep_device)
{
    spi_connect();
    Datum values[6];
    login_values(user_id, login, values);
    if (spi_run(update_login, values, nullptr, false, SPI_OK_UPDATE) != 1)
        raise_bad_argument("user_id", "the user has no account: a login can only be replaced, not added");
    int32 revoked = 0;
    if (logout_others) {
        Datum who[2] = {PointerGetDatum(user_id), UUIDPGetDatum(const_cast<pg_uuid_t *>(keep_device))};
        char nulls[2] = {' ', keep_device ? ' ' : 'n'};
        revoked = static_cast<int32>(spi_run(revoke_other_devices, who, nulls, false, SPI_OK_UPDATE));
    }
    SPI_finish();
    if (revoked > 0)
        notify_tokens_changed();
    return revoked;
}

void account_delete(ReturnSetInfo *rsinfo, text *user_id, bytea *challenge, bytea *signature)
{
    Datum out[3] = {0, 0, 0};
    bool nulls[3] = {false, true, true};
    spi_connect();
    Datum key[1] = {PointerGetDatum(user_id)};
    // Whether a proof is needed; the proof itself locks the account's row
    // (after the failure counter's, in login's order).
    if (spi_run(account_exists, key, nullptr, false, SPI_OK_SELECT) > 0) {
        if (challenge == nullptr)
            raise_bad_argument("challenge", "the account has a login key: deleting it needs a login proof");
        if (signature == nullptr)
            raise_bad_argument("signature", "the account has a login key: deleting it needs a login proof");
        ProofOutcome outcome = check_login_proof(user_id, challenge, signature);
        if (outcome.proof != Proof::ok) {
            out[0] = CStringGetTextDatum(proof_result(outcome.proof));
            if (outcome.proof == Proof::too_many_attempts) {
                out[2] = Int32GetDatum(outcome.retry_after);
                nulls[2] = false;
            }
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
            SPI_finish();
            return;
        }
    }
    out[0] = CStringGetTextDatum(proof_result(Proof::ok));
    out[1] = Int64GetDatum(drop_user(user_id, true));
    nulls[1] = false;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
    SPI_finish();
}

}  // namespace credsync
