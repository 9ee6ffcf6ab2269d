#include "db.h"

#include "error.h"

namespace credsync {

namespace {

[[noreturn]] void fail(sqlite3 *db, const std::string &what)
{
    throw Error(Error::Kind::local, "local store: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

Stmt::Stmt(sqlite3 *db, const std::string &sql) : db_(db)
{
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &st_, nullptr) != SQLITE_OK)
        fail(db, "prepare");
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt &Stmt::bind(int i, const std::string &v)
{
    if (sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
        fail(db_, "bind");
    return *this;
}

Stmt &Stmt::bind(int i, int64_t v)
{
    if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Stmt &Stmt::bind(int i, const std::optional<Bytes> &v)
{
    int rc = !v           ? sqlite3_bind_null(st_, i)
             : v->empty() ? sqlite3_bind_zeroblob(st_, i, 0)  // an empty blob, not NULL
                          : sqlite3_bind_blob(st_, i, v->data(), static_cast<int>(v->size()), SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Stmt &Stmt::bind_borrowed(int i, std::string_view v)
{
    if (sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Stmt &Stmt::bind_borrowed(int i, const Bytes &v)
{
    int rc = v.empty() ? sqlite3_bind_zeroblob(st_, i, 0)
                       : sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    if (rc != SQLITE_OK) fail(db_, "bind");
    return *this;
}

Stmt &Stmt::bind_null(int i)
{
    if (sqlite3_bind_null(st_, i) != SQLITE_OK) fail(db_, "bind");
    return *this;
}

bool Stmt::step()
{
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "step");
}

void Stmt::run()
{
    while (step()) {
    }
}

void Stmt::reset()
{
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
int64_t Stmt::int64(int col) const { return sqlite3_column_int64(st_, col); }

std::string Stmt::text(int col) const
{
    auto p = reinterpret_cast<const char *>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
}

std::optional<Bytes> Stmt::blob(int col) const
{
    if (is_null(col)) return std::nullopt;
    auto p = static_cast<const uint8_t *>(sqlite3_column_blob(st_, col));
    int n = sqlite3_column_bytes(st_, col);
    return p ? Bytes(p, p + n) : Bytes();
}

Db::Db(const std::string &path)
{
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error(Error::Kind::local, "cannot open the local store " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 30000);
    // 16 KiB pages for a new store (an existing one keeps its own): a sealed
    // entry is about 600 bytes, and a first sync writes thousands of them;
    // four times fewer pages to write to the WAL and checkpoint than with
    // 4 KiB (docs/client.md, "Speed"). Only takes effect before the file has
    // any content, so before journal_mode.
    exec("PRAGMA page_size=16384");
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    // A first sync writes a whole vault in one transaction: with SQLite's
    // default 2 MB page cache its dirty pages spill into the WAL before the
    // commit and are read back (docs/client.md, "Speed"). Pages are only
    // allocated as used.
    exec("PRAGMA cache_size=-65536");
    exec("PRAGMA foreign_keys=ON");
    // No checkpoint when the store is closed (about 10 ms after a first
    // sync, docs/client.md, "Speed"). Nothing acknowledged depends on it: with
    // synchronous=FULL a commit is durable once its frames are synced in the
    // WAL, and the next open of the store reads the WAL back (the home is
    // one directory: the -wal file stays beside the store, logout removes
    // both). The WAL is still checkpointed as commits fill it (SQLite's
    // automatic checkpoint at 1000 pages).
    if (sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr) != SQLITE_OK)
        throw Error(Error::Kind::local, std::string("local store: ") + sqlite3_errmsg(db_));
}

Db::~Db() { sqlite3_close(db_); }

void Db::exec(const std::string &sql)
{
    char *err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        throw Error(Error::Kind::local, "local store: " + msg);
    }
}

// synchronous can only change outside a transaction: set before BEGIN,
// back to FULL (db.cpp's default) after COMMIT or ROLLBACK.
Txn::Txn(Db &db, Commit kind) : db_(db), kind_(kind)
{
    if (kind_ == Commit::replaceable) db_.exec("PRAGMA synchronous=NORMAL");
    try {
        db_.exec("BEGIN IMMEDIATE");
    } catch (...) {
        end(nullptr);
        throw;
    }
}

Txn::~Txn()
{
    if (!done_) end("ROLLBACK");
}

void Txn::commit()
{
    db_.exec("COMMIT");
    done_ = true;
    end(nullptr);
}

void Txn::end(const char *sql) noexcept
{
    if (sql) sqlite3_exec(db_.raw(), sql, nullptr, nullptr, nullptr);
    if (kind_ == Commit::replaceable) sqlite3_exec(db_.raw(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
}

}  // namespace credsync
