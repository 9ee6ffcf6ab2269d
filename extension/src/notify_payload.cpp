#include "notify_payload.h"

#include "crypto.h"
#include "errors.h"
#include "install_secret.h"
#include "notify_worker.h"
#include "settings.h"
#include "spi.h"

namespace credsync {

// The HMAC under the installation secret is install_secret.cpp's: one
// reader of the secret, kept per backend.
char *notify_key_for(text *user_id, text *zone)
{
    int user_len = VARSIZE_ANY_EXHDR(user_id);
    int zone_len = VARSIZE_ANY_EXHDR(zone);
    // user_id || 0x00 || zone: the user id has no NUL, so the split is unambiguous.
    char *message = static_cast<char *>(palloc(user_len + 1 + zone_len));
    memcpy(message, VARDATA_ANY(user_id), user_len);
    message[user_len] = '\0';
    memcpy(message + user_len + 1, VARDATA_ANY(zone), zone_len);

    uint8_t mac[kSha256Bytes];
    installation_hmac(message, user_len + 1 + zone_len, mac);
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
