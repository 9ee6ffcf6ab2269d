#include "reader.h"

#include <chrono>
#include <thread>

namespace ck {
namespace {

const int kLimits[] = {1, 3, 17, 100, 500, 1000};

class Reader {
public:
    explicit Reader(ReaderState &st) : st_(st), rng_(cfg.seed * 7919 + static_cast<uint64_t>(st.id)), be_(make_backend())
    {
        st_.zones.resize(nzones());
    }

    void run()
    {
        while (!writers_done.load()) {
            int zi = static_cast<int>(rng_() % nzones());
            bool reset = rng_() % 100 < 2;
            uint64_t before = stats.records_read.load();
            if (!catch_up(zi, reset)) return;
            // Nothing new: pause a little, so that readers do not starve the writers on a small machine.
            if (stats.records_read.load() == before) std::this_thread::sleep_for(std::chrono::milliseconds(3));
        }
        for (int zi = 0; zi < nzones(); zi++)
            if (!catch_up(zi, false)) return;
    }

private:
    bool catch_up(int zi, bool reset)
    {
        ReaderZone &rz = st_.zones[zi];
        if (reset) {  // a new device: since=0, then full_sync pages
            stats.reader_resets++;
            rz.copy.clear();
            rz.cursor = 0;
        }
        int64_t since = rz.cursor;
        bool full = false;
        for (;;) {
            int limit = kLimits[rng_() % (sizeof kLimits / sizeof kLimits[0])];
            uint64_t acked_before = acks_recorded(zi);
            PullResult p = be_->pull(zuser(zi), zname(zi), since, limit, full);
            if (p.outcome == Outcome::ConnError) {
                stats.conn_errors++;
                if (!cfg.tolerate) {
                    violation("connection-lost", "reader " + zlabel(zi) + ": " + p.code + " " + p.message);
                    stop_writers = true;
                    return false;
                }
                if (!reconnect_with_backoff(*be_, "reader")) return false;
                continue;
            }
            stats.pulls++;
            if (p.outcome != Outcome::Ok) {
                violation(p.code.find("410") != std::string::npos ? "cursor-rejected" : "unexpected-error",
                          "reader " + zlabel(zi) + " pull since " + std::to_string(since) + ": " + p.code + " " + p.message);
                return true;
            }
            stats.records_read += p.rows.size();
            bool live_only = since == 0 && !full;
            int64_t prev = since;
            for (const auto &row : p.rows) {
                check_row(zi, prev, row, live_only);
                prev = row.gencount;
                Version &v = rz.copy[row.item];
                uint64_t seq = 0;
                BlobHeader h;
                if (!row.deleted && parse_blob(row.blob, h)) seq = h.seq;
                v = {row.gencount, seq, row.deleted, row.blob};
                st_.obs.push_back({zi, row.gencount, row.item, seq, row.deleted});
            }
            std::string where = "reader " + zlabel(zi) + " pull since " + std::to_string(since);
            if (p.more < 0 || p.zone_gencount < 0) {
                violation("pull-shape", where + ": the page has no \"more\" or no zone gencount");
                return true;
            }
            bool more = p.more == 1;
            int64_t last = p.rows.empty() ? since : p.rows.back().gencount;
            if (p.zone_gencount < last)
                violation("pull-shape", where + ": zone gencount " + std::to_string(p.zone_gencount) + " below a returned record's " + std::to_string(last));
            if (more && p.rows.empty()) {
                violation("pull-shape", where + ": more=true on an empty page (a client would pull the same page forever)");
                return true;
            }
            // The cursor (PROTOCOL.md, pull): while more, the last record's
            // gencount; after the last page, the zone's gencount read in the
            // page's snapshot, which lies at or above any compaction horizon.
            int64_t next = more ? last : p.zone_gencount;
            if (p.next_since >= 0) {  // HTTP: follow next_since as given, checked against the rule
                int64_t given = p.next_since;
                if (cfg.injected("next-since") && !injected_next_since_) {
                    injected_next_since_ = true;
                    given++;
                }
                if (given != next)
                    violation("next-since", where + ": next_since " + std::to_string(given) + " with more=" + (more ? "true" : "false") +
                                                ", expected " + std::to_string(next) + (more ? " (the last record)" : " (the zone's gencount)"));
                next = given;
            }
            // Jumping to the zone's gencount must skip nothing: the last page
            // holds every record above since in its snapshot.
            if (!more && !live_only) check_no_gap(zi, since, p.zone_gencount, p.rows, acked_before, where);
            if (next < since)
                violation("cursor-back", "reader " + zlabel(zi) + ": cursor " + std::to_string(since) + " -> " + std::to_string(next));
            since = next;
            if (reset) full = since > 0;
            if (!more) break;
        }
        if (since < rz.cursor) violation("cursor-back", "reader " + zlabel(zi) + ": cursor " + std::to_string(rz.cursor) + " -> " + std::to_string(since));
        rz.cursor = since;
        return true;
    }

    static uint64_t acks_recorded(int zi)
    {
        std::lock_guard<std::mutex> lk(model[zi].mu);
        return model[zi].acks_recorded;
    }

    // Every write acknowledged before the pull was sent committed before its
    // snapshot, so on the last page (more=false, records from since up to
    // the zone's gencount zone_g in that snapshot): its gencount is at most
    // zone_g, and if above since, the page holds its item at that gencount
    // or a later one (its newest version in the snapshot, also <= zone_g).
    void check_no_gap(int zi, int64_t since, int64_t zone_g, const std::vector<PullRow> &rows, uint64_t acked_before,
                      const std::string &where)
    {
        std::unordered_map<Uuid, int64_t, UuidHash> page;
        for (const auto &row : rows) page[row.item] = std::max(page[row.item], row.gencount);
        ZoneModel &z = model[zi];
        std::lock_guard<std::mutex> lk(z.mu);
        for (auto it = z.acks.upper_bound(since); it != z.acks.end(); ++it) {
            const Ack &a = it->second;
            if (a.ack_no > acked_before) continue;  // acknowledged after the pull was sent
            int64_t g = it->first;
            if (g > zone_g) {
                violation("pull-gap", where + ": zone gencount " + std::to_string(zone_g) + " below write " + std::to_string(g) +
                                          " acknowledged before the pull");
                continue;
            }
            auto seen = page.find(a.item);
            bool present = seen != page.end() && seen->second >= g;
            if (cfg.injected("pull-gap") && !injected_gap_ && present) {
                injected_gap_ = true;
                present = false;
            }
            if (!present)
                violation("pull-gap", where + ": last page (up to zone gencount " + std::to_string(zone_g) + ") lacks item " +
                                          uuid_str(a.item) + " written at gencount " + std::to_string(g) + " before the pull");
        }
    }

    void check_row(int zi, int64_t prev, const PullRow &row, bool live_only)
    {
        std::string where = "reader " + zlabel(zi) + " gencount " + std::to_string(row.gencount);
        if (row.gencount <= prev)
            violation("pull-order", where + " after " + std::to_string(prev) + " (not ascending, or not above since)");
        if (row.deleted) {
            if (live_only) violation("pull-tombstone", where + ": since=0 returned a tombstone");
            if (!row.blob.empty()) violation("pull-tombstone", where + ": tombstone with a blob");
        } else {
            BlobHeader h;
            if (!parse_blob(row.blob, h)) {
                violation("foreign-blob", where + ": blob the checker never wrote: " + hex(row.blob.substr(0, 40)));
            } else {
                std::string expect_user = zuser(zi);
                if (cfg.injected("leak") && !injected_leak_) {
                    injected_leak_ = true;
                    expect_user += "?";
                }
                if (h.user != expect_user || h.zone != zname(zi))
                    violation("isolation", where + ": record of user '" + h.user + "' zone '" + h.zone + "'");
                else if (h.item != "-" && h.item != uuid_str(row.item))
                    violation("blob-mismatch", where + ": item " + uuid_str(row.item) + " carries the blob of item " + h.item);
            }
        }
        auto it = st_.zones[zi].copy.find(row.item);
        int64_t have = it == st_.zones[zi].copy.end() ? 0 : it->second.g;
        if (cfg.injected("stale") && !injected_stale_ && have > 0) {
            injected_stale_ = true;
            have = row.gencount;
        }
        if (have >= row.gencount)
            violation("stale-version", where + ": item " + uuid_str(row.item) + " already seen at gencount " + std::to_string(have));
    }

    ReaderState &st_;
    std::mt19937_64 rng_;
    std::unique_ptr<Backend> be_;
    bool injected_leak_ = false, injected_stale_ = false, injected_next_since_ = false, injected_gap_ = false;
};

}  // namespace

void run_reader(ReaderState &st)
{
    Reader r(st);
    r.run();
}

}  // namespace ck
