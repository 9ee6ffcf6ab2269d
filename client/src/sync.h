// The sync engine (docs/client.md, "Sync"): pull, merge, push until the
// zone's digest matches the local mirror. Every step that changes local state
// is one SQLite transaction, so a kill -9 at any point loses nothing that was
// acknowledged (locally or by the server) and the next sync resumes.
#pragma once

#include "api.h"
#include "keyring.h"
#include "listing.h"
#include "store.h"

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace credsync {

// The server's limits on a push (GET /v1/account), asked for when there is
// something to push and the home does not hold them: a sync that only pulls,
// such as a new device's first, makes no request for them.
struct SyncLimits {
    int batch_records = 500;        // at most the server's max_batch_records
    size_t body_bytes = 4 << 20;    // a push body stays under this
};

// Records per pull page at most: the protocol's default, which every server
// takes (limit up to 10000, docs/protocol.md, unless its max_pull_records
// says less).
constexpr int kPullPage = 1000;

struct SyncCallbacks {
    std::function<void(const std::string &)> warn;                            // one line, no newline
    std::function<void(const std::string &zone, int64_t records)> progress;  // records pulled so far
};

struct ZoneSummary {
    std::string zone;
    int64_t gencount = 0;
};

struct SyncStats {
    int64_t pulled = 0;      // records received and applied
    int64_t pushed = 0;      // records the server acknowledged
    int64_t merged = 0;      // entries changed on both sides, merged (an edit beating a delete counts)
    int64_t tampered = 0;    // records that failed authentication (not imported)
    int64_t rolled_back = 0; // older versions the server sent (replay or restore; the newer kept)
    int64_t reuploaded = 0;  // entries the server lacked or held older, sent again
    int64_t resyncs = 0;     // full resyncs done
    int64_t rejected = 0;    // entries whose server version is still one that failed authentication
    std::vector<std::string> too_large;  // entries the server refused as too large (413): still pending
    std::vector<ZoneSummary> zones;
};

class SyncEngine {
public:
    // pull_page: records per pull page (at most kPullPage). push_limits: the
    // server's, called at most once, when there is something to push.
    SyncEngine(Store &store, Api &api, Keyring &keys, int pull_page, std::function<SyncLimits()> push_limits,
               SyncCallbacks cb)
        : store_(store), api_(api), keys_(keys), pull_page_(pull_page), load_push_limits_(std::move(push_limits)),
          cb_(std::move(cb))
    {
    }
    // Syncs every zone this device or the server knows. full: a full resync
    // of every zone, comparing every record with the mirror (finds blobs the
    // server changed in place).
    void sync_all(bool full, SyncStats &stats);
    // A zone as GET /v1/zones lists it: its gencount and (extension 1.5)
    // its digest, read in one snapshot.
    struct Listed {
        int64_t gencount = 0;
        std::optional<std::string> digest;  // 64 lower-case hex; nullopt from an older server
    };
    // listed: the zone in GET /v1/zones; nullopt when the server does not
    // list it. A gencount equal to the cursor with nothing pending: nothing
    // to pull or push, only the digest to check (the listed one, when given).
    void sync_zone(const std::string &zone, bool full, SyncStats &stats, std::optional<Listed> listed);

    // The zone digest of the local mirror (hex), as the server computes it.
    std::string local_digest(const std::string &zone);
    // The digest of the rows full_resync() wrote and kept, computed as it
    // wrote them: local_digest() of its zone while the store's item_writes()
    // is still at.
    struct AppliedDigest {
        std::string zone;
        uint64_t at = 0;
        std::string hex;
    };
    std::optional<AppliedDigest> applied_;
    // GET /v1/zones/{zone} as the last full_resync_into_empty() listing read
    // it right after its last page (Listing::state_after_last_page); taken by
    // the digest check that follows when nothing was pushed in between.
    std::optional<nlohmann::json> state_after_listing_;

private:
    enum class Mode { incremental, initial, ahead, expired, digest, conflict, forced };
    using Remote = OpenedRecord;  // listing.h
    enum class Flush { empty, done, conflict, retry };  // retry: a smaller batch, or without a too-large entry
    Flush flush_outbox(ZoneRow &z, SyncStats &stats);
    bool pull_incremental(ZoneRow &z, SyncStats &stats);  // false: a full resync is owed (z.resync set)
    void full_resync(ZoneRow &z, Mode mode, SyncStats &stats);
    // full_resync() into a zone with no row at all (a new device's first
    // sync): each page stored as it comes, in one transaction; false (and
    // nothing done) when the zone has rows.
    bool full_resync_into_empty(ZoneRow &z, Mode mode, SyncStats &stats);
    // Both full resyncs, after the listing: the mode it is applied in (a
    // diverged history is applied as a server that went back, with a
    // warning), then the zone row, in the transaction that applied it.
    Mode resync_mode(const std::string &zone, Mode mode, bool diverged);
    void store_resynced_zone(ZoneRow &z, int64_t gencount, Mode effective);
    enum class Push { nothing, pushed, conflict, retry };
    Push push_pending(ZoneRow &z, SyncStats &stats);
    void apply_remote(std::optional<ItemRow> existing, const std::string &zone, const Remote &r, Mode mode,
                      SyncStats &stats);
    void warn(const std::string &msg);
    static Mode mode_of(const std::string &reason);

    std::set<std::string> too_large_;  // items refused with 413 in this sync: not sent again
    Store &store_;
    Api &api_;
    Keyring &keys_;
    SyncLimits &push_limits();
    const int pull_page_;
    std::function<SyncLimits()> load_push_limits_;
    std::optional<SyncLimits> push_limits_;
    SyncCallbacks cb_;
};

}  // namespace credsync
