// credsync client library: an end-to-end encrypted password vault that syncs
// through a credsync server. See docs/client.md for a complete example.
//
// One Vault is one device: its home directory holds the account, the keys
// and the local store. Everything but signup/login/logout, sync, status
// (server part), devices and passwd works offline. The server only ever sees
// ciphertext, padded to size buckets and bound to (user, zone, item).
//
// Errors are thrown as credsync::Error (error.h). A Vault is not thread-safe;
// several processes may use one home at once (SQLite locking; syncs take turns).
#pragma once

#include "credsync/error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace credsync {

struct Options {
    std::string home;    // the device's home directory (created 0700 if missing)
    std::string server;  // empty: the server this home logged in to, else http://127.0.0.1:8080
};

struct HistoryItem {
    std::string password;
    int64_t until_ms = 0;  // when it stopped being the password (ms since the epoch)
};

struct Entry {
    std::string id;  // a uuid
    std::string zone;
    std::string title, username, password, url, notes;
    int64_t modified_ms = 0;
    std::vector<HistoryItem> history;  // newest first
};

struct NewEntry {
    std::string title, username, password, url, notes;
    std::string zone = "default";
};

// Only the fields set are changed.
struct EntryChanges {
    std::optional<std::string> title, username, password, url, notes;
};

struct ZoneStatus {
    std::string zone;
    int64_t cursor = 0;                     // everything up to this gencount has been pulled
    std::optional<int64_t> server_gencount; // nullopt: the server was not reached
    int64_t pending = 0;                    // local changes not yet pushed
    bool in_sync = false;                   // the server was reached and holds exactly what this device has
};

struct Device {
    std::string id, label, created, last_seen;
    bool current = false;
};

struct SyncOptions {
    bool full = false;  // full resync of every zone: compare every record with the local mirror
    std::function<void(const std::string &message)> on_warning;
    std::function<void(const std::string &zone, int64_t records)> on_progress;
};

struct SyncResult {
    int64_t pulled = 0, pushed = 0, merged = 0;
    int64_t tampered = 0;     // records that failed authentication (reported, never imported)
    int64_t rolled_back = 0;  // older versions the server sent (replayed, or a restore)
    int64_t reuploaded = 0;   // entries the server lacked or held older, sent again
    int64_t resyncs = 0;      // full resyncs done
    int64_t rejected = 0;     // entries whose server version still fails authentication
    std::vector<std::string> too_large;  // entries the server refuses as too large: still pending
    std::vector<std::pair<std::string, int64_t>> zones;  // zone, gencount when verified
    std::vector<std::string> warnings;
};

class Vault {
public:
    explicit Vault(const Options &options);
    ~Vault();
    Vault(Vault &&) noexcept;
    Vault &operator=(Vault &&) noexcept;

    bool logged_in() const;
    std::string account_name() const;
    std::string server() const;

    // Accounts (needs the server's accounts API). kdf_preset: "interactive",
    // "moderate" (default) or "sensitive" (libsodium's Argon2id presets).
    // Logging in to a home that already holds this account keeps its local
    // state (pending changes are pushed at the next sync); a home of another
    // account is refused.
    void signup(const std::string &name, const std::string &password, const std::string &device_label,
                const std::string &kdf_preset = "moderate");
    void login(const std::string &name, const std::string &password, const std::string &device_label);
    // Revokes this device and wipes the home. Refuses while changes are not
    // pushed, or the server cannot be reached, unless force. Returns a
    // warning when the device could not be revoked (force), else "".
    std::string logout(bool force = false);
    void change_password(const std::string &old_password, const std::string &new_password,
                         const std::string &kdf_preset = "moderate", bool logout_others = false);
    std::vector<Device> devices();
    void revoke_device(const std::string &id);

    // A device on a server without the accounts API: a bearer token from
    // credsync.issue_token() or POST /v1/register, and the master key of
    // another home on this machine (key_from_home), or a new one.
    void attach(const std::string &token, const std::string &device_label, const std::string &key_from_home = "");

    // Entries (offline). An entry is named by its id, a unique id prefix, or
    // its exact title when no other entry has it.
    std::string add(const NewEntry &entry);
    std::vector<Entry> list(const std::string &zone = "");
    Entry get(const std::string &id_or_title);
    bool edit(const std::string &id_or_title, const EntryChanges &changes);  // false: nothing changed
    void remove(const std::string &id_or_title);

    // Pull, merge, push until every zone's digest matches.
    SyncResult sync(const SyncOptions &options = {});
    // Syncs, then waits for changes (long-poll, and local changes from other
    // processes) and syncs again, until after_each returns false.
    void watch(const SyncOptions &options, const std::function<bool(const SyncResult &)> &after_each);
    std::vector<ZoneStatus> status(bool ask_server = true);

    // Generates a password of n characters (letters, digits, punctuation).
    static std::string generate_password(size_t n = 20);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace credsync
