// credsync::Vault: the library's public face (include/credsync/vault.h). It
// ties the local store, the keys, the HTTP API and the sync engine together.
#include "credsync/vault.h"

#include "api.h"
#include "content.h"
#include "crypto.h"
#include "keyring.h"
#include "names.h"
#include "store.h"
#include "sync.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace credsync {

using nlohmann::json;

namespace {

const char kDefaultServer[] = "http://127.0.0.1:8080";
const char kDbFile[] = "credsync.db";
const char kLockFile[] = "sync.lock";

void make_dirs(const std::string &path)
{
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
            throw Error(Error::Kind::local, "cannot create the home directory " + cur + ": " + std::strerror(errno));
    }
}

// The database file is created 0600 before SQLite opens it; SQLite gives its
// -wal and -shm files the same mode.
std::string prepare_db(const std::string &home)
{
    make_dirs(home);
    std::string path = home + "/" + kDbFile;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw Error(Error::Kind::local, "cannot open " + path + ": " + std::strerror(errno));
    ::close(fd);
    return path;
}

// An exclusive lock on home/sync.lock, so that two syncs of one home take turns.
class HomeLock {
public:
    explicit HomeLock(const std::string &home)
    {
        std::string path = home + "/" + kLockFile;
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) throw Error(Error::Kind::local, "cannot open " + path + ": " + std::strerror(errno));
        for (int i = 0; flock(fd_, LOCK_EX | LOCK_NB) != 0; i++) {
            if (i >= 1200) {
                ::close(fd_);
                throw Error(Error::Kind::local, "another credsync process has been syncing this home for 2 minutes");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    ~HomeLock() { ::close(fd_); }

private:
    int fd_ = -1;
};

std::string as_text(const json &j)
{
    if (j.is_string()) return j.get<std::string>();
    if (j.is_null()) return "";
    return j.dump();
}

Bytes b64_or_fail(const json &j, const char *key, size_t expect)
{
    if (!j.contains(key) || !j[key].is_string())
        throw Error(Error::Kind::server, std::string("the server's answer has no ") + key);
    auto b = base64_decode(j[key].get<std::string>());
    if (!b || (expect && b->size() != expect))
        throw Error(Error::Kind::server, std::string("the server's ") + key + " is malformed");
    return *b;
}

bool ieq_less(const std::string &a, const std::string &b)
{
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) < std::tolower(static_cast<unsigned char>(y));
    });
}

Entry to_entry(const ItemRow &row, const Content &c)
{
    Entry e;
    e.id = row.item;
    e.zone = row.zone;
    e.title = c.get("title");
    e.username = c.get("username");
    e.password = c.get("password");
    e.url = c.get("url");
    e.notes = c.get("notes");
    e.modified_ms = c.modified();
    // Each past password was the password until the next version was set.
    std::vector<PastPassword> past(c.history.begin(), c.history.end());
    auto cur = c.fields.find("password");
    for (size_t i = 0; i < past.size(); i++) {
        int64_t until = i + 1 < past.size() ? past[i + 1].s.t : (cur != c.fields.end() ? cur->second.s.t : past[i].s.t);
        // The same password set twice in a row is shown once.
        if (i + 1 < past.size() && past[i + 1].password == past[i].password) continue;
        e.history.push_back(HistoryItem{past[i].password, until});
    }
    std::reverse(e.history.begin(), e.history.end());
    return e;
}

}  // namespace

struct Vault::Impl {
    std::string home;
    std::string server_opt;
    std::unique_ptr<Store> store;  // opened on first use (after logout, not again until needed)

    Store &st()
    {
        if (!store) store = std::make_unique<Store>(prepare_db(home));
        return *store;
    }
    std::unique_ptr<Keyring> keys;
    std::unique_ptr<Api> api_;

    std::string server()
    {
        if (!server_opt.empty()) return server_opt;
        if (auto s = st().meta_text("server")) return *s;
        return kDefaultServer;
    }

    Api &api()
    {
        if (!api_) api_ = std::make_unique<Api>(server(), st().meta_text("token").value_or(""));
        return *api_;
    }

    bool logged_in() { return st().meta("token").has_value() && st().meta("master_key").has_value(); }

    void require_login()
    {
        if (!logged_in())
            throw Error(Error::Kind::not_logged_in,
                        "no account in " + home + ": run 'credsync signup NAME' or 'credsync login NAME' first");
        if (!keys) {
            auto mk = crypto::Key::from(*st().meta("master_key"));
            if (!mk) throw Error(Error::Kind::local, "the master key in " + home + " is damaged");
            keys = std::make_unique<Keyring>(st().meta_text("user").value_or(""), *mk);
        }
    }

    std::string stamp_dev()
    {
        auto d = st().meta_text("stamp_dev");
        if (d) return *d;
        auto id = uuid_random();
        std::string dev = hex_encode(id.data(), 8);
        st().set_meta("stamp_dev", dev);
        return dev;
    }

    size_t max_blob_bytes()
    {
        json j = cached_limits();
        if (j.is_object() && j.contains("max_blob_bytes") && j["max_blob_bytes"].is_number_unsigned())
            return j["max_blob_bytes"].get<size_t>();
        return 1 << 20;
    }

    // Records the account in the home. A home that already holds this account
    // keeps its entries and pending changes (a revoked device logging in
    // again); one of another account is refused.
    void establish(const std::string &name, const std::string &user, const std::string &device,
                   const std::string &token, const crypto::Key &master, const std::optional<Bytes> &salt,
                   const std::optional<json> &kdf, const std::optional<Bytes> &wrapped, const std::string &label)
    {
        Txn t(st().db());
        auto old_user = st().meta_text("user");
        if (old_user && *old_user != user)
            throw Error(Error::Kind::usage, "the home " + home + " belongs to the account '" +
                                                st().meta_text("name").value_or(*old_user) +
                                                "': log out first, or use another --home");
        if (auto old_key = st().meta("master_key"); old_key && *old_key != master.bytes())
            throw Error(Error::Kind::local, "the account's master key is not the one this home holds");
        st().set_meta("name", name);
        st().set_meta("user", user);
        st().set_meta("device_id", device);
        st().set_meta("device_label", label);
        st().set_meta("token", token);
        st().set_meta("master_key", master.bytes());
        st().set_meta("server", server());
        st().set_meta("salt", salt);
        st().set_meta("kdf", kdf ? std::optional<Bytes>(to_bytes(kdf->dump())) : std::nullopt);
        st().set_meta("wrapped_key", wrapped);
        stamp_dev();
        t.commit();
        keys.reset();
        api_.reset();
    }

    std::vector<std::pair<ItemRow, Content>> live(const std::string &zone)
    {
        require_login();
        std::vector<std::pair<ItemRow, Content>> out;
        st().for_each_item(zone, [&](const ItemRow &row) {
            if (!row.cur_blob) return;
            auto c = keys->open(row.zone, row.item, *row.cur_blob);
            if (!c) throw Error(Error::Kind::local, "the local copy of entry " + row.item + " does not decrypt");
            out.emplace_back(row, *c);
        });
        return out;
    }

    std::pair<ItemRow, Content> find(const std::string &key)
    {
        auto all = live("");
        std::vector<size_t> by_title, by_prefix;
        for (size_t i = 0; i < all.size(); i++) {
            if (all[i].first.item == key) return all[i];
            if (all[i].second.get("title") == key) by_title.push_back(i);
            if (key.size() >= 4 && all[i].first.item.compare(0, key.size(), key) == 0) by_prefix.push_back(i);
        }
        auto &hits = by_title.empty() ? by_prefix : by_title;
        if (hits.size() == 1) return all[hits[0]];
        if (hits.empty()) throw Error(Error::Kind::not_found, "no entry with the id or title '" + key + "'");
        std::string ids;
        for (size_t i : hits) ids += (ids.empty() ? "" : ", ") + all[i].first.item;
        throw Error(Error::Kind::ambiguous, "'" + key + "' names " + std::to_string(hits.size()) +
                                                " entries (" + ids + "); use the id");
    }

    Bytes seal_checked(const std::string &zone, const std::string &item, const Content &c)
    {
        Bytes blob = keys->seal(zone, item, c);
        if (blob.size() > max_blob_bytes())
            throw Error(Error::Kind::usage, "the entry is too large for the server (" + std::to_string(blob.size()) +
                                                " bytes sealed, at most " + std::to_string(max_blob_bytes()) + ")");
        return blob;
    }

    // A 401 in the middle of anything: say what it means for this device.
    [[noreturn]] void rethrow_unauthorized()
    {
        throw Error(Error::Kind::unauthorized,
                    "this device is no longer authorized (revoked, or logged out): log in again with 'credsync login " +
                        st().meta_text("name").value_or("NAME") + "'");
    }

    // The server's limits (GET /v1/account's "limits"), as kept in the home:
    // learnt at login (learn_limits) or at a push (push_limits), forgotten
    // after a 413 (sync.cpp).
    json cached_limits()
    {
        json j;
        if (auto t = st().meta_text("limits")) j = json::parse(*t, nullptr, false);
        return j.is_object() ? j : json();
    }

    static long long limit(const json &j, const char *k, long long dflt)
    {
        return j.is_object() && j.contains(k) && j[k].is_number_integer() ? j[k].get<long long>() : dflt;
    }

    // Asked for when a home logs in, online anyway: add and edit then refuse
    // an entry the server would not take (max_blob_bytes) even on a device
    // that has only pulled, and a sync that only pulls needs no request for
    // them. Best effort: a login does not fail for them (a push asks again).
    void learn_limits(const json &account)
    {
        json j = account.value("limits", json());
        if (j.is_object()) st().set_meta("limits", j.dump());
    }
    void learn_limits()
    {
        try {
            learn_limits(api().account());
        } catch (const std::exception &) {
        }
    }

    // Records per pull page: the protocol's default (kPullPage), or less if
    // the server said so. Never a request.
    int pull_page()
    {
        return static_cast<int>(std::clamp<long long>(limit(cached_limits(), "max_pull_records", kPullPage), 1, kPullPage));
    }

    // What a push needs: asked for if the home does not hold them.
    SyncLimits push_limits()
    {
        json j = cached_limits();
        if (j.is_null()) {
            j = api().account().value("limits", json::object());
            st().set_meta("limits", j.dump());
        }
        SyncLimits l;
        l.batch_records = static_cast<int>(std::clamp<long long>(limit(j, "max_batch_records", 500), 1, 500));
        l.body_bytes =
            static_cast<size_t>(std::clamp<long long>(limit(j, "max_body_bytes", 8 << 20) / 2, 64 << 10, 8 << 20));
        return l;
    }
};

Vault::Vault(const Options &options) : impl_(std::make_unique<Impl>())
{
    crypto::init();
    if (options.home.empty()) throw Error(Error::Kind::usage, "no home directory given");
    impl_->home = options.home;
    impl_->server_opt = options.server;
    impl_->st();
}

Vault::~Vault() = default;
Vault::Vault(Vault &&) noexcept = default;
Vault &Vault::operator=(Vault &&) noexcept = default;

bool Vault::logged_in() const { return impl_->logged_in(); }
std::string Vault::account_name() const { return impl_->st().meta_text("name").value_or(""); }
std::string Vault::server() const { return impl_->server(); }

std::string Vault::generate_password(size_t n)
{
    crypto::init();
    return crypto::generate_password(n);
}

void Vault::signup(const std::string &name, const std::string &password, const std::string &device_label,
                   const std::string &kdf_preset)
{
    auto &I = *impl_;
    if (I.logged_in()) throw Error(Error::Kind::usage, "the home " + I.home + " already holds an account");
    if (!valid_name(name)) throw Error(Error::Kind::usage, "an account name is 1 to 256 bytes of UTF-8 without control characters");
    auto kdf = crypto::Kdf::preset(kdf_preset);
    if (!kdf) throw Error(Error::Kind::usage, "CREDSYNC_KDF must be interactive, moderate or sensitive");
    Bytes salt = crypto::random_bytes(crypto::kSaltBytes);
    auto derived = crypto::derive(password, salt, *kdf);
    auto login = crypto::login_keys(derived.login_seed);
    auto master = crypto::Key::random();
    Bytes wrapped = crypto::wrap_master(derived.wrap_key, master, name);
    json body = {{"name", name},
                 {"login_key", base64_encode(login.pk.data(), login.pk.size())},
                 {"salt", base64_encode(salt)},
                 {"kdf", kdf->to_json()},
                 {"wrapped_key", base64_encode(wrapped)},
                 {"device", device_label}};
    json resp;
    try {
        resp = Api(I.server(), "").create_account(body);
    } catch (const HttpError &e) {
        if (e.status() == 404)
            throw Error(Error::Kind::not_found, "the server at " + I.server() +
                                                    " does not offer sign-up (it needs the accounts API and --open-registration)");
        if (e.code() == "name_taken") throw Error(Error::Kind::conflict, "the name '" + name + "' is taken");
        throw;
    } catch (const Error &e) {
        if (e.kind() == Error::Kind::network)
            throw Error(Error::Kind::network, std::string(e.what()) +
                                                  " (if the account was created before the connection broke, 'credsync login' works)");
        throw;
    }
    I.establish(name, as_text(resp.at("user")), as_text(resp.value("device", json())), as_text(resp.at("token")), master,
                salt, kdf->to_json(), wrapped, device_label);
    I.learn_limits();
}

void Vault::login(const std::string &name, const std::string &password, const std::string &device_label)
{
    auto &I = *impl_;
    if (!valid_name(name)) throw Error(Error::Kind::usage, "an account name is 1 to 256 bytes of UTF-8 without control characters");
    if (auto old = I.st().meta_text("name"); old && *old != name)
        throw Error(Error::Kind::usage, "the home " + I.home + " belongs to the account '" + *old +
                                            "': log out first, or use another --home");
    Api api(I.server(), "");
    json resp;
    crypto::Derived derived;
    Bytes salt;
    crypto::Kdf kdf;
    try {
        json ch = api.login_challenge(name);
        Bytes challenge = b64_or_fail(ch, "challenge", 32);
        salt = b64_or_fail(ch, "salt", crypto::kSaltBytes);
        kdf = crypto::Kdf::from_json(ch.value("kdf", json()));
        derived = crypto::derive(password, salt, kdf);
        auto keys = crypto::login_keys(derived.login_seed);
        Bytes sig = crypto::sign(keys, crypto::login_message(challenge, name));
        resp = api.login({{"name", name},
                          {"challenge", base64_encode(challenge)},
                          {"signature", base64_encode(sig)},
                          {"device", device_label}});
    } catch (const HttpError &e) {
        if (e.status() == 404 && e.code() != "login_failed")
            throw Error(Error::Kind::not_found, "the server at " + I.server() + " does not offer logins (no accounts API)");
        if (e.kind() == Error::Kind::login_failed || e.status() == 401)
            throw Error(Error::Kind::login_failed, "login failed: wrong name or password");
        if (e.status() == 429)
            throw Error(Error::Kind::rate_limited, "too many failed logins for '" + name + "'; try again in a few minutes");
        throw;
    }
    Bytes wrapped = b64_or_fail(resp, "wrapped_key", 0);
    auto master = crypto::unwrap_master(derived.wrap_key, wrapped, name);
    if (!master)
        throw Error(Error::Kind::tampered,
                    "the account's key does not open with this password although the login succeeded (the server's "
                    "account data was altered)");
    I.establish(name, as_text(resp.at("user")), as_text(resp.value("device", json())), as_text(resp.at("token")), *master,
                salt, kdf.to_json(), wrapped, device_label);
    I.learn_limits();
}

void Vault::attach(const std::string &token, const std::string &device_label, const std::string &key_from_home)
{
    auto &I = *impl_;
    if (token.empty()) throw Error(Error::Kind::usage, "no token given");
    Api api(I.server(), token);
    json acct;
    try {
        acct = api.account();
    } catch (const HttpError &e) {
        if (e.status() == 401) throw Error(Error::Kind::unauthorized, "the server does not accept this token");
        throw;
    }
    std::string user = as_text(acct.at("user"));
    std::optional<crypto::Key> master;
    if (!key_from_home.empty()) {
        if (::access((key_from_home + "/" + kDbFile).c_str(), R_OK) != 0)
            throw Error(Error::Kind::usage, "the home " + key_from_home + " holds no account");
        Store other(key_from_home + "/" + kDbFile);
        auto k = other.meta("master_key");
        if (!k) throw Error(Error::Kind::usage, "the home " + key_from_home + " holds no account");
        if (other.meta_text("user").value_or("") != user)
            throw Error(Error::Kind::usage, "the home " + key_from_home + " belongs to another user than this token");
        master = crypto::Key::from(*k);
    } else if (auto k = I.st().meta("master_key")) {
        master = crypto::Key::from(*k);  // the same home again (a new token)
    } else {
        master = crypto::Key::random();
    }
    if (!master) throw Error(Error::Kind::local, "a damaged master key");
    I.establish(user, user, "", token, *master, std::nullopt, std::nullopt, std::nullopt, device_label);
    I.learn_limits(acct);
}

std::string Vault::logout(bool force)
{
    auto &I = *impl_;
    I.require_login();
    int64_t pending = 0;
    for (auto &z : I.st().zone_names()) {
        pending += I.st().pending(z);
        auto zr = I.st().zone(z);
        if (zr && !zr->outbox_op.empty()) pending++;
    }
    if (pending > 0 && !force)
        throw Error(Error::Kind::usage, std::to_string(pending) +
                                            " local changes are not synced yet: run 'credsync sync' first, or 'credsync "
                                            "logout --force' to discard them");
    std::string warning;
    try {
        std::string id = I.st().meta_text("device_id").value_or("");
        if (id.empty()) {
            for (auto &d : devices())
                if (d.current) id = d.id;
        }
        if (!valid_device_id(id)) throw Error(Error::Kind::not_found, "this device's id is unknown");
        I.api().revoke_device(id);
    } catch (const Error &e) {
        if (e.kind() == Error::Kind::unauthorized) {
            // Revoked already: nothing to do on the server.
        } else if (force) {
            warning = std::string("this device could not be revoked on the server (") + e.what() +
                      "); revoke it from another device with 'credsync devices revoke'";
        } else {
            throw Error(e.kind(), std::string(e.what()) + " (the device stays logged in; 'credsync logout --force' wipes it anyway)");
        }
    }
    I.keys.reset();
    I.api_.reset();
    I.store.reset();
    for (const char *f : {"credsync.db", "credsync.db-wal", "credsync.db-shm", "sync.lock"})
        ::unlink((I.home + "/" + f).c_str());
    ::rmdir(I.home.c_str());  // only if nothing else lives there
    return warning;
}

void Vault::change_password(const std::string &old_password, const std::string &new_password,
                            const std::string &kdf_preset, bool logout_others)
{
    auto &I = *impl_;
    I.require_login();
    auto salt = I.st().meta("salt");
    auto kdf_text = I.st().meta_text("kdf");
    auto wrapped = I.st().meta("wrapped_key");
    std::string name = I.st().meta_text("name").value_or("");
    if (!salt || !kdf_text || !wrapped)
        throw Error(Error::Kind::usage, "this device was attached with a token: its account has no password");
    auto kdf_new = crypto::Kdf::preset(kdf_preset);
    if (!kdf_new) throw Error(Error::Kind::usage, "CREDSYNC_KDF must be interactive, moderate or sensitive");
    auto old = crypto::derive(old_password, *salt, crypto::Kdf::from_json(json::parse(*kdf_text)));
    auto mk = crypto::unwrap_master(old.wrap_key, *wrapped, name);
    if (!mk || mk->bytes() != I.keys->master().bytes()) throw Error(Error::Kind::login_failed, "wrong password");
    // Another device may have changed the password since this one logged in.
    json ch = I.api().login_challenge(name);
    if (b64_or_fail(ch, "salt", crypto::kSaltBytes) != *salt)
        throw Error(Error::Kind::conflict, "the password was changed on another device: log in again with the new one");
    Bytes salt_new = crypto::random_bytes(crypto::kSaltBytes);
    auto derived = crypto::derive(new_password, salt_new, *kdf_new);
    auto login = crypto::login_keys(derived.login_seed);
    Bytes wrapped_new = crypto::wrap_master(derived.wrap_key, I.keys->master(), name);
    try {
        I.api().change_login({{"login_key", base64_encode(login.pk.data(), login.pk.size())},
                              {"salt", base64_encode(salt_new)},
                              {"kdf", kdf_new->to_json()},
                              {"wrapped_key", base64_encode(wrapped_new)},
                              {"logout_others", logout_others}});
    } catch (const HttpError &e) {
        if (e.status() == 401) I.rethrow_unauthorized();
        throw;
    }
    Txn t(I.st().db());
    I.st().set_meta("salt", salt_new);
    I.st().set_meta("kdf", kdf_new->to_json().dump());
    I.st().set_meta("wrapped_key", wrapped_new);
    t.commit();
}

std::vector<Device> Vault::devices()
{
    auto &I = *impl_;
    I.require_login();
    json j;
    try {
        j = I.api().devices();
    } catch (const HttpError &e) {
        if (e.status() == 401) I.rethrow_unauthorized();
        if (e.status() == 404) throw Error(Error::Kind::not_found, "the server does not list devices (no accounts API)");
        throw;
    }
    std::vector<Device> out;
    for (auto &d : j.value("devices", json::array())) {
        Device dev;
        dev.id = as_text(d.value("id", json()));
        dev.label = as_text(d.value("label", json()));
        dev.created = as_text(d.value("created", json()));
        dev.last_seen = as_text(d.value("last_seen", json()));
        dev.current = d.value("current", false);
        out.push_back(dev);
    }
    return out;
}

void Vault::revoke_device(const std::string &id)
{
    auto &I = *impl_;
    I.require_login();
    if (!valid_device_id(id)) throw Error(Error::Kind::usage, "'" + id + "' is not a device id");
    try {
        I.api().revoke_device(id);
    } catch (const HttpError &e) {
        if (e.status() == 401) I.rethrow_unauthorized();
        if (e.status() == 404) throw Error(Error::Kind::not_found, "no device " + id + " in this account");
        throw;
    }
}

std::string Vault::add(const NewEntry &entry)
{
    auto &I = *impl_;
    I.require_login();
    if (entry.title.empty()) throw Error(Error::Kind::usage, "an entry needs a title");
    if (!valid_zone(entry.zone)) throw Error(Error::Kind::usage, "a zone is 1 to 64 characters of [A-Za-z0-9_.-]");
    Content c = make_content({{"title", entry.title},
                              {"username", entry.username},
                              {"password", entry.password},
                              {"url", entry.url},
                              {"notes", entry.notes}},
                             I.stamp_dev(), now_ms());
    ItemRow row;
    row.zone = entry.zone;
    row.item = uuid_text(uuid_random());
    row.cur_blob = I.seal_checked(row.zone, row.item, c);
    row.last_blob = row.cur_blob;
    row.dirty = true;
    Txn t(I.st().db());
    I.st().put(row);
    t.commit();
    return row.item;
}

std::vector<Entry> Vault::list(const std::string &zone)
{
    std::vector<Entry> out;
    for (auto &[row, c] : impl_->live(zone)) out.push_back(to_entry(row, c));
    std::sort(out.begin(), out.end(), [](const Entry &a, const Entry &b) {
        if (a.title != b.title) return ieq_less(a.title, b.title) || (!ieq_less(b.title, a.title) && a.title < b.title);
        return a.id < b.id;
    });
    return out;
}

Entry Vault::get(const std::string &id_or_title)
{
    auto [row, c] = impl_->find(id_or_title);
    return to_entry(row, c);
}

bool Vault::edit(const std::string &id_or_title, const EntryChanges &changes)
{
    auto &I = *impl_;
    I.require_login();
    std::map<std::string, std::string> values;
    if (changes.title) {
        if (changes.title->empty()) throw Error(Error::Kind::usage, "an entry needs a title");
        values["title"] = *changes.title;
    }
    if (changes.username) values["username"] = *changes.username;
    if (changes.password) values["password"] = *changes.password;
    if (changes.url) values["url"] = *changes.url;
    if (changes.notes) values["notes"] = *changes.notes;
    Txn t(I.st().db());  // find and write in one transaction: a sync cannot slip in between
    auto [row, c] = I.find(id_or_title);
    if (!apply_edit(c, values, I.stamp_dev(), now_ms())) return false;
    row.cur_blob = I.seal_checked(row.zone, row.item, c);
    row.last_blob = row.cur_blob;
    row.dirty = true;
    I.st().put(row);
    t.commit();
    return true;
}

void Vault::remove(const std::string &id_or_title)
{
    auto &I = *impl_;
    I.require_login();
    Txn t(I.st().db());
    auto [row, c] = I.find(id_or_title);
    row.last_blob = row.cur_blob;  // what the delete deletes: an edit it did not see will beat it
    row.cur_blob.reset();
    row.dirty = true;
    I.st().put(row);
    t.commit();
}

SyncResult Vault::sync(const SyncOptions &options)
{
    auto &I = *impl_;
    I.require_login();
    HomeLock lock(I.home);
    SyncResult result;
    SyncCallbacks cb;
    cb.warn = [&](const std::string &m) {
        result.warnings.push_back(m);
        if (options.on_warning) options.on_warning(m);
    };
    cb.progress = options.on_progress;
    SyncStats stats;
    try {
        SyncEngine engine(I.st(), I.api(), *I.keys, I.pull_page(), [&I] { return I.push_limits(); }, cb);
        engine.sync_all(options.full, stats);
    } catch (const HttpError &e) {
        if (e.status() == 401) I.rethrow_unauthorized();
        if (e.status() == 507) throw Error(Error::Kind::quota, "the account is over its quota on the server: " + std::string(e.what()));
        throw;
    }
    result.pulled = stats.pulled;
    result.pushed = stats.pushed;
    result.merged = stats.merged;
    result.tampered = stats.tampered;
    result.rolled_back = stats.rolled_back;
    result.reuploaded = stats.reuploaded;
    result.resyncs = stats.resyncs;
    result.rejected = stats.rejected;
    result.too_large = stats.too_large;
    for (auto &z : stats.zones) result.zones.emplace_back(z.zone, z.gencount);
    return result;
}

void Vault::watch(const SyncOptions &options, const std::function<bool(const SyncResult &)> &after_each)
{
    auto &I = *impl_;
    for (;;) {
        SyncResult r;
        try {
            r = sync(options);
        } catch (const Error &e) {
            // A server away for a while is waited for; anything else ends the watch.
            if (e.kind() != Error::Kind::network) throw;
            if (options.on_warning) options.on_warning(std::string(e.what()) + "; retrying in 5 s");
            std::this_thread::sleep_for(std::chrono::seconds(5));
            continue;
        }
        if (!after_each(r)) return;

        // Wait for a change: one long-poll per zone, and local changes made
        // by other processes on this home (checked every second). The polls
        // run on detached threads that own their state: a poll still waiting
        // when another zone woke us ends by itself within its wait.
        struct Wake {
            std::mutex mu;
            std::condition_variable cv;
            bool woken = false;
        };
        auto wake = std::make_shared<Wake>();
        std::string token = I.st().meta_text("token").value_or("");
        std::string server = I.server();
        for (auto &zone : I.st().zone_names()) {
            auto z = I.st().zone(zone);
            int64_t since = z ? z->cursor : 0;
            std::thread([wake, server, token, zone, since] {
                for (;;) {
                    bool changed = false;
                    try {
                        Api api(server, token);
                        json page = api.pull(zone, since, 1, false, 25);
                        changed = !page.value("records", json::array()).empty();
                    } catch (const std::exception &) {
                        changed = true;  // 410, 401, a server gone: let sync() say what it is
                    }
                    std::lock_guard<std::mutex> g(wake->mu);
                    if (changed || wake->woken) {
                        wake->woken = true;
                        wake->cv.notify_all();
                        return;
                    }
                }
            }).detach();
        }
        std::unique_lock<std::mutex> g(wake->mu);
        while (!wake->woken) {
            if (wake->cv.wait_for(g, std::chrono::seconds(1), [&] { return wake->woken; })) break;
            g.unlock();
            int64_t pending = 0;
            for (auto &zone : I.st().zone_names()) pending += I.st().pending(zone);
            g.lock();
            if (pending > 0) wake->woken = true;
        }
    }
}

std::vector<ZoneStatus> Vault::status(bool ask_server)
{
    auto &I = *impl_;
    I.require_login();
    std::map<std::string, ZoneStatus> zones;
    for (auto &z : I.st().zone_names()) {
        ZoneStatus s;
        s.zone = z;
        auto zr = I.st().zone(z);
        s.cursor = zr ? zr->cursor : 0;
        s.pending = I.st().pending(z) + (zr && !zr->outbox_op.empty() ? 1 : 0);
        zones[z] = s;
    }
    std::set<std::string> listed_zones;
    if (ask_server) {
        try {
            json j = I.api().zones();
            for (auto &[name, s] : zones) s.server_gencount = 0;  // a zone the server lacks reads as 0
            for (auto &z : j.value("zones", json::array())) {
                std::string name = z.value("zone", "");
                if (!valid_zone(name)) continue;
                listed_zones.insert(name);
                auto &s = zones[name];
                s.zone = name;
                s.server_gencount = z.value("gencount", int64_t(0));
            }
        } catch (const HttpError &e) {
            if (e.status() == 401) I.rethrow_unauthorized();
        } catch (const Error &) {
            // offline: server_gencount stays unknown
        }
    }
    std::vector<ZoneStatus> out;
    for (auto &[name, s] : zones) {
        auto zr = I.st().zone(name);
        bool clean = s.pending == 0 && (!zr || zr->resync.empty());
        // A zone the server does not list (never pushed, or deleted) is in
        // sync when this device holds nothing in it either.
        bool listed = listed_zones.count(name) > 0;
        bool empty_here = true;
        if (!listed)
            I.st().for_each_item(name, [&](const ItemRow &r) { empty_here = empty_here && !r.cur_blob; });
        s.in_sync = clean && s.server_gencount &&
                    (listed ? *s.server_gencount == s.cursor : empty_here);
        out.push_back(s);
    }
    return out;
}

}  // namespace credsync
