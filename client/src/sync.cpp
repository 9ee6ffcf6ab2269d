#include "sync.h"

#include "digest.h"
#include "listing.h"
#include "names.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <unistd.h>
#include <set>
#include <unordered_map>

namespace credsync {

using nlohmann::json;

namespace {

constexpr int kMaxRounds = 20;
constexpr int kMaxConflictRounds = 3;

std::string short_id(const std::string &item) { return item.substr(0, 8); }

bool same(const std::optional<Bytes> &a, const std::optional<Bytes> &b)
{
    if (!a || !b) return !a && !b;
    return *a == *b;
}

[[noreturn]] void bad_answer(const std::string &what)
{
    throw Error(Error::Kind::server, "the server sent an unexpected answer (" + what + ")");
}

// Test hook: CREDSYNC_FAILPOINT=NAME makes the process die at that point as
// if killed (test/client/sync_cases.py checks what survives).
void failpoint(const char *name)
{
    const char *fp = std::getenv("CREDSYNC_FAILPOINT");
    if (fp && std::strcmp(fp, name) == 0) _exit(137);
}

bool is_digest_hex(const std::string &s)
{
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

int64_t get_int(const json &j, const char *key)
{
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) bad_answer(std::string("no integer ") + key);
    return j[key].get<int64_t>();
}

}  // namespace

SyncEngine::Mode SyncEngine::mode_of(const std::string &reason)
{
    if (reason == "ahead") return Mode::ahead;
    if (reason == "expired") return Mode::expired;
    if (reason == "digest") return Mode::digest;
    if (reason == "conflict") return Mode::conflict;
    if (reason == "forced") return Mode::forced;
    return Mode::initial;
}

void SyncEngine::warn(const std::string &msg)
{
    if (cb_.warn) cb_.warn(msg);
}

namespace {

// Whether a mirror row counts in the zone's digest: the server holds a live
// version of it (one that failed authentication included) at base_gen.
bool in_digest(int64_t base_gen, bool has_base, bool base_bad) { return base_gen > 0 && (has_base || base_bad); }

}  // namespace

std::string SyncEngine::local_digest(const std::string &zone)
{
    auto scan = [&] {
        Digest d;
        store_.for_each_state(zone, [&](const ItemState &r) {
            if (in_digest(r.base_gen, r.has_base, r.base_bad)) {
                auto id = uuid_parse(r.item);
                if (id) d.add(*id, r.base_gen);
            }
        });
        return d.hex();
    };
    // Right after a full resync: what it wrote, without scanning the zone
    // again (only a sync changes base_gen and base_blob, and no row was
    // written since).
    if (applied_ && applied_->zone == zone && applied_->at == store_.item_writes()) {
        // Test hook: the client suites (test/client/harness.py) set it, so
        // that every check compares the two.
        if (std::getenv("CREDSYNC_CHECK_APPLIED_DIGEST") && scan() != applied_->hex)
            throw Error(Error::Kind::local, "zone " + zone + ": the digest of what the full resync wrote is not the "
                                            "digest of the store (a bug)");
        return applied_->hex;
    }
    return scan();
}

void SyncEngine::sync_all(bool full, SyncStats &stats)
{
    // Zones this device knows and the server does not list stay unlisted
    // (nullopt): never pushed, or deleted on the server.
    std::map<std::string, std::optional<Listed>> zones;
    for (auto &z : store_.zone_names()) zones[z];
    json list = api_.zones();
    if (!list.contains("zones") || !list["zones"].is_array()) bad_answer("no zone list");
    for (auto &z : list["zones"]) {
        std::string name = z.value("zone", "");
        if (!valid_zone(name)) bad_answer("a zone name that is not one");
        Listed l;
        l.gencount = get_int(z, "gencount");
        // Servers with extension 1.5 list each zone's digest; older ones do
        // not, and the digest is then read per zone as before.
        if (z.contains("digest")) {
            if (!z["digest"].is_string() || !is_digest_hex(z["digest"].get<std::string>()))
                bad_answer("a zone digest that is not 64 hex digits");
            l.digest = z["digest"].get<std::string>();
        }
        zones[name] = l;
    }
    for (auto &[z, listed] : zones) sync_zone(z, full, stats, listed);
}

void SyncEngine::sync_zone(const std::string &zone, bool full, SyncStats &stats, std::optional<Listed> listed)
{
    try {
        ZoneRow z = store_.zone_or_new(zone);
        // A --full resync is written down before it starts, so that one cut
        // short is finished by the next sync. Nothing else needs writing
        // yet: a zone's row is written with its first change (a page, a
        // resync's result, a push), and a new zone's first sync starts
        // without a commit of its own.
        if (full && z.resync.empty()) {
            z.resync = "forced";
            Txn t(store_.db());
            store_.put(z);
            t.commit();
        }
        bool did_full = false;
        int conflicts = 0;
        // Nothing new on either side: straight to the digest check, with the
        // digest the zone list carried (a sync with nothing new is then the
        // zone list alone). The list's gencount and digest were read in one
        // snapshot, and the gencount equals the cursor, so the digest is the
        // one of the records the mirror should hold.
        const bool nothing_to_send = z.resync.empty() && z.outbox_op.empty() && store_.pending(zone) == 0;
        const bool quiet = z.cursor > 0 && nothing_to_send;
        bool idle = quiet && listed && listed->gencount == z.cursor;
        std::optional<std::string> listed_digest = idle && listed ? listed->digest : std::nullopt;
        // A zone the server does not list (deleted there, with no push since)
        // holds nothing on the server: a mirror that holds nothing either is
        // in sync without asking. Its cursor may be 0 (a zone made on this
        // device and emptied before it ever synced): there is nothing to pull.
        if (nothing_to_send && !listed && !full && local_digest(zone) == std::string(64, '0')) {
            stats.zones.push_back({zone, z.cursor});
            return;
        }
        for (int round = 0; round < kMaxRounds; round++) {
            // The zone's state read right after a full listing's last page,
            // valid for the check below only if nothing was pushed since.
            std::optional<json> state;
            if (idle) {
                idle = false;
            } else {
                listed_digest.reset();
                if (flush_outbox(z, stats) == Flush::conflict) conflicts++;
                if (!z.resync.empty() || z.cursor == 0) {
                    state_after_listing_.reset();
                    full_resync(z, z.resync.empty() ? Mode::initial : mode_of(z.resync), stats);
                    did_full = true;
                    state = std::move(state_after_listing_);
                    state_after_listing_.reset();
                } else if (!pull_incremental(z, stats)) {
                    continue;
                }
                Push p = push_pending(z, stats);
                if (p != Push::nothing) state.reset();
                if (p == Push::conflict) {
                    if (++conflicts >= kMaxConflictRounds) {
                        // The mirror keeps disagreeing with the server about an
                        // item: start over from the server's own listing.
                        warn("zone " + zone + ": pushes keep conflicting; doing a full resync");
                        z.resync = "conflict";
                        conflicts = 0;
                        Txn t(store_.db());
                        store_.put(z);
                        t.commit();
                    }
                    continue;
                }
                if (p == Push::pushed &&
                    (store_.pending(zone) > static_cast<int64_t>(too_large_.size()) || !z.server_gencount ||
                     *z.server_gencount != z.cursor))
                    continue;  // pull back what others wrote meanwhile, push what is left
            }
            int64_t g = z.cursor;
            std::string digest;
            if (listed_digest) {
                digest = *listed_digest;
                listed_digest.reset();
            } else {
                json st = state ? std::move(*state) : api_.zone_state(zone);
                g = get_int(st, "gencount");
                if (g != z.cursor) continue;  // someone wrote since our last page: pull again
                digest = st.value("digest", "");
            }
            if (digest != local_digest(zone)) {
                if (did_full)
                    throw Error(Error::Kind::tampered,
                                "zone " + zone + ": the server's digest does not match the records it sent, even after a "
                                "full resync (the server's data was altered)");
                warn("zone " + zone + ": this device's copy does not match the server's digest; doing a full resync");
                z.resync = "digest";
                Txn t(store_.db());
                store_.put(z);
                t.commit();
                continue;
            }
            z.verified_cursor = z.cursor;
            z.server_gencount = g;
            {
                // A verification taken back by a power cut is done again.
                Txn t(store_.db(), Commit::replaceable);
                store_.put(z);
                t.commit();
            }
            stats.rejected += store_.rejected(zone);
            stats.zones.push_back({zone, g});
            return;
        }
        throw Error(Error::Kind::server, "zone " + zone + " did not settle after " + std::to_string(kMaxRounds) +
                                             " rounds (other devices writing all the time?); run sync again");
    } catch (const json::exception &e) {
        bad_answer(e.what());
    }
}

SyncEngine::Flush SyncEngine::flush_outbox(ZoneRow &z, SyncStats &stats)
{
    if (z.outbox_op.empty()) return Flush::empty;
    json body = json::parse(z.outbox_body);
    auto &records = body["records"];
    json resp;
    try {
        resp = api_.push(z.zone, z.outbox_body);
    } catch (const HttpError &e) {
        int s = e.status();
        if (s != 409 && s != 413 && s != 507 && s != 400 && s != 422) throw;  // kept: sent again, same op_id
        // The server refused the whole batch and applied nothing: drop it.
        // Its entries are still dirty and go out again after the next pull.
        Txn t(store_.db());
        z.outbox_op.clear();
        z.outbox_body.clear();
        store_.put(z);
        t.commit();
        if (s == 409) return Flush::conflict;
        // The server's limits may have changed: read again (now, if this
        // sync has not asked for them yet), and the batch halved.
        if (s == 413) store_.set_meta("limits", std::nullopt);
        if (s == 413 && records.size() > 1) {
            push_limits().batch_records = std::max<int>(1, static_cast<int>(records.size()) / 2);
            return Flush::retry;
        }
        if (s == 413) {
            // This one entry is too large for the server: leave it pending,
            // push the others, and say so at the end (SyncStats::too_large).
            too_large_.insert(records[0].value("item", ""));
            stats.too_large.push_back(records[0].value("item", ""));
            return Flush::retry;
        }
        throw;
    }
    failpoint("push-answered");
    auto &results = resp["results"];
    if (!results.is_array() || results.size() != records.size()) bad_answer("push results do not match the records sent");
    Txn t(store_.db());
    int64_t expect = z.cursor;
    bool consecutive = true;
    for (size_t i = 0; i < records.size(); i++) {
        std::string item = records[i]["item"].get<std::string>();
        if (results[i].value("item", "") != item) bad_answer("push results name other items");
        int64_t g = get_int(results[i], "gencount");
        std::optional<Bytes> sent;
        if (!records[i]["blob"].is_null()) sent = base64_decode(records[i]["blob"].get<std::string>());
        auto row = store_.item(z.zone, item);
        if (!row) {
            row = ItemRow{};
            row->zone = z.zone;
            row->item = item;
        }
        row->base_gen = g;
        row->base_blob = sent;
        row->base_bad = false;
        if (sent) row->last_blob = sent;
        // An edit made while the batch was in flight stays pending.
        row->dirty = !same(row->cur_blob, sent);
        store_.put(*row);
        if (g != ++expect) consecutive = false;
    }
    // Our records took the gencounts right after the cursor: nothing else was
    // written in between, so the mirror is current up to the last of them.
    if (consecutive) {
        z.cursor = expect;
        z.server_gencount = expect;
    }
    z.outbox_op.clear();
    z.outbox_body.clear();
    store_.put(z);
    t.commit();
    failpoint("push-recorded");
    stats.pushed += static_cast<int64_t>(records.size());
    return Flush::done;
}

SyncLimits &SyncEngine::push_limits()
{
    if (!push_limits_) push_limits_ = load_push_limits_();
    return *push_limits_;
}

SyncEngine::Push SyncEngine::push_pending(ZoneRow &z, SyncStats &stats)
{
    if (store_.pending(z.zone) == 0) return Push::nothing;  // without asking for the push limits
    const SyncLimits &limits = push_limits();
    bool pushed = false;
    for (;;) {
        {
            Txn t(store_.db());
            auto rows = store_.dirty_items(z.zone, limits.batch_records + static_cast<int>(too_large_.size()));
            json records = json::array();
            size_t bytes = 64;
            for (auto &row : rows) {
                if (too_large_.count(row.item)) continue;
                if (static_cast<int>(records.size()) >= limits.batch_records) break;
                bool server_has_live = row.base_blob || row.base_bad;
                if (!row.cur_blob && !server_has_live) {
                    // Deleted here, and the server holds no live version: nothing to send.
                    row.dirty = false;
                    store_.put(row);
                    continue;
                }
                json rec = {{"item", row.item}, {"if_match", row.base_gen}};
                size_t size = 120 + (row.cur_blob ? row.cur_blob->size() * 4 / 3 + 4 : 0);
                if (!records.empty() && bytes + size > limits.body_bytes) break;
                rec["blob"] = row.cur_blob ? json(base64_encode(*row.cur_blob)) : json(nullptr);
                records.push_back(rec);
                bytes += size;
            }
            if (records.empty()) {
                t.commit();
                return pushed ? Push::pushed : Push::nothing;
            }
            // The batch and its op_id are stored before they are sent: a
            // retry after a lost answer sends the same bytes with the same
            // op_id, and the server answers it from its memory of the op.
            z.outbox_op = uuid_text(uuid_random());
            z.outbox_body = json{{"op_id", z.outbox_op}, {"records", records}}.dump();
            store_.put(z);
            t.commit();
        }
        Flush f = flush_outbox(z, stats);
        if (f == Flush::conflict) return Push::conflict;
        if (f == Flush::retry) continue;  // the same pending entries, in smaller batches or without one
        pushed = true;
    }
}

bool SyncEngine::pull_incremental(ZoneRow &z, SyncStats &stats)
{
    for (;;) {
        PulledPage page;
        try {
            page = parse_page(api_.pull_text(z.zone, z.cursor, pull_page_, false));
        } catch (const HttpError &e) {
            if (e.status() != 410) throw;
            std::string reason = e.detail().value("reason", "");
            if (reason == "ahead")
                warn("zone " + z.zone + ": the server is behind this device (restored from a backup or reset): "
                                         "full resync, then re-uploading what it lacks");
            else
                warn("zone " + z.zone + ": the server no longer keeps the deletions since this device last synced: "
                                         "full resync");
            z.resync = reason == "ahead" ? "ahead" : "expired";
            Txn t(store_.db());
            store_.put(z);
            t.commit();
            return false;
        }
        int64_t next = page.next_since;
        if (next < z.cursor) bad_answer("next_since went back");
        for (auto &r : page.records)
            if (!uuid_parse(r.item)) bad_answer("a record without a valid item id");
        Txn t(store_.db());
        for (auto &rec : page.records) {
            Remote r;
            static_cast<PulledRecord &>(r) = std::move(rec);
            apply_remote(store_.item(z.zone, r.item), z.zone, r, Mode::incremental, stats);
            stats.pulled++;
        }
        z.cursor = next;
        z.server_gencount = page.gencount;
        store_.put(z);
        t.commit();
        failpoint("pull-page");
        if (cb_.progress && !page.records.empty()) cb_.progress(z.zone, stats.pulled);
        if (!page.more) return true;
    }
}

void SyncEngine::full_resync(ZoneRow &z, Mode mode, SyncStats &stats)
{
    const int64_t old_cursor = z.cursor;
    // What the mirror holds, without blobs. Only a sync changes base_gen
    // (and this one holds the home's sync lock), so this stays true while
    // the pages come; what add, edit and rm of other processes change is
    // read again below, inside the transaction.
    std::unordered_map<std::string, ItemState> mine;
    store_.for_each_state(z.zone, [&](const ItemState &st) { mine.emplace(st.item, st); });
    if (mine.empty() && full_resync_into_empty(z, mode, stats)) return;
    // The listing is collected first and applied at the end, in one
    // transaction that does not wait for the network (other processes' add,
    // edit and rm on this home are not held up by a slow server).
    std::map<std::string, Remote> srv;
    int64_t gencount = 0;
    for (int attempt = 0;; attempt++) {
        srv.clear();
        try {
            // Items the mirror lacks are opened on the listing's thread;
            // one the mirror holds only if it differs (apply_remote, below),
            // as most will not.
            Listing listing(api_, keys_, z.zone, pull_page_,
                            [&mine](const std::string &item) { return !mine.count(item); });
            OpenedPage page;
            while (listing.next(page)) {
                for (auto &r : page.records) {
                    std::string item = r.item;
                    srv[item] = std::move(r);  // a later page holds the newer version
                }
                if (cb_.progress && !page.records.empty()) cb_.progress(z.zone, static_cast<int64_t>(srv.size()));
                if (!page.more) gencount = page.next_since;
            }
            break;
        } catch (const HttpError &e) {
            // The server went back while we paged (a restore): start over.
            if (e.status() != 410 || attempt >= 3) throw;
        }
    }
    stats.resyncs++;
    stats.pulled += static_cast<int64_t>(srv.size());

    // Were we synced to old_cursor, every live record the server holds at or
    // below it is in the mirror with the same gencount (records below the
    // cursor can only disappear, never appear). One that is not means the
    // server's history was replaced (restored from a backup, then written
    // past our cursor): what it lacks was lost, not deleted.
    bool diverged = false;
    if (mode != Mode::ahead && old_cursor > 0) {
        for (auto &kv : srv) {
            const Remote &r = kv.second;
            if (r.deleted || r.gencount > old_cursor) continue;
            auto it = mine.find(r.item);
            if (it == mine.end() || it->second.base_gen != r.gencount) {
                diverged = true;
                break;
            }
        }
    }
    const Mode effective = resync_mode(z.zone, mode, diverged);

    Txn t(store_.db());
    // Again inside the transaction: add, edit and rm (other processes) may
    // have made or removed rows meanwhile.
    mine.clear();
    store_.for_each_state(z.zone, [&](const ItemState &st) { mine.emplace(st.item, st); });
    // The zone's rows that count in its digest once this transaction is
    // done, item -> base_gen: those read above, then every row written below
    // (all pass through Store::put), for local_digest() after the last page.
    std::unordered_map<std::string, int64_t> counted;
    counted.reserve(mine.size() + srv.size());
    for (auto &kv : mine)
        if (in_digest(kv.second.base_gen, kv.second.has_base, kv.second.base_bad)) counted[kv.first] = kv.second.base_gen;
    PutObserver observer(store_, [&](const ItemRow &row) {
        if (row.zone != z.zone) return;
        if (in_digest(row.base_gen, row.base_blob.has_value(), row.base_bad)) counted[row.item] = row.base_gen;
        else counted.erase(row.item);
    });
    for (auto &kv : srv) {
        const Remote &r = kv.second;
        std::optional<ItemRow> row;
        if (mine.count(r.item)) row = store_.item(z.zone, r.item);
        if (row && row->base_gen == r.gencount && !row->base_bad &&
            ((r.deleted && !row->base_blob) || (!r.deleted && same(row->base_blob, r.blob))))
            continue;
        apply_remote(row, z.zone, r, effective, stats);
    }
    std::vector<ItemRow> absent;
    for (auto &kv : mine) {
        if (srv.count(kv.first)) continue;
        if (auto row = store_.item(z.zone, kv.first)) absent.push_back(std::move(*row));
    }
    std::sort(absent.begin(), absent.end(), [](const ItemRow &a, const ItemRow &b) { return a.item < b.item; });
    for (auto &row : absent) {
        bool server_had_live = row.base_blob || row.base_bad;
        if (row.base_gen == 0) {
            if (row.cur_blob && !row.dirty) {  // never acknowledged: send it
                row.dirty = true;
                store_.put(row);
            }
            continue;
        }
        if (!server_had_live) {
            // A tombstone we knew has been compacted away: the item is absent
            // now, which is what if_match 0 expects.
            row.base_gen = 0;
            row.base_bad = false;
            store_.put(row);
            continue;
        }
        // What was live on the server at base_gen is gone. Lost (a restore, a
        // reset) or deleted (its tombstone not listed or compacted)? Lost when
        // the server is known to have gone back (410 ahead, a changed history),
        // when its digest disagreed with a mirror that matched it before (in
        // a world without restores the digest always matches), or when the
        // version we hold came after the last point where the mirror was
        // verified (an acknowledged push or pull the server may have lost).
        // Re-uploading what was in fact deleted brings an entry back, which
        // its deleter deletes again; deleting what was lost would lose it.
        bool lost = effective == Mode::ahead || effective == Mode::digest || row.base_gen > z.verified_cursor;
        row.base_gen = 0;
        row.base_blob.reset();
        row.base_bad = false;
        if (lost) {
            if (row.cur_blob) {
                row.dirty = true;
                stats.reuploaded++;
            } else {
                row.dirty = false;  // our pending delete: the server has nothing to delete
            }
        } else if (row.cur_blob && row.dirty) {
            stats.merged++;  // a local edit beats the delete: sent again as a new record
        } else {
            if (row.cur_blob) row.last_blob = row.cur_blob;
            row.cur_blob.reset();
            row.dirty = false;
        }
        store_.put(row);
    }
    store_resynced_zone(z, gencount, effective);
    t.commit();
    Digest d;
    for (auto &kv : counted)
        if (auto id = uuid_parse(kv.first)) d.add(*id, kv.second);
    applied_ = AppliedDigest{z.zone, store_.item_writes(), d.hex()};
}

SyncEngine::Mode SyncEngine::resync_mode(const std::string &zone, Mode mode, bool diverged)
{
    if (!diverged) return mode;
    warn("zone " + zone + ": the server's history differs from what this device saw (restored from a backup?): "
                          "re-uploading what it lacks");
    return Mode::ahead;
}

void SyncEngine::store_resynced_zone(ZoneRow &z, int64_t gencount, Mode effective)
{
    z.cursor = gencount;
    z.server_gencount = gencount;
    // Gencounts from before a server went back name other records now: no
    // earlier verification vouches for anything until the next one.
    if (effective == Mode::ahead || effective == Mode::digest) z.verified_cursor = 0;
    z.verified_cursor = std::min(z.verified_cursor, gencount);
    z.resync.clear();
    store_.put(z);
}

bool SyncEngine::full_resync_into_empty(ZoneRow &z, Mode mode, SyncStats &stats)
{
    // Nothing in the mirror to compare with, keep or re-upload: each page is
    // applied as it comes, while the listing's threads fetch and open the
    // next (docs/client.md, "Speed"), instead of after the last page. One
    // transaction, taken before the first page, so that no add of another
    // process lands in the zone meanwhile (it waits for the commit, at most
    // the busy timeout), and a sync cut short leaves the zone as it was.
    const int64_t old_cursor = z.cursor;
    for (int attempt = 0;; attempt++) {
        // Nothing but what the server holds: not waited for on disk.
        std::optional<Txn> t;
        t.emplace(store_.db(), Commit::replaceable);
        bool empty = true;
        store_.for_each_state(z.zone, [&](const ItemState &) { empty = false; });
        if (!empty) return false;  // an add since the first look: the usual way
        // Each item's last version in the listing: a later page holds the
        // newer version of an item written while we paged, which replaces the
        // row the earlier one wrote, as if only it came.
        struct Seen {
            int64_t gencount;
            bool deleted;
            int64_t counted;  // the base_gen its row counts in the digest with (0: none)
        };
        std::unordered_map<std::string, Seen> last;
        last.reserve(16384);
        // The zone's digest, kept as rows are written, for local_digest()
        // after the last page: the rows of Store::insert_new() counted below,
        // the others as Store::put reports them. applying: the record being
        // applied (only its row is written meanwhile).
        Digest digest;
        Seen *applying = nullptr;
        PutObserver observer(store_, [&](const ItemRow &row) {
            if (row.zone != z.zone || !in_digest(row.base_gen, row.base_blob.has_value(), row.base_bad)) return;
            auto id = uuid_parse(row.item);
            if (!id || !applying) return;
            digest.add(*id, row.base_gen);
            applying->counted = row.base_gen;
        });
        int64_t gencount = 0;
        try {
            // The digest check's GET /v1/zones/{zone} is read by the
            // fetcher right after the last page, while this thread still
            // stores the last pages (sync_zone() takes it).
            Listing listing(
                api_, keys_, z.zone, pull_page_, [](const std::string &) { return true; }, false, true);
            OpenedPage page;
            // New items of this page stored as they came, not written yet:
            // written before any other record of the page is applied and at
            // the page's end, so that rows are written in the page's order
            // (they point into the page).
            std::vector<Store::NewItem> fresh;
            auto write_fresh = [&] {
                store_.insert_new(z.zone, fresh);
                fresh.clear();
            };
            while (listing.next(page)) {
                for (auto &r : page.records) {
                    auto ins = last.emplace(r.item, Seen{r.gencount, r.deleted, 0});
                    // Almost every record: an item not listed before, live,
                    // authentic, at a gencount the digest counts. Its row is
                    // what apply_remote() would write (the blob as base,
                    // current and last known), many rows to a statement.
                    std::optional<Uuid> id;
                    if (ins.second && !r.deleted && r.blob && r.opened && r.authentic && r.gencount > 0 &&
                        (id = uuid_parse(r.item))) {
                        fresh.push_back({r.item, r.gencount, &*r.blob});
                        digest.add(*id, r.gencount);
                        ins.first->second.counted = r.gencount;
                        continue;
                    }
                    write_fresh();
                    if (!ins.second) {
                        Seen &was = ins.first->second;
                        store_.erase(z.zone, r.item);
                        if (was.counted)
                            if (auto was_id = uuid_parse(r.item)) digest.remove(*was_id, was.counted);
                        was = Seen{r.gencount, r.deleted, 0};
                    }
                    applying = &ins.first->second;
                    apply_remote(std::nullopt, z.zone, r, mode, stats);
                    applying = nullptr;
                }
                write_fresh();
                // The page's rows to the WAL while the next page is fetched,
                // instead of 7 MB at the commit after the last one.
                store_.db().write_dirty_pages();
                if (cb_.progress && !page.records.empty()) cb_.progress(z.zone, static_cast<int64_t>(last.size()));
                if (!page.more) gencount = page.next_since;
            }
            state_after_listing_ = listing.state_after_last_page();
        } catch (const HttpError &e) {
            // The server went back while we paged (a restore): start over
            // (the transaction is rolled back).
            if (e.status() != 410 || attempt >= 3) throw;
            continue;
        }
        stats.resyncs++;
        stats.pulled += static_cast<int64_t>(last.size());
        // As in full_resync(): a live record at or below a cursor this device
        // had reached is one the mirror should hold; it holds none.
        bool diverged = false;
        if (mode != Mode::ahead && old_cursor > 0)
            for (auto &kv : last)
                if (!kv.second.deleted && kv.second.gencount <= old_cursor) diverged = true;
        store_resynced_zone(z, gencount, resync_mode(z.zone, mode, diverged));
        failpoint("first-sync-stored");
        t->commit();
        applied_ = AppliedDigest{z.zone, store_.item_writes(), digest.hex()};
        return true;
    }
}

void SyncEngine::apply_remote(std::optional<ItemRow> existing, const std::string &zone, const Remote &r, Mode mode,
                              SyncStats &stats)
{
    // Our own write coming back, or a version we hold already.
    if (existing && existing->base_gen == r.gencount && !existing->base_bad &&
        ((r.deleted && !existing->base_blob) || (!r.deleted && same(existing->base_blob, r.blob))))
        return;
    ItemRow row;
    if (existing) {
        row = *existing;
    } else {
        row.zone = zone;
        row.item = r.item;
    }

    if (r.deleted) {
        if (!existing) return;  // never had it: nothing to delete
        row.base_gen = r.gencount;
        row.base_blob.reset();
        row.base_bad = false;
        if (row.cur_blob && row.dirty) {
            stats.merged++;  // an edit beats a concurrent delete: pushed again over the tombstone
        } else {
            if (row.cur_blob) row.last_blob = row.cur_blob;
            row.cur_blob.reset();
            row.dirty = false;
        }
        store_.put(row);
        return;
    }

    if (!existing && r.opened && r.authentic) {
        // Nothing here to merge with: the server's version as it is (take()
        // of it, below). Its entry was opened and checked on the listing's
        // thread, which need not have kept it.
        row.base_gen = r.gencount;
        row.base_blob = r.blob;
        row.cur_blob = r.blob;
        row.last_blob = r.blob;
        store_.put(row);
        return;
    }
    std::optional<Content> opened_here;
    const bool have = r.opened && (r.content || !r.authentic);
    const std::optional<Content> &remote = have ? r.content : (opened_here = keys_.open(zone, r.item, *r.blob));
    if (!remote) {
        stats.tampered++;
        warn("entry " + short_id(r.item) + " in zone " + zone + ": the server's version (gencount " +
             std::to_string(r.gencount) +
             ") failed authentication: it was altered, swapped or moved by the server; not imported");
        row.base_gen = r.gencount;
        row.base_blob.reset();
        row.base_bad = true;
        row.dirty = row.cur_blob.has_value();  // our good version goes back over it
        store_.put(row);
        return;
    }

    std::optional<Content> base, cur, last;
    if (row.base_blob && !row.base_bad) base = keys_.open(zone, row.item, *row.base_blob);
    if (row.cur_blob) cur = keys_.open(zone, row.item, *row.cur_blob);
    if (row.last_blob) last = keys_.open(zone, row.item, *row.last_blob);
    if (row.cur_blob && !cur)
        throw Error(Error::Kind::local, "the local copy of entry " + short_id(row.item) + " does not decrypt");

    // An older version than one the server gave us before: the server replays
    // it (or was restored from a backup). The newer one is kept and sent again.
    const Content *known = base ? &*base : (last ? &*last : nullptr);
    if (known && seen_by(*remote, *known) && *remote != *known) {
        if (mode == Mode::ahead) {
            stats.reuploaded++;
        } else {
            stats.rolled_back++;
            warn("entry " + short_id(r.item) + " in zone " + zone +
                 ": the server sent an older version than this device had (replayed by the server, or restored from "
                 "a backup); keeping the newer one");
        }
    }

    auto take = [&](const Content &result) {
        row.base_gen = r.gencount;
        row.base_blob = r.blob;
        row.base_bad = false;
        if (result == *remote) {
            row.cur_blob = r.blob;
            row.dirty = false;
        } else {
            row.cur_blob = keys_.seal(zone, row.item, result);
            row.dirty = true;
        }
        row.last_blob = row.cur_blob;
    };

    if (cur) {
        if (row.dirty && both_changed(base ? &*base : nullptr, *cur, *remote)) stats.merged++;
        take(merge(*cur, *remote));
    } else if (existing && (row.dirty || last)) {
        // Deleted here (pending, or done). The delete stands if it saw every
        // edit in the server's version; an edit it did not see wins.
        // last_blob is what the delete deleted (rm stores it); base when absent.
        const Content *deleted = last ? &*last : (base ? &*base : nullptr);
        if (deleted && seen_by(*remote, *deleted)) {
            row.base_gen = r.gencount;
            row.base_blob = r.blob;
            row.base_bad = false;
            row.dirty = true;  // (again) a tombstone over it
        } else {
            stats.merged++;
            take(deleted ? merge(*deleted, *remote) : *remote);
        }
    } else {
        take(*remote);
    }
    store_.put(row);
}

}  // namespace credsync
