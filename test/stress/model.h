// The checker's own model of every acknowledged write, shared by writers,
// readers and verifiers, plus the run's configuration and counters.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "backend.h"
#include "util.h"

namespace ck {

struct Config {
    std::string conninfo, http_url, prefix;
    std::string stop_file;  // with it, writers go on past --writes until this file exists
    int writers = 4, readers = 2, users = 4, zones = 3;
    long writes = 5000;
    double seconds = 60;
    uint64_t seed = 1;
    bool tolerate = false;      // connection loss expected: reconnect, re-send op_id
    double fault_deadline = 120;  // seconds a reconnect may take before giving up
    size_t max_pad = 120;
    std::set<std::string> inject;  // deliberate model corruptions, to prove the checks fail
    bool injected(const char *name) const { return inject.count(name) || inject.count("all"); }
};

struct Ack {  // one acknowledged record version: what the server said it wrote at (zone, gencount)
    Uuid item{};
    uint64_t seq = 0;  // 0 for a tombstone
    bool deleted = false;
    std::string blob;
    uint64_t ack_no = 0;  // the zone's acks_recorded when this one was recorded
};

struct Version {  // an item's newest version, as known to the model or a reader
    int64_t g = 0;
    uint64_t seq = 0;
    bool deleted = false;
    std::string blob;
};

struct ZoneModel {
    std::mutex mu;
    std::map<int64_t, Ack> acks;                            // gencount -> record
    std::unordered_map<Uuid, Version, UuidHash> latest;     // item -> newest acknowledged version
    std::unordered_map<Uuid, int, UuidHash> inflight;       // items of writes sent, not yet settled
    int64_t max_acked = 0;
    // Counts acks in the order they were recorded (gencount order is not
    // that order): a reader reads it before a pull, so that it knows which
    // writes were acknowledged, hence committed, before the pull's snapshot.
    uint64_t acks_recorded = 0;
};

struct Stats {
    std::atomic<uint64_t> records_acked{0}, pushes_acked{0}, singles{0}, batches{0}, deletes{0},
        if_match_ok{0}, conflicts{0}, replays{0}, op_reuse{0}, isolation_probes{0}, retries{0},
        conn_errors{0}, pulls{0}, records_read{0}, reader_resets{0}, restart_checks{0},
        signal_checks{0}, lost{0}, duplicated{0};
};

extern Config cfg;
extern Stats stats;
extern std::vector<std::string> user_names, zone_names;
extern std::vector<ZoneModel> model;  // index zi = user * zones + zone
extern std::atomic<bool> stop_writers;
extern std::atomic<bool> writers_done;  // every writer has returned: readers make their last pass

inline int nzones() { return cfg.users * cfg.zones; }
inline const std::string &zuser(int zi) { return user_names[zi / cfg.zones]; }
inline const std::string &zname(int zi) { return zone_names[zi % cfg.zones]; }
std::string zlabel(int zi);

// Records one acknowledged record; flags a (zone, gencount) handed out twice
// and an item whose newer write got a lower gencount.
void record_ack(int zi, int64_t g, const Uuid &item, uint64_t seq, bool deleted, const std::string &blob);

std::unique_ptr<Backend> make_backend();  // the run's mode: SQL or HTTP
std::unique_ptr<Backend> make_sql_backend();  // always SQL (restart checks)

// Reconnects with backoff until it works or cfg.fault_deadline passes.
bool reconnect_with_backoff(Backend &be, const char *who);

// Everything the server holds for a zone, tombstones included (except a
// tombstone at gencount 1, which no pull returns): item -> newest record.
bool fetch_all(Backend &be, int zi, std::unordered_map<Uuid, PullRow, UuidHash> &out, std::string &err);
// What a new device gets: since=0, then full_sync pages; live records only.
bool fetch_full_sync(Backend &be, int zi, std::unordered_map<Uuid, PullRow, UuidHash> &out, std::string &err);

}  // namespace ck
