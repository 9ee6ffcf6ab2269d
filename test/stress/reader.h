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

// Pulls incrementally (sync_pull since=cursor) from random zones until
// writers_done, then catches up every zone once more. Checks on every page:
// ascending gencounts above the cursor, the cursor never goes back, each
// record belongs to this user and zone, no version older than one already seen.
void run_reader(ReaderState &st);
}
