#include "model.h"

#include <chrono>
#include <thread>

namespace ck {

Config cfg;
Stats stats;
std::vector<std::string> user_names, zone_names;
std::vector<ZoneModel> model;
std::atomic<bool> stop_writers{false};
std::atomic<bool> writers_done{false};
std::vector<std::pair<std::string, std::string>> g_tokens;

std::string zlabel(int zi) { return "(" + zuser(zi) + ", " + zname(zi) + ")"; }

void record_ack(int zi, int64_t g, const Uuid &item, uint64_t seq, bool deleted, const std::string &blob)
{
    ZoneModel &z = model[zi];
    std::lock_guard<std::mutex> lk(z.mu);
    auto it = z.acks.find(g);
    if (it != z.acks.end()) {
        stats.duplicated++;
        violation("duplicate-gencount", zlabel(zi) + " gencount " + std::to_string(g) + " acknowledged for item " +
                                            uuid_str(it->second.item) + " and again for item " + uuid_str(item));
        return;
    }
    z.acks[g] = {item, seq, deleted, blob, ++z.acks_recorded};
    Version &v = z.latest[item];
    if (v.g >= g)
        violation("item-order", zlabel(zi) + " item " + uuid_str(item) + ": a later write got gencount " +
                                    std::to_string(g) + " <= " + std::to_string(v.g));
    else
        v = {g, seq, deleted, blob};
    if (g > z.max_acked) z.max_acked = g;
}

std::unique_ptr<Backend> make_backend()
{
    if (!cfg.http_url.empty()) return make_http_backend(cfg.http_url, g_tokens);
    return make_pg_backend(cfg.conninfo);
}

std::unique_ptr<Backend> make_sql_backend() { return make_pg_backend(cfg.conninfo); }

bool reconnect_with_backoff(Backend &be, const char *who)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(cfg.fault_deadline);
    int delay_ms = 20;
    for (;;) {
        if (be.reconnect()) return true;
        if (std::chrono::steady_clock::now() >= deadline) {
            violation("unavailable", std::string(who) + ": could not reconnect within " + std::to_string(cfg.fault_deadline) + " s");
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        delay_ms = std::min(delay_ms * 2, 500);
    }
}

namespace {
// One pull that survives connection loss in fault mode.
bool pull_retry(Backend &be, int zi, int64_t since, int limit, bool full, PullResult &p, std::string &err)
{
    for (;;) {
        p = be.pull(zuser(zi), zname(zi), since, limit, full);
        if (p.outcome == Outcome::Ok) return true;
        if (p.outcome == Outcome::ConnError && cfg.tolerate && reconnect_with_backoff(be, "verifier")) continue;
        err = zlabel(zi) + " pull since " + std::to_string(since) + ": " + p.code + " " + p.message;
        return false;
    }
}
}  // namespace

bool fetch_all(Backend &be, int zi, std::unordered_map<Uuid, PullRow, UuidHash> &out, std::string &err)
{
    out.clear();
    PullResult p;
    // since=0 returns live records only: it is how a live record at gencount 1 is seen.
    if (!pull_retry(be, zi, 0, 1, false, p, err)) return false;
    for (auto &r : p.rows)
        if (r.gencount == 1) out[r.item] = r;
    int64_t since = 1;
    const int limit = 10000;
    for (;;) {
        if (!pull_retry(be, zi, since, limit, false, p, err)) {
            // an empty or one-record zone answers since=1 with "ahead"
            if (since == 1 && p.code.find("410") != std::string::npos) return true;
            return false;
        }
        for (auto &r : p.rows) {
            auto it = out.find(r.item);
            if (it == out.end() || it->second.gencount < r.gencount) out[r.item] = r;
        }
        if (p.rows.empty()) break;
        since = p.rows.back().gencount;
        if (static_cast<int>(p.rows.size()) < limit && p.more != 1) break;
    }
    return true;
}

bool fetch_full_sync(Backend &be, int zi, std::unordered_map<Uuid, PullRow, UuidHash> &out, std::string &err)
{
    out.clear();
    int64_t since = 0;
    const int limit = 1000;
    for (;;) {
        PullResult p;
        if (!pull_retry(be, zi, since, limit, since > 0, p, err)) return false;
        for (auto &r : p.rows) {
            if (r.deleted) out.erase(r.item);
            else out[r.item] = r;
        }
        if (p.rows.empty()) break;
        since = p.rows.back().gencount;
        if (static_cast<int>(p.rows.size()) < limit && p.more != 1) break;
    }
    return true;
}

}  // namespace ck
