// What the protocol accepts as a zone, a user/account name and a device id.
#pragma once

#include <string>

namespace credsync {

// 1 to 64 characters of [A-Za-z0-9_.-].
bool valid_zone(const std::string &zone);
// 1 to 256 bytes of UTF-8 without control characters.
bool valid_name(const std::string &name);
// Safe as one path segment: [A-Za-z0-9_.-], 1 to 128 characters.
bool valid_device_id(const std::string &id);

}  // namespace credsync
