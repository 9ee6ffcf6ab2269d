// The commands of `credsync` (docs/client.md).
#pragma once

#include "args.h"

#include <string>

namespace credsync::cli {

// Runs the command; returns the exit status. Throws UsageError or
// credsync::Error.
int run(const Args &args);
void print_help(const std::string &command);

}  // namespace credsync::cli
