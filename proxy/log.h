// One-line server log on stderr (timestamped, thread-safe). Callers never pass
// tokens or blobs.
#pragma once

#include <string>

namespace credsync {

void log_line(const std::string &line);

}  // namespace credsync
