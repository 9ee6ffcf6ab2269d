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
            int64_t prev = since;
            for (const auto &row : p.rows) {
                check_row(zi, prev, row, since == 0 && !full);
                prev = row.gencount;
                Version &v = rz.copy[row.item];
                uint64_t seq = 0;
                BlobHeader h;
                if (!row.deleted && parse_blob(row.blob, h)) seq = h.seq;
                v = {row.gencount, seq, row.deleted, row.blob};
                st_.obs.push_back({zi, row.gencount, row.item, seq, row.deleted});
            }
            int64_t next = p.rows.empty() ? since : p.rows.back().gencount;
            if (p.next_since >= 0 && p.next_since != next)
                violation("http-shape", "reader " + zlabel(zi) + ": next_since " + std::to_string(p.next_since) + ", expected " + std::to_string(next));
            if (p.zone_gencount >= 0 && p.zone_gencount < next)
                violation("http-shape", "reader " + zlabel(zi) + ": zone gencount " + std::to_string(p.zone_gencount) + " below a returned record's " + std::to_string(next));
            if (next < since)
                violation("cursor-back", "reader " + zlabel(zi) + ": cursor " + std::to_string(since) + " -> " + std::to_string(next));
            since = next;
            if (reset) full = since > 0;
            if (static_cast<int>(p.rows.size()) < limit && p.more != 1) break;
        }
        if (since < rz.cursor) violation("cursor-back", "reader " + zlabel(zi) + ": cursor " + std::to_string(rz.cursor) + " -> " + std::to_string(since));
        rz.cursor = since;
        return true;
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
    bool injected_leak_ = false, injected_stale_ = false;
};

}  // namespace

void run_reader(ReaderState &st)
{
    Reader r(st);
    r.run();
}

}  // namespace ck
