#include "store.h"

namespace credsync {

namespace {

const char kSchema[] = R"SQL(
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB
);
CREATE TABLE IF NOT EXISTS zones (
    zone            TEXT PRIMARY KEY,
    cursor          INTEGER NOT NULL DEFAULT 0,
    resync          TEXT NOT NULL DEFAULT '',
    server_gencount INTEGER,
    outbox_op       TEXT NOT NULL DEFAULT '',
    outbox_body     TEXT NOT NULL DEFAULT '',
    verified        INTEGER NOT NULL DEFAULT 0  -- the cursor at the last digest match
);
CREATE TABLE IF NOT EXISTS items (
    zone      TEXT NOT NULL,
    item      TEXT NOT NULL,
    base_gen  INTEGER NOT NULL DEFAULT 0,
    base_blob BLOB,
    base_bad  INTEGER NOT NULL DEFAULT 0,
    cur_blob  BLOB,
    last_blob BLOB,
    dirty     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (zone, item)
);
CREATE INDEX IF NOT EXISTS items_dirty ON items (zone, item) WHERE dirty = 1;
)SQL";

// Most entries hold one blob three times (base = current = last known). On
// disk an empty blob stands for "the same as base" (cur_blob) and "the same as
// cur" (last_blob): a sealed entry is never empty.
ItemRow read_item(const Stmt &s)
{
    ItemRow r;
    r.zone = s.text(0);
    r.item = s.text(1);
    r.base_gen = s.int64(2);
    r.base_blob = s.blob(3);
    r.base_bad = s.int64(4) != 0;
    r.cur_blob = s.blob(5);
    if (r.cur_blob && r.cur_blob->empty()) r.cur_blob = r.base_blob;
    r.last_blob = s.blob(6);
    if (r.last_blob && r.last_blob->empty()) r.last_blob = r.cur_blob;
    r.dirty = s.int64(7) != 0;
    return r;
}

std::optional<Bytes> same_marker(const std::optional<Bytes> &v, const std::optional<Bytes> &as)
{
    if (v && as && *v == *as) return Bytes();
    return v;
}

const char kItemCols[] = "zone, item, base_gen, base_blob, base_bad, cur_blob, last_blob, dirty";

// Rows per statement of Store::insert_new(): the statement's fixed cost (it
// is run, halted and reset once per statement) spread over many rows.
constexpr size_t kInsertRows = 64;

// An INSERT of n new items: ?1 the zone, then each row's item, gencount and
// blob; the empty blobs are put()'s markers for "current = base" and "last
// known = current". OR FAIL: an item already there stops the statement with
// an error and keeps the rows before it (the caller's transaction is rolled
// back then), so SQLite keeps no statement journal to undo them: with the
// default (ABORT) it copied every index page a statement touched into a
// temporary file, 28 MB for a first sync of 10,000 entries.
std::string insert_new_sql(size_t n)
{
    std::string s = "INSERT OR FAIL INTO items (zone, item, base_gen, base_blob, base_bad, cur_blob, last_blob, dirty) VALUES ";
    for (size_t i = 0; i < n; i++) {
        const size_t p = 2 + 3 * i;
        if (i) s += ", ";
        s += "(?1, ?" + std::to_string(p) + ", ?" + std::to_string(p + 1) + ", ?" + std::to_string(p + 2) +
             ", 0, x'', x'', 0)";
    }
    return s;
}

}  // namespace

Store::Store(const std::string &path) : db_(path)
{
    db_.exec(kSchema);
}

std::optional<Bytes> Store::meta(const std::string &key)
{
    Stmt s(db_.raw(), "SELECT value FROM meta WHERE key = ?");
    s.bind(1, key);
    if (!s.step()) return std::nullopt;
    return s.blob(0);
}

std::optional<std::string> Store::meta_text(const std::string &key)
{
    auto b = meta(key);
    if (!b) return std::nullopt;
    return to_string(*b);
}

void Store::set_meta(const std::string &key, const std::optional<Bytes> &value)
{
    if (!value) {
        Stmt s(db_.raw(), "DELETE FROM meta WHERE key = ?");
        s.bind(1, key).run();
        return;
    }
    Stmt s(db_.raw(), "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    s.bind(1, key).bind(2, value).run();
}

void Store::set_meta(const std::string &key, const std::string &value) { set_meta(key, std::optional<Bytes>(to_bytes(value))); }

Stmt &Store::cached(const std::string &sql)
{
    auto &p = stmts_[sql];
    if (!p) p = std::make_unique<Stmt>(db_.raw(), sql);
    p->reset();
    return *p;
}

Stmt &Store::cached(std::unique_ptr<Stmt> &slot, const char *sql)
{
    if (!slot) slot = std::make_unique<Stmt>(db_.raw(), sql);
    slot->reset();
    return *slot;
}

std::optional<ItemRow> Store::item(const std::string &zone, const std::string &item)
{
    Stmt &s = cached(item_stmt_, "SELECT zone, item, base_gen, base_blob, base_bad, cur_blob, last_blob, dirty FROM items "
                                 "WHERE zone = ? AND item = ?");
    s.bind(1, zone).bind(2, item);
    std::optional<ItemRow> out;
    if (s.step()) out = read_item(s);
    s.reset();
    return out;
}

void Store::put(const ItemRow &r)
{
    Stmt &s = cached(put_stmt_, "INSERT INTO items (zone, item, base_gen, base_blob, base_bad, cur_blob, last_blob, dirty) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (zone, item) DO UPDATE SET "
                                "base_gen = excluded.base_gen, base_blob = excluded.base_blob, base_bad = excluded.base_bad, "
                                "cur_blob = excluded.cur_blob, last_blob = excluded.last_blob, dirty = excluded.dirty");
    s.bind(1, r.zone).bind(2, r.item).bind(3, r.base_gen).bind(4, r.base_blob).bind(5, int64_t(r.base_bad));
    s.bind(6, same_marker(r.cur_blob, r.base_blob)).bind(7, same_marker(r.last_blob, r.cur_blob));
    item_writes_++;
    s.bind(8, int64_t(r.dirty)).run();
    s.reset();
    if (observer_) observer_(r);
}

void Store::insert_new(const std::string &zone, const std::vector<NewItem> &items)
{
    static const std::string one = insert_new_sql(1), many = insert_new_sql(kInsertRows);
    size_t i = 0;
    while (i < items.size()) {
        const size_t n = items.size() - i >= kInsertRows ? kInsertRows : 1;
        Stmt &s = n == 1 ? cached(insert_one_, one.c_str()) : cached(insert_many_, many.c_str());
        s.bind_borrowed(1, zone);
        for (size_t j = 0; j < n; j++, i++) {
            const int p = static_cast<int>(2 + 3 * j);
            s.bind_borrowed(p, items[i].item).bind(p + 1, items[i].gencount).bind_borrowed(p + 2, *items[i].blob);
        }
        s.run();
        s.reset();
        item_writes_ += n;
    }
}

void Store::erase(const std::string &zone, const std::string &item)
{
    Stmt &s = cached(erase_stmt_, "DELETE FROM items WHERE zone = ? AND item = ?");
    s.bind(1, zone).bind(2, item).run();
    s.reset();
    item_writes_++;
}

void Store::for_each_item(const std::string &zone, const std::function<void(const ItemRow &)> &fn)
{
    std::string sql = std::string("SELECT ") + kItemCols + " FROM items";
    if (!zone.empty()) sql += " WHERE zone = ?";
    sql += " ORDER BY zone, item";
    Stmt s(db_.raw(), sql);
    if (!zone.empty()) s.bind(1, zone);
    while (s.step()) fn(read_item(s));
}

void Store::for_each_state(const std::string &zone, const std::function<void(const ItemState &)> &fn)
{
    Stmt &s = cached("SELECT item, base_gen, base_blob IS NOT NULL, base_bad, cur_blob IS NOT NULL, dirty FROM items "
                     "WHERE zone = ? ORDER BY item");
    s.bind(1, zone);
    ItemState st;
    while (s.step()) {
        st.item = s.text(0);
        st.base_gen = s.int64(1);
        st.has_base = s.int64(2) != 0;
        st.base_bad = s.int64(3) != 0;
        st.has_cur = s.int64(4) != 0;
        st.dirty = s.int64(5) != 0;
        fn(st);
    }
    s.reset();
}

int64_t Store::rejected(const std::string &zone)
{
    Stmt &s = cached("SELECT count(*) FROM items WHERE zone = ? AND base_bad = 1");
    s.bind(1, zone);
    s.step();
    int64_t n = s.int64(0);
    s.reset();
    return n;
}

std::vector<ItemRow> Store::dirty_items(const std::string &zone, int limit)
{
    Stmt s(db_.raw(), std::string("SELECT ") + kItemCols + " FROM items WHERE zone = ? AND dirty = 1 ORDER BY item LIMIT ?");
    s.bind(1, zone).bind(2, int64_t(limit));
    std::vector<ItemRow> out;
    while (s.step()) out.push_back(read_item(s));
    return out;
}

int64_t Store::pending(const std::string &zone)
{
    Stmt s(db_.raw(), "SELECT count(*) FROM items WHERE zone = ? AND dirty = 1");
    s.bind(1, zone);
    s.step();
    return s.int64(0);
}

std::optional<ZoneRow> Store::zone(const std::string &zone)
{
    Stmt s(db_.raw(), "SELECT zone, cursor, resync, server_gencount, outbox_op, outbox_body, verified FROM zones WHERE zone = ?");
    s.bind(1, zone);
    if (!s.step()) return std::nullopt;
    ZoneRow z;
    z.zone = s.text(0);
    z.cursor = s.int64(1);
    z.resync = s.text(2);
    if (!s.is_null(3)) z.server_gencount = s.int64(3);
    z.outbox_op = s.text(4);
    z.outbox_body = s.text(5);
    z.verified_cursor = s.int64(6);
    return z;
}

ZoneRow Store::zone_or_new(const std::string &name)
{
    auto z = zone(name);
    if (z) return *z;
    ZoneRow n;
    n.zone = name;
    return n;
}

void Store::put(const ZoneRow &z)
{
    Stmt s(db_.raw(),
           "INSERT INTO zones (zone, cursor, resync, server_gencount, outbox_op, outbox_body, verified) "
           "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (zone) DO UPDATE SET cursor = excluded.cursor, "
           "resync = excluded.resync, server_gencount = excluded.server_gencount, outbox_op = excluded.outbox_op, "
           "outbox_body = excluded.outbox_body, verified = excluded.verified");
    s.bind(1, z.zone).bind(2, z.cursor).bind(3, z.resync);
    if (z.server_gencount)
        s.bind(4, *z.server_gencount);
    else
        s.bind_null(4);
    s.bind(5, z.outbox_op).bind(6, z.outbox_body).bind(7, z.verified_cursor).run();
}

std::vector<std::string> Store::zone_names()
{
    Stmt s(db_.raw(), "SELECT zone FROM zones UNION SELECT DISTINCT zone FROM items ORDER BY 1");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
}

}  // namespace credsync
