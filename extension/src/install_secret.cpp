// The installation secret of a new database (the key of notify_key()).
//
// The 1.0 and 1.1 install scripts make it from two random UUIDs: 32 bytes,
// but only 244 random bits (each UUID's version and variant bits are
// fixed). The 1.2 -> 1.3 script replaces it with 32 bytes from the server's
// CSPRNG when CREATE EXTENSION is what runs it. An existing database keeps
// its secret: backends and listeners keep the notify keys derived from it,
// and a change would silently break the match between them.
#include "install_secret.h"

#include "crypto.h"
#include "spi.h"

extern "C" {
#include "access/transam.h"
#include "access/xact.h"
}

namespace credsync {

// Whether this transaction (or one of its subtransactions) inserted the
// secret's row: CREATE EXTENSION, not ALTER EXTENSION UPDATE.
static bool secret_made_by_this_transaction()
{
    if (SPI_execute("SELECT xmin FROM credsync.install_secret", true, 0) != SPI_OK_SELECT)
        elog(ERROR, "credsync: could not read the installation secret");
    if (SPI_processed != 1)
        return false;
    bool isnull;
    Datum xmin = spi_value(0, 1, &isnull);
    return !isnull && TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
}

static void store_random_secret()
{
    uint8_t secret[kSha256Bytes];
    if (!pg_strong_random(secret, sizeof secret))
        elog(ERROR, "credsync: could not generate the installation secret");
    Oid types[1] = {BYTEAOID};
    Datum values[1] = {PointerGetDatum(bytes_as_bytea(secret, sizeof secret))};
    explicit_bzero(secret, sizeof secret);
    if (SPI_execute_with_args("UPDATE credsync.install_secret SET secret = $1", 1, types, values, nullptr, false,
                              0) != SPI_OK_UPDATE ||
        SPI_processed != 1)
        elog(ERROR, "credsync: could not store the installation secret");
    bytea *copy = reinterpret_cast<bytea *>(DatumGetPointer(values[0]));
    explicit_bzero(VARDATA(copy), kSha256Bytes);
}

// The HMAC key state of the secret, per backend: the one reader of the
// secret (notify keys, login's stand-in salts). The secret never changes
// while a database exists (ALTER EXTENSION UPDATE keeps it); a restore makes
// a new database.
static Statement read_secret = {"SELECT secret FROM credsync.install_secret", 0, {}, nullptr};
static HmacKey secret_key;
static bool secret_loaded = false;

void installation_hmac(const void *message, size_t len, uint8_t mac[kSha256Bytes])
{
    if (!secret_loaded) {
        spi_run(read_secret, nullptr, nullptr, true, SPI_OK_SELECT);
        bool isnull = true;
        Datum d = SPI_processed == 1 ? spi_value(0, 1, &isnull) : (Datum)0;
        if (isnull)
            elog(ERROR, "credsync: the installation secret is missing");
        bytea *secret = DatumGetByteaPP(d);
        if (VARSIZE_ANY_EXHDR(secret) != kSha256Bytes)
            elog(ERROR, "credsync: the installation secret has the wrong size");
        if (!hmac_key_init(&secret_key, reinterpret_cast<const uint8_t *>(VARDATA_ANY(secret)), kSha256Bytes))
            elog(ERROR, "credsync: could not set up HMAC-SHA-256");
        SPI_freetuptable(SPI_tuptable);
        secret_loaded = true;
    }
    if (!hmac_sha256(secret_key, message, len, mac))
        elog(ERROR, "credsync: HMAC-SHA-256 failed");
}

bool renew_new_install_secret()
{
    spi_connect();
    bool renew = secret_made_by_this_transaction();
    if (renew)
        store_random_secret();
    SPI_finish();
    return renew;
}

}  // namespace credsync
