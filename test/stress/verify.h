#pragma once
#include "reader.h"
namespace ck {
// While writes go on (after a restart): every write acknowledged so far is
// still there (the server's version of each item is the acknowledged one or
// newer) and no zone's counter is below its highest acknowledged gencount.
void live_check(Backend &be, const std::string &why);
// After the run, with no write in flight: the server equals the model exactly
// (nothing lost, nothing extra), allocations are 1..N, digests/items/bytes
// match, every reader ended with the server's state, everything a reader saw
// was an acknowledged write, and sync_zones lists only this user's zones.
void final_check(Backend &be, std::vector<ReaderState> &readers);
}
