// The keys of one logged-in account, and sealing/opening entries with them.
#pragma once

#include "content.h"
#include "crypto.h"

#include <map>
#include <optional>
#include <string>

namespace credsync {

class Keyring {
public:
    Keyring(std::string user, crypto::Key master) : user_(std::move(user)), master_(master) {}
    const std::string &user() const { return user_; }
    const crypto::Key &master() const { return master_; }

    // nullopt: the blob does not authenticate as (user, zone, item) or does
    // not hold an entry.
    std::optional<Content> open(const std::string &zone, const std::string &item, const Bytes &blob);
    // open() would give an entry: the same answer, the entry checked and
    // dropped, never built.
    bool check(const std::string &zone, const std::string &item, const Bytes &blob);
    Bytes seal(const std::string &zone, const std::string &item, const Content &c);

private:
    const crypto::Key &zone_key(const std::string &zone);
    std::string user_;
    crypto::Key master_;
    std::map<std::string, crypto::Key> zone_keys_;
};

}  // namespace credsync
