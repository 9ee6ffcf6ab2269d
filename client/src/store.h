// The device's local state, in SQLite under its home (docs/client.md, "Local
// store"). Nothing here is plaintext: entries are kept as the sealed blobs
// the server holds (or will hold).
//
//   meta   the account: name, user id, device id, token, master key, ...
//   zones  per zone: the cursor (everything up to it has been pulled), a full
//          resync owed (and why), the last server gencount seen, and the
//          outbox: the one push batch sent or about to be sent, with its op_id
//   items  per entry: the merge base (the server version last synced:
//          gencount and blob), the current local version, the last live
//          version known (what a delete deleted) and whether the local
//          version still has to be pushed
#pragma once

#include "db.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace credsync {

struct ItemRow {
    std::string zone;
    std::string item;
    int64_t base_gen = 0;            // 0: the server has no version we know of
    std::optional<Bytes> base_blob;  // the server's version at base_gen; nullopt: a tombstone or none
    bool base_bad = false;           // the server's version at base_gen failed authentication
    std::optional<Bytes> cur_blob;   // the local version; nullopt: deleted here
    std::optional<Bytes> last_blob;  // the last live version this device knew
    bool dirty = false;              // cur differs from base and must be pushed
};

// An item without its blobs: what a scan over a whole zone needs (the
// digest, which items exist), so that it does not read every blob.
struct ItemState {
    std::string item;
    int64_t base_gen = 0;
    bool has_base = false;  // base_blob is not NULL
    bool base_bad = false;
    bool has_cur = false;   // cur_blob is not NULL
    bool dirty = false;
};

struct ZoneRow {
    std::string zone;
    int64_t cursor = 0;
    std::string resync;                   // "" or why a full resync is owed
    std::optional<int64_t> server_gencount;
    std::string outbox_op;                // "" when empty
    std::string outbox_body;              // the exact JSON request body
    int64_t verified_cursor = 0;          // the cursor at which the mirror last matched the server's digest (0: never)
};

class Store {
public:
    // Opens or creates home/credsync.db.
    explicit Store(const std::string &path);
    Db &db() { return db_; }

    std::optional<Bytes> meta(const std::string &key);
    std::optional<std::string> meta_text(const std::string &key);
    void set_meta(const std::string &key, const std::optional<Bytes> &value);
    void set_meta(const std::string &key, const std::string &value);

    std::optional<ItemRow> item(const std::string &zone, const std::string &item);
    void put(const ItemRow &row);
    void erase(const std::string &zone, const std::string &item);  // the row gone (not a tombstone)
    // New items as the server sent them, each as put() would write an
    // ItemRow with base = current = last known = blob, not dirty: what a
    // first sync stores for almost every record (full_resync_into_empty).
    // Inserted kInsertRows to a statement (a row costs about half as much as
    // one put(), docs/client.md, "Speed"); an item already in the zone is an
    // error. The observer (observe_puts) is not called: the caller counts
    // these rows itself.
    struct NewItem {
        std::string_view item;
        int64_t gencount = 0;
        const Bytes *blob = nullptr;  // not empty
    };
    void insert_new(const std::string &zone, const std::vector<NewItem> &items);
    void for_each_item(const std::string &zone, const std::function<void(const ItemRow &)> &fn);  // zone "" = all
    void for_each_state(const std::string &zone, const std::function<void(const ItemState &)> &fn);
    std::vector<ItemRow> dirty_items(const std::string &zone, int limit);
    int64_t rejected(const std::string &zone);  // items whose server version failed authentication
    int64_t pending(const std::string &zone);

    std::optional<ZoneRow> zone(const std::string &zone);
    ZoneRow zone_or_new(const std::string &zone);
    void put(const ZoneRow &row);
    std::vector<std::string> zone_names();  // zones with a row or with items

    // Item rows written so far by put() (committed or not): a view computed
    // from the rows written stays true while this has not moved.
    uint64_t item_writes() const { return item_writes_; }
    // fn is called with every item row put() writes, until it is set to
    // nullptr (PutObserver).
    void observe_puts(std::function<void(const ItemRow &)> fn) { observer_ = std::move(fn); }

private:
    // A prepared statement kept for the store's life (the hot paths of a
    // sync: read and write one item), reset before each use.
    Stmt &cached(const std::string &sql);
    // The same for the statements run once per row of a sync, without
    // building and looking up their text at every call.
    Stmt &cached(std::unique_ptr<Stmt> &slot, const char *sql);
    Db db_;
    std::map<std::string, std::unique_ptr<Stmt>> stmts_;
    std::unique_ptr<Stmt> item_stmt_, put_stmt_, erase_stmt_, insert_one_, insert_many_;
    uint64_t item_writes_ = 0;
    std::function<void(const ItemRow &)> observer_;
};

// Store::observe_puts for a scope.
class PutObserver {
public:
    PutObserver(Store &s, std::function<void(const ItemRow &)> fn) : s_(s) { s_.observe_puts(std::move(fn)); }
    ~PutObserver() { s_.observe_puts(nullptr); }
    PutObserver(const PutObserver &) = delete;
    PutObserver &operator=(const PutObserver &) = delete;

private:
    Store &s_;
};

}  // namespace credsync
