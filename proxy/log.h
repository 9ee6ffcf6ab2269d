// The server log on stderr: one timestamped line per call, thread-safe.
// Callers never pass tokens or blobs.
//
// Lines are written by a thread of their own, from a bounded queue, so that a
// slow or blocked stderr (a full pipe, a stalled journal) never holds up a
// request. When the queue is full, lines are dropped and counted, and the
// next line written says how many were lost.
#pragma once

#include <string>

namespace credsync {

void log_line(const std::string &line);

// Waits (at most timeout_ms) until every queued line has been written; for
// the end of the process.
void log_flush(int timeout_ms = 2000);

}  // namespace credsync
