// What the proxy needs from its database, checked in one place: at start
// (logged as hints; the proxy serves anyway and answers 503 until the
// database does) and by `credsync-proxy --check` (printed; exit 0 when all is
// in order, 1 otherwise), so that a configuration can be checked before it is
// deployed.
#pragma once

#include "config.h"

namespace credsync {

// The extension version this proxy's queries need (the oldest that has every
// function it calls).
constexpr const char *kRequiredExtension = "1.5";

// Logs a line per finding; never fails.
void log_database_findings(const Config &cfg);

// --check: prints the flags it runs with and what it found; returns the exit
// status.
int run_check(const Config &cfg);

}  // namespace credsync
