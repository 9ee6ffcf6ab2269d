// login_challenge and login (1.4).
#include "login.h"

#include "install_secret.h"
#include "login_proof.h"
#include "spi.h"
#include "tokens.h"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace credsync {

static Statement account_cost = {
    "SELECT salt, kdf_ops, kdf_mem FROM credsync.accounts WHERE name OPERATOR(pg_catalog.=) $1",
    1, {TEXTOID}, nullptr};

static Statement store_challenge = {
    "INSERT INTO credsync.login_challenges (name, challenge, expires_at)"
    " VALUES ($1, $2, pg_catalog.now() OPERATOR(pg_catalog.+) pg_catalog.make_interval(secs => $3))",
    3, {TEXTOID, BYTEAOID, FLOAT8OID}, nullptr};

// Housekeeping of the name asked for: its expired challenges, and its
// counter if its window has passed (a login would start it again at 0
// anyway). Only the name's own rows, so that the statement stays on the
// name's shard on Citus (a sweep over all names is a multi-shard locking
// query Citus refuses, also in a delegated call); compact() and
// compact_batched() sweep every name (login_sweep.h). Rows another
// transaction holds are skipped, not waited for.
static Statement forget_expired_challenges = {
    "DELETE FROM credsync.login_challenges c USING ("
    "  SELECT name, challenge FROM credsync.login_challenges"
    "   WHERE name OPERATOR(pg_catalog.=) $1 AND expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()"
    "   FOR UPDATE SKIP LOCKED) old"
    " WHERE c.name OPERATOR(pg_catalog.=) $1 AND c.name OPERATOR(pg_catalog.=) old.name"
    "   AND c.challenge OPERATOR(pg_catalog.=) old.challenge",
    1, {TEXTOID}, nullptr};

static Statement forget_passed_window = {
    "DELETE FROM credsync.login_failures f USING ("
    "  SELECT name FROM credsync.login_failures"
    "   WHERE name OPERATOR(pg_catalog.=) $1 AND window_start OPERATOR(pg_catalog.<=)"
    "         (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $2))"
    "   FOR UPDATE SKIP LOCKED) old"
    " WHERE f.name OPERATOR(pg_catalog.=) $1 AND f.name OPERATOR(pg_catalog.=) old.name",
    2, {TEXTOID, FLOAT8OID}, nullptr};

static Statement account_wrapped_key = {
    "SELECT wrapped_key FROM credsync.accounts WHERE name OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

static const char kFakeSaltContext[] = "credsync fake salt v1\n";

// The first 16 bytes of HMAC-SHA-256(installation secret,
// "credsync fake salt v1\n" || name as UTF-8): the same for every call with
// the name, unrelated to any other name's, unguessable without the secret.
static bytea *fake_salt(text *name)
{
    const char *server = VARDATA_ANY(name);
    int server_len = VARSIZE_ANY_EXHDR(name);
    const char *utf8 = pg_server_to_any(server, server_len, PG_UTF8);
    size_t name_len = utf8 == server ? static_cast<size_t>(server_len) : strlen(utf8);
    size_t context_len = sizeof kFakeSaltContext - 1;
    char *message = static_cast<char *>(palloc(context_len + name_len));
    memcpy(message, kFakeSaltContext, context_len);
    memcpy(message + context_len, utf8, name_len);
    uint8_t mac[kSha256Bytes];
    installation_hmac(message, context_len + name_len, mac);
    pfree(message);
    return bytes_as_bytea(mac, kSaltBytes);
}

void login_challenge(ReturnSetInfo *rsinfo, text *name)
{
    uint8_t random[kChallengeBytes];
    if (!pg_strong_random(random, sizeof random))
        elog(ERROR, "credsync: could not generate a random challenge");
    bytea *challenge = bytes_as_bytea(random, sizeof random);

    spi_connect();
    Datum sweep[2] = {PointerGetDatum(name), Float8GetDatum(kFailureWindowSeconds)};
    spi_run(forget_expired_challenges, sweep, nullptr, false, SPI_OK_DELETE);
    spi_run(forget_passed_window, sweep, nullptr, false, SPI_OK_DELETE);

    Datum values[5] = {PointerGetDatum(challenge), 0, Int64GetDatum(kDefaultKdfOps), Int64GetDatum(kDefaultKdfMem),
                       Int32GetDatum(kChallengeSeconds)};
    bool nulls[5] = {false, false, false, false, false};
    Datum key[1] = {PointerGetDatum(name)};
    if (spi_run(account_cost, key, nullptr, false, SPI_OK_SELECT) == 1) {
        bool salt_null, ops_null, mem_null;
        values[1] = spi_value(0, 1, &salt_null);
        values[2] = spi_value(0, 2, &ops_null);
        values[3] = spi_value(0, 3, &mem_null);
        if (salt_null || ops_null || mem_null)
            elog(ERROR, "credsync: an account has NULL columns");
    } else {
        values[1] = PointerGetDatum(fake_salt(name));
    }

    Datum stored[3] = {PointerGetDatum(name), PointerGetDatum(challenge), Float8GetDatum(kChallengeSeconds)};
    spi_run(store_challenge, stored, nullptr, false, SPI_OK_INSERT);
    // (the account's row, read above, is kept until SPI_finish)
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    SPI_finish();
}

void login(ReturnSetInfo *rsinfo, text *name, bytea *challenge, bytea *signature, text *device_label)
{
    Datum values[6] = {0, 0, 0, 0, 0, 0};
    bool nulls[6] = {false, true, true, true, true, true};

    spi_connect();
    ProofOutcome outcome = check_login_proof(name, challenge, signature);
    values[0] = CStringGetTextDatum(proof_result(outcome.proof));
    if (outcome.proof == Proof::too_many_attempts) {
        values[5] = Int32GetDatum(outcome.retry_after);
        nulls[5] = false;
    } else if (outcome.proof == Proof::ok) {
        pg_uuid_t *device = static_cast<pg_uuid_t *>(palloc(sizeof(pg_uuid_t)));
        text *token = issue_device_token(name, device_label, device);
        Datum key[1] = {PointerGetDatum(name)};
        bool isnull = true;
        if (spi_run(account_wrapped_key, key, nullptr, false, SPI_OK_SELECT) == 1)
            values[4] = spi_value(0, 1, &isnull);
        if (isnull)
            elog(ERROR, "credsync: the account has no wrapped key");
        values[1] = PointerGetDatum(name);
        values[2] = UUIDPGetDatum(device);
        values[3] = PointerGetDatum(token);
        for (int i = 1; i <= 4; i++)
            nulls[i] = false;
    }
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    SPI_finish();
}

}  // namespace credsync
