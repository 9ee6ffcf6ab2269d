// A small RAII layer over SQLite: a connection, prepared statements and
// transactions. Every failure becomes an Error of kind local.
#pragma once

#include "bytes.h"

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>

namespace credsync {

class Stmt {
public:
    Stmt(sqlite3 *db, const std::string &sql);
    ~Stmt();
    Stmt(const Stmt &) = delete;
    Stmt &operator=(const Stmt &) = delete;

    Stmt &bind(int i, const std::string &v);
    Stmt &bind(int i, int64_t v);
    Stmt &bind(int i, const std::optional<Bytes> &v);  // nullopt binds NULL
    Stmt &bind_null(int i);
    // Without a copy (SQLITE_STATIC): v must stay alive and unchanged until
    // the next reset(), which clears the bindings.
    Stmt &bind_borrowed(int i, std::string_view v);
    Stmt &bind_borrowed(int i, const Bytes &v);  // an empty v binds an empty blob, as bind() does
    // true while there is a row; false when done.
    bool step();
    void run();  // step to completion
    void reset();

    bool is_null(int col) const;
    int64_t int64(int col) const;
    std::string text(int col) const;
    std::optional<Bytes> blob(int col) const;  // NULL -> nullopt

private:
    sqlite3 *db_;
    sqlite3_stmt *st_ = nullptr;
};

class Db {
public:
    // Opens (creating) the database file with the durability the store needs:
    // WAL, synchronous=FULL (an acknowledged local change survives a crash or
    // power loss), a busy timeout for a second credsync process on the home.
    explicit Db(const std::string &path);
    ~Db();
    Db(const Db &) = delete;
    Db &operator=(const Db &) = delete;

    void exec(const std::string &sql);
    sqlite3 *raw() const { return db_; }
    // Writes the open transaction's changed pages to the WAL now, without
    // committing (a rollback still drops them), keeping them cached: a
    // transaction written to over a while then commits only its last
    // changes. Best effort: whatever is left is written by the commit, which
    // reports any failure.
    void write_dirty_pages() noexcept { sqlite3_db_cacheflush(db_); }

private:
    sqlite3 *db_ = nullptr;
};

// What a transaction's COMMIT waits for. durable: the disk (synchronous=FULL:
// once it returns, a power cut cannot take it back). replaceable: the OS only
// (synchronous=NORMAL, WAL mode): a crash of the process loses nothing, a
// power cut may take the whole transaction back (never part of it), and the
// next durable commit makes it durable too (it syncs the whole WAL). Only for
// transactions that hold nothing but what the server holds anyway (pulled
// records, cursors, a digest verified): taken back, it is pulled again. A
// first sync's 7 MB are then written back by the OS in its own time instead
// of making the sync wait (docs/client.md, "Speed").
enum class Commit { durable, replaceable };

// BEGIN IMMEDIATE (takes the write lock at once, so a read-modify-write cannot
// interleave with another process) ... COMMIT; rolled back if not committed.
class Txn {
public:
    explicit Txn(Db &db, Commit kind = Commit::durable);
    ~Txn();
    void commit();

private:
    void end(const char *sql) noexcept;
    Db &db_;
    const Commit kind_;
    bool done_ = false;
};

}  // namespace credsync
