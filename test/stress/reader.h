#pragma once
#include "model.h"
namespace ck {

struct Observation {  // one record a reader received
    int zi;
    int64_t g;
    Uuid item;
    uint64_t seq;
    bool deleted;
};

struct ReaderZone {
    int64_t cursor = 0;
    std::unordered_map<Uuid, Version, UuidHash> copy;
};

struct ReaderState {
    int id = 0;
    std::vector<ReaderZone> zones;
    std::vector<Observation> obs;
};

// Pulls incrementally (sync_pull_page, or GET .../pull, since=cursor) from
// random zones until writers_done, then catches up every zone once more. The
// cursor follows PROTOCOL.md: the last record's gencount while more, then the
// zone's gencount of the last page's snapshot (over HTTP: next_since, checked
// against that rule). Checks on every page: ascending gencounts above the
// cursor, the cursor never goes back, each record belongs to this user and
// zone, no version older than one already seen; on the last page, that no
// write acknowledged before the pull is skipped (test/stress/CHECKS.md).
void run_reader(ReaderState &st);
}
