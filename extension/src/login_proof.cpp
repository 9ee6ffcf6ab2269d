// Login proofs and the per-name rate limit (login_proof.h).
//
// Order matters. The failure counter's row is locked first: every proof of
// a name holds it until commit, so concurrent attempts are counted one after
// the other and none is lost. The account's row is locked after it (login,
// account_delete, drop_user all take these two in this order), so a proof
// and a password change or a deletion of the same account never deadlock.
#include "login_proof.h"

#include "crypto.h"
#include "spi.h"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace credsync {

// Creates the name's counter or locks it; a window that has passed starts
// again at 0. Returns failures and the window's start.
static Statement lock_counter = {
    "INSERT INTO credsync.login_failures AS f (name, failures, window_start)"
    " VALUES ($1, 0, $3)"
    " ON CONFLICT (name) DO UPDATE SET"
    "  failures = CASE WHEN f.window_start OPERATOR(pg_catalog.<=)"
    "                       $2"
    "             THEN 0 ELSE f.failures END,"
    "  window_start = CASE WHEN f.window_start OPERATOR(pg_catalog.<=)"
    "                       $2"
    "             THEN $3 ELSE f.window_start END"
    // Times come in as arguments, the seconds left are worked out by the
    // caller: Citus refuses what is not IMMUTABLE (now(), timestamptz minus
    // interval) in DO UPDATE SET and RETURNING. $3 is what now() would be
    // (the transaction's start), $2 the window's length before it.
    " RETURNING failures, window_start",
    3, {TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}, nullptr};

// A failure: the window starts at the first one.
static Statement count_failure = {
    "UPDATE credsync.login_failures SET failures = failures OPERATOR(pg_catalog.+) 1,"
    " window_start = CASE WHEN failures OPERATOR(pg_catalog.=) 0 THEN $2 ELSE window_start END"
    " WHERE name OPERATOR(pg_catalog.=) $1",
    2, {TEXTOID, TIMESTAMPTZOID}, nullptr};  // $2: now() (Citus refuses it in CASE)

static Statement clear_counter = {
    "DELETE FROM credsync.login_failures WHERE name OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}, nullptr};

// Single use: the row goes whatever the outcome; another name's challenge
// or an expired one is not touched (and fails).
static Statement consume_challenge = {
    "DELETE FROM credsync.login_challenges"
    " WHERE name OPERATOR(pg_catalog.=) $1 AND challenge OPERATOR(pg_catalog.=) $2"
    "   AND expires_at OPERATOR(pg_catalog.>) pg_catalog.now()",
    2, {TEXTOID, BYTEAOID}, nullptr};

static Statement lock_account_key = {
    "SELECT login_key FROM credsync.accounts WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
    1, {TEXTOID}, nullptr};

static const char kProofContext[] = "credsync login v1\n";

// An unknown name is verified against this key too, so that it takes the
// same work as a known one (the outcome is failed either way). It is RFC
// 8032's first test key: any valid point would do.
static const uint8_t kStandInKey[kEd25519KeyBytes] = {
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};

const char *proof_result(Proof proof)
{
    switch (proof) {
    case Proof::ok:
        return "ok";
    case Proof::failed:
        return "failed";
    case Proof::too_many_attempts:
        return "too_many_attempts";
    }
    return "failed";
}

// "credsync login v1\n" || challenge || the name's UTF-8 bytes, palloc'd.
static uint8_t *proof_message(text *name, bytea *challenge, size_t *len)
{
    const char *server = VARDATA_ANY(name);
    int server_len = VARSIZE_ANY_EXHDR(name);
    const char *utf8 = pg_server_to_any(server, server_len, PG_UTF8);
    // Unconverted, it is the argument itself (not NUL-terminated); converted,
    // a NUL-terminated copy (a text holds no NUL).
    size_t name_len = utf8 == server ? static_cast<size_t>(server_len) : strlen(utf8);
    size_t context_len = sizeof kProofContext - 1;
    *len = context_len + kChallengeBytes + name_len;
    uint8_t *message = static_cast<uint8_t *>(palloc(*len));
    memcpy(message, kProofContext, context_len);
    memcpy(message + context_len, VARDATA_ANY(challenge), kChallengeBytes);
    memcpy(message + context_len + kChallengeBytes, utf8, name_len);
    return message;
}

ProofOutcome check_login_proof(text *name, bytea *challenge, bytea *signature)
{
    TimestampTz now = GetCurrentTransactionStartTimestamp();
    TimestampTz window = static_cast<TimestampTz>(kFailureWindowSeconds) * USECS_PER_SEC;
    Datum counter_args[3] = {PointerGetDatum(name), TimestampTzGetDatum(now - window), TimestampTzGetDatum(now)};
    spi_run(lock_counter, counter_args, nullptr, false, SPI_OK_INSERT_RETURNING);
    int32 failures = spi_int32(SPI_tuptable, 0, 1);
    bool isnull;
    TimestampTz window_start = DatumGetTimestampTz(spi_value(0, 2, &isnull));
    SPI_freetuptable(SPI_tuptable);
    TimestampTz left = window_start + window - now;
    int32 seconds_left = static_cast<int32>((left + USECS_PER_SEC - 1) / USECS_PER_SEC);  // ceil for left > 0
    if (failures >= kMaxFailures) {
        ProofOutcome locked = {Proof::too_many_attempts, Max(seconds_left, 1)};
        return locked;
    }

    Datum key[2] = {PointerGetDatum(name), PointerGetDatum(challenge)};
    bool challenge_ok = spi_run(consume_challenge, key, nullptr, false, SPI_OK_DELETE) == 1;

    const uint8_t *login_key = kStandInKey;
    bool account_found = spi_run(lock_account_key, key, nullptr, false, SPI_OK_SELECT) == 1;
    if (account_found) {
        bool isnull;
        Datum d = spi_value(0, 1, &isnull);
        bytea *stored = isnull ? nullptr : DatumGetByteaPP(d);
        if (stored && VARSIZE_ANY_EXHDR(stored) == kEd25519KeyBytes)
            login_key = reinterpret_cast<const uint8_t *>(VARDATA_ANY(stored));
        else
            account_found = false;  // a damaged row cannot log in
    }

    size_t len;
    uint8_t *message = proof_message(name, challenge, &len);
    SignatureCheck check = ed25519_verify(login_key, message, len,
                                          reinterpret_cast<const uint8_t *>(VARDATA_ANY(signature)));
    pfree(message);
    if (check == SignatureCheck::failed)
        elog(ERROR, "credsync: Ed25519 verification could not run");
    if (SPI_tuptable)
        SPI_freetuptable(SPI_tuptable);

    Datum who[2] = {PointerGetDatum(name), TimestampTzGetDatum(now)};
    ProofOutcome outcome = {Proof::failed, 0};
    if (challenge_ok && account_found && check == SignatureCheck::valid) {
        spi_run(clear_counter, who, nullptr, false, SPI_OK_DELETE);
        outcome.proof = Proof::ok;
    } else {
        spi_run(count_failure, who, nullptr, false, SPI_OK_UPDATE);
    }
    return outcome;
}

}  // namespace credsync
