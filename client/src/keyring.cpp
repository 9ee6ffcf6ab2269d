#include "keyring.h"

#include "error.h"

namespace credsync {

const crypto::Key &Keyring::zone_key(const std::string &zone)
{
    auto it = zone_keys_.find(zone);
    if (it == zone_keys_.end()) it = zone_keys_.emplace(zone, crypto::zone_key(master_, zone)).first;
    return it->second;
}

std::optional<Content> Keyring::open(const std::string &zone, const std::string &item, const Bytes &blob)
{
    auto id = uuid_parse(item);
    if (!id) return std::nullopt;
    auto plain = crypto::open_entry(zone_key(zone), crypto::entry_ad(user_, zone, *id), blob);
    if (!plain) return std::nullopt;
    return Content::from_json(*plain);
}

bool Keyring::check(const std::string &zone, const std::string &item, const Bytes &blob)
{
    auto id = uuid_parse(item);
    return id && crypto::check_entry(zone_key(zone), crypto::entry_ad(user_, zone, *id), blob, &Content::well_formed);
}

Bytes Keyring::seal(const std::string &zone, const std::string &item, const Content &c)
{
    auto id = uuid_parse(item);
    if (!id) throw Error(Error::Kind::internal, "bad item id " + item);
    return crypto::seal_entry(zone_key(zone), crypto::entry_ad(user_, zone, *id), c.to_json());
}

}  // namespace credsync
