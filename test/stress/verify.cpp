#include "verify.h"

#include <cstdio>

namespace ck {

void live_check(Backend &be, const std::string &why)
{
    std::vector<std::unordered_map<Uuid, Version, UuidHash>> snap(nzones());
    std::vector<int64_t> snap_max(nzones());
    size_t items = 0;
    for (int zi = 0; zi < nzones(); zi++) {
        std::lock_guard<std::mutex> lk(model[zi].mu);
        snap[zi] = model[zi].latest;
        snap_max[zi] = model[zi].max_acked;
        items += snap[zi].size();
    }
    uint64_t lost = 0;
    for (int zi = 0; zi < nzones(); zi++) {
        std::unordered_map<Uuid, PullRow, UuidHash> all;
        std::string err;
        if (!fetch_all(be, zi, all, err)) {
            violation("verify-failed", why + " check: " + err);
            continue;
        }
        StateResult s = be.state(zuser(zi), zname(zi));
        for (int i = 0; s.outcome == Outcome::ConnError && i < 3 && reconnect_with_backoff(be, "verifier"); i++)
            s = be.state(zuser(zi), zname(zi));
        if (s.outcome == Outcome::Ok && s.gencount < snap_max[zi]) {
            lost++;
            violation("lost", why + " check " + zlabel(zi) + ": zone gencount " + std::to_string(s.gencount) +
                                  " below acknowledged " + std::to_string(snap_max[zi]));
        }
        for (const auto &kv : snap[zi]) {
            const Version &v = kv.second;
            auto it = all.find(kv.first);
            if (it == all.end() ? (v.deleted && v.g == 1) : it->second.gencount > v.g) continue;
            if (it != all.end() && it->second.gencount == v.g) {
                if (it->second.deleted != v.deleted || (!v.deleted && it->second.blob != v.blob))
                    violation("version-mismatch", why + " check " + zlabel(zi) + " gencount " + std::to_string(v.g) +
                                                      ": the server's record differs from the acknowledged write");
                continue;
            }
            lost++;
            violation("lost", why + " check " + zlabel(zi) + " item " + uuid_str(kv.first) + ": acknowledged at " +
                                  std::to_string(v.g) + ", server has " +
                                  (it == all.end() ? std::string("nothing") : std::to_string(it->second.gencount)));
        }
    }
    stats.lost += lost;
    std::printf("# %s check: %d zones, %zu acknowledged items verified, lost %llu\n", why.c_str(), nzones(), items,
                (unsigned long long)lost);
    std::fflush(stdout);
}

namespace {

bool same_live(const std::unordered_map<Uuid, PullRow, UuidHash> &server, const std::unordered_map<Uuid, Version, UuidHash> &copy,
               std::string &diff)
{
    size_t live = 0;
    for (const auto &kv : copy) {
        if (kv.second.deleted) continue;
        live++;
        auto it = server.find(kv.first);
        if (it == server.end()) {
            diff = "item " + uuid_str(kv.first) + " at " + std::to_string(kv.second.g) + " is not live on the server";
            return false;
        }
        if (it->second.gencount != kv.second.g || it->second.blob != kv.second.blob) {
            diff = "item " + uuid_str(kv.first) + " at " + std::to_string(kv.second.g) + ", server has " +
                   std::to_string(it->second.gencount);
            return false;
        }
    }
    if (live != server.size()) {
        for (const auto &kv : server) {
            auto it = copy.find(kv.first);
            if (it == copy.end() || it->second.deleted) {
                diff = "missing live item " + uuid_str(kv.first) + " at " + std::to_string(kv.second.gencount);
                return false;
            }
        }
    }
    return true;
}

}  // namespace

void final_check(Backend &be, std::vector<ReaderState> &readers)
{
    bool injected_lost = false, injected_gap = false, injected_digest = false, injected_reader = false;
    for (int zi = 0; zi < nzones(); zi++) {
        ZoneModel &z = model[zi];
        std::lock_guard<std::mutex> lk(z.mu);
        if (cfg.injected("lost") && !injected_lost) {
            for (auto &kv : z.latest)
                if (!kv.second.deleted) {
                    kv.second.blob += "x";
                    kv.second.g += 1;
                    injected_lost = true;
                    break;
                }
        }
        if (cfg.injected("gap") && !injected_gap && z.acks.size() > 2) {
            z.acks.erase(std::next(z.acks.begin()));
            injected_gap = true;
        }
        std::string err;
        std::unordered_map<Uuid, PullRow, UuidHash> all, full;
        if (!fetch_all(be, zi, all, err) || !fetch_full_sync(be, zi, full, err)) {
            violation("verify-failed", "final check: " + err);
            continue;
        }
        StateResult s = be.state(zuser(zi), zname(zi));
        for (int i = 0; s.outcome == Outcome::ConnError && i < 3 && reconnect_with_backoff(be, "verifier"); i++)
            s = be.state(zuser(zi), zname(zi));
        if (s.outcome != Outcome::Ok) {
            violation("verify-failed", "final check " + zlabel(zi) + " state: " + s.code + " " + s.message);
            continue;
        }
        // 1. the server holds exactly the newest acknowledged version of every item
        for (const auto &kv : z.latest) {
            const Version &v = kv.second;
            auto it = all.find(kv.first);
            if (it == all.end() && v.deleted && v.g == 1) continue;
            if (it == all.end() || it->second.gencount < v.g) {
                stats.lost++;
                violation("lost", "final " + zlabel(zi) + " item " + uuid_str(kv.first) + ": acknowledged at " + std::to_string(v.g) +
                                      ", server has " + (it == all.end() ? std::string("nothing") : std::to_string(it->second.gencount)));
            } else if (it->second.gencount > v.g) {
                violation("unacknowledged-write", "final " + zlabel(zi) + " item " + uuid_str(kv.first) + ": server has gencount " +
                                                      std::to_string(it->second.gencount) + ", newest acknowledged is " + std::to_string(v.g));
            } else if (it->second.deleted != v.deleted || (!v.deleted && it->second.blob != v.blob)) {
                violation("version-mismatch", "final " + zlabel(zi) + " item " + uuid_str(kv.first) + " gencount " + std::to_string(v.g));
            }
        }
        for (const auto &kv : all)
            if (!z.latest.count(kv.first))
                violation("phantom", "final " + zlabel(zi) + ": server has item " + uuid_str(kv.first) + " at " +
                                         std::to_string(kv.second.gencount) + " that no acknowledged write made");
        // 2. dense: the acknowledged gencounts are exactly 1..G
        int64_t G = s.gencount;
        int64_t beyond = 0, missing = 0;
        for (const auto &a : z.acks)
            if (a.first > G || a.first < 1) beyond++;
        missing = G - (static_cast<int64_t>(z.acks.size()) - beyond);
        if (beyond) {
            stats.lost += static_cast<uint64_t>(beyond);
            violation("lost", "final " + zlabel(zi) + ": " + std::to_string(beyond) + " acknowledged gencounts above the zone's " + std::to_string(G));
        }
        if (missing != 0 || beyond) {
            if (missing > 0) stats.duplicated += static_cast<uint64_t>(missing);  // allocated but never acknowledged: applied twice or without an ack
            violation("not-dense", "final " + zlabel(zi) + ": zone gencount " + std::to_string(G) + ", " + std::to_string(z.acks.size()) +
                                       " acknowledged, " + std::to_string(missing) + " allocations no acknowledged write accounts for");
        }
        // 3. digest, items, bytes
        Digest d;
        int64_t items = 0, bytes = 0;
        for (const auto &kv : z.latest)
            if (!kv.second.deleted) {
                d.add(kv.first, kv.second.g);
                items++;
                bytes += static_cast<int64_t>(kv.second.blob.size());
            }
        if (cfg.injected("digest") && !injected_digest) {
            d.v[31] ^= 1;
            injected_digest = true;
        }
        if (s.digest != d.bytes() || s.items != items || s.bytes != bytes)
            violation("digest", "final " + zlabel(zi) + ": server digest " + hex(s.digest) + " items " + std::to_string(s.items) + " bytes " +
                                    std::to_string(s.bytes) + ", checker computes " + hex(d.bytes()) + " items " + std::to_string(items) +
                                    " bytes " + std::to_string(bytes));
        if (s.horizon != 0) violation("horizon", "final " + zlabel(zi) + ": horizon " + std::to_string(s.horizon) + " without compaction");
        // 4. a new device's full sync gives the same live set
        std::string diff;
        if (!same_live(full, z.latest, diff)) violation("full-sync", "final " + zlabel(zi) + ": full sync differs from the model: " + diff);
        // 5. every reader ended with exactly the server's state, cursor not beyond it
        for (auto &r : readers) {
            ReaderZone &rz = r.zones[zi];
            if (cfg.injected("reader-miss") && !injected_reader) {
                for (auto it = rz.copy.begin(); it != rz.copy.end(); ++it)
                    if (!it->second.deleted) {
                        rz.copy.erase(it);
                        injected_reader = true;
                        break;
                    }
            }
            if (!same_live(full, rz.copy, diff))
                violation("reader-final-state", "reader " + std::to_string(r.id) + " " + zlabel(zi) + ": " + diff +
                                                       " (reader cursor " + std::to_string(rz.cursor) + ", zone gencount " + std::to_string(G) + ")");
            if (rz.cursor > G)
                violation("cursor-ahead", "reader " + std::to_string(r.id) + " " + zlabel(zi) + ": cursor " + std::to_string(rz.cursor) + " > " + std::to_string(G));
        }
    }
    // 6. everything a reader ever received was an acknowledged write, as acknowledged
    bool injected_obs = false;
    for (auto &r : readers) {
        for (auto &o : r.obs) {
            if (cfg.injected("obs") && !injected_obs) {
                o.seq += 1000000000;
                o.deleted = false;
                injected_obs = true;
            }
            const ZoneModel &z = model[o.zi];
            auto it = z.acks.find(o.g);
            if (it == z.acks.end()) {
                violation("observation-mismatch", "reader " + std::to_string(r.id) + " " + zlabel(o.zi) + " saw gencount " + std::to_string(o.g) +
                                                      " which no acknowledged write has");
            } else if (it->second.item != o.item || it->second.deleted != o.deleted || (!o.deleted && it->second.seq != o.seq)) {
                violation("observation-mismatch", "reader " + std::to_string(r.id) + " " + zlabel(o.zi) + " gencount " + std::to_string(o.g) +
                                                      ": saw item " + uuid_str(o.item) + " seq " + std::to_string(o.seq) + ", acknowledged item " +
                                                      uuid_str(it->second.item) + " seq " + std::to_string(it->second.seq));
            }
        }
    }
    // 7. sync_zones lists this user's zones only, with the same figures
    for (int u = 0; u < cfg.users; u++) {
        ZonesResult zr = be.zones(user_names[u]);
        for (int i = 0; zr.outcome == Outcome::ConnError && i < 3 && reconnect_with_backoff(be, "verifier"); i++)
            zr = be.zones(user_names[u]);
        if (zr.outcome != Outcome::Ok) {
            violation("verify-failed", "sync_zones(" + user_names[u] + "): " + zr.code + " " + zr.message);
            continue;
        }
        for (const auto &zinfo : zr.zones) {
            int zi = -1;
            for (int j = 0; j < cfg.zones; j++)
                if (zone_names[j] == zinfo.zone) zi = u * cfg.zones + j;
            if (zi < 0) {
                violation("isolation", "sync_zones(" + user_names[u] + ") lists zone '" + zinfo.zone + "' the user never wrote");
                continue;
            }
            const ZoneModel &z = model[zi];
            int64_t items = 0, bytes = 0;
            for (const auto &kv : z.latest)
                if (!kv.second.deleted) {
                    items++;
                    bytes += static_cast<int64_t>(kv.second.blob.size());
                }
            if (zinfo.gencount != static_cast<int64_t>(z.acks.size()) || zinfo.items != items || zinfo.bytes != bytes)
                violation("zones-list", "sync_zones " + zlabel(zi) + ": gencount " + std::to_string(zinfo.gencount) + " items " +
                                            std::to_string(zinfo.items) + " bytes " + std::to_string(zinfo.bytes) + ", model " +
                                            std::to_string(z.acks.size()) + "/" + std::to_string(items) + "/" + std::to_string(bytes));
        }
        for (int j = 0; j < cfg.zones; j++) {
            int zi = u * cfg.zones + j;
            bool listed = false;
            for (const auto &zinfo : zr.zones) listed |= zinfo.zone == zone_names[j];
            if (!model[zi].acks.empty() && !listed)
                violation("zones-list", "sync_zones(" + user_names[u] + ") misses zone " + zone_names[j]);
        }
    }
}

}  // namespace ck
