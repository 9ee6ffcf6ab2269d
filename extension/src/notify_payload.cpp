#include "notify_payload.h"

#include "crypto.h"
#include "errors.h"
#include "notify_worker.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

static Statement read_secret = {
    "SELECT secret FROM credsync.install_secret", 0, {}, nullptr};

// The secret never changes while a database exists, so each backend reads it
// once and keeps the HMAC key state derived from it.
static HmacKey secret_key;
static bool secret_loaded = false;

static const HmacKey &installation_key()
{
    if (!secret_loaded) {
        spi_run(read_secret, nullptr, nullptr, true, SPI_OK_SELECT);
        bool isnull;
        Datum d = SPI_processed == 1 ? spi_value(0, 1, &isnull) : (Datum)0;
        if (SPI_processed != 1 || isnull)
            elog(ERROR, "credsync: the installation secret is missing");
        bytea *secret = DatumGetByteaPP(d);
        if (VARSIZE_ANY_EXHDR(secret) != kSha256Bytes)
            elog(ERROR, "credsync: the installation secret has the wrong size");
        if (!hmac_key_init(&secret_key, reinterpret_cast<const uint8_t *>(VARDATA_ANY(secret)), kSha256Bytes))
            elog(ERROR, "credsync: could not set up HMAC-SHA-256");
        secret_loaded = true;
    }
    return secret_key;
}

char *notify_key_for(text *user_id, text *zone)
{
    const HmacKey &key_state = installation_key();
    int user_len = VARSIZE_ANY_EXHDR(user_id);
    int zone_len = VARSIZE_ANY_EXHDR(zone);
    // user_id || 0x00 || zone: the user id has no NUL, so the split is unambiguous.
    char *message = static_cast<char *>(palloc(user_len + 1 + zone_len));
    memcpy(message, VARDATA_ANY(user_id), user_len);
    message[user_len] = '\0';
    memcpy(message + user_len + 1, VARDATA_ANY(zone), zone_len);

    uint8_t mac[kSha256Bytes];
    if (!hmac_sha256(key_state, message, user_len + 1 + zone_len, mac))
        elog(ERROR, "credsync: HMAC-SHA-256 failed");
    char *key = static_cast<char *>(palloc(kNotifyKeyHexChars + 1));
    to_hex(mac, kNotifyKeyHexChars / 2, key);
    pfree(message);
    return key;
}

void notify_push(text *user_id, text *zone, int64 gencount)
{
    if (!settings.notify)
        return;
    char *key = notify_key_for(user_id, zone);
    notify_at_commit(psprintf("%s " INT64_FORMAT, key, gencount));
}

void notify_tokens_changed()
{
    Async_Notify("credsync_tokens", "");
}

}  // namespace credsync
