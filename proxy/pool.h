// A bounded pool of libpq connections: one connection per request in flight.
//
// A request leases a connection for as long as it talks to the database and
// gives it back at once (long-polls do not hold one while they wait). When all
// connections are leased, acquire() waits at most --pool-timeout-ms and then
// answers 503, so a slow database never turns into hung clients. Dead
// connections (database restart, network) are noticed before use and replaced;
// prepared statements are prepared again on the new connection, lazily.
#pragma once

#include "errors.h"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace credsync {

// A statement the pool prepares once per connection, under a fixed name.
struct Statement {
    const char *name;
    const char *sql;
    std::vector<Oid> types;
};

// One parameter: NULL, text (format 0) or binary (format 1).
struct Param {
    std::optional<std::string> value;
    bool binary = false;
    static Param null() { return Param{std::nullopt, false}; }
    static Param text(std::string v) { return Param{std::move(v), false}; }
    static Param bin(std::string v) { return Param{std::move(v), true}; }
};

struct ResultDeleter {
    void operator()(PGresult *r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class Pool;

// A leased connection. Returned to the pool when destroyed; a connection left
// inside a transaction is rolled back (or dropped) first.
class Lease {
public:
    Lease(Pool *pool, size_t slot) : pool_(pool), slot_(slot) {}
    Lease(const Lease &) = delete;
    Lease &operator=(const Lease &) = delete;
    ~Lease();

    // Runs a prepared statement; throws ApiError on any failure.
    // binary_result asks for all columns in binary format.
    Result run(const Statement &st, const std::vector<Param> &params, bool binary_result = false);

private:
    PGconn *prepared_conn(const Statement &st);
    Pool *pool_;
    size_t slot_;
};

struct PoolStats {
    int size, open, in_use, waiting;
    long long timeouts, connect_failures;
};

class Pool {
public:
    Pool(std::string conninfo, int size, int timeout_ms, int statement_timeout_ms);
    ~Pool();

    // Throws ApiError 503 when no connection is free within the timeout or the
    // database cannot be reached.
    std::unique_ptr<Lease> acquire();
    PoolStats stats();
    // Whether the last attempt to reach the database worked (for logging edges).
    bool database_up() const { return db_up_; }

private:
    friend class Lease;
    struct Slot {
        PGconn *conn = nullptr;
        std::set<std::string> prepared;
        bool busy = false;
        // When the connection last answered a request whole: within
        // kRecentUse of it the pre-use check is skipped (see ensure_connected).
        std::chrono::steady_clock::time_point last_ok{};
    };
    void release(size_t slot);
    bool ensure_connected(Slot &s);  // called with the slot leased, not the mutex
    void drop(Slot &s);
    void note_db(bool up, const std::string &why);

    std::string conninfo_;
    int timeout_ms_;
    int statement_timeout_ms_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Slot> slots_;
    int waiting_ = 0;
    long long timeouts_ = 0;
    std::atomic<long long> connect_failures_{0};
    std::atomic<int> open_{0};  // for stats(): slots' conn fields belong to their leaseholders
    std::atomic<bool> db_up_{true};
};

// Opens a connection with the proxy's defaults (connect_timeout,
// application_name) under whatever the operator's conninfo says.
PGconn *connect_db(const std::string &conninfo, const char *application_name);

}  // namespace credsync
