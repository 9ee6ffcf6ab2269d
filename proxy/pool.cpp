#include "pool.h"

#include "log.h"

#include <poll.h>

namespace credsync {

PGconn *connect_db(const std::string &conninfo, const char *application_name)
{
    // Later keywords win, so the operator's conninfo (expanded from dbname)
    // overrides our defaults.
    // TCP keepalives and tcp_user_timeout: without them a connection across a
    // silent network partition (no RST, no FIN) hangs a request until the
    // kernel gives up retransmitting, about 15 minutes. With these a dead peer
    // is noticed within about 30 s whether the connection is idle (keepalive
    // probes) or has unacknowledged data in flight (tcp_user_timeout). Unix
    // sockets ignore them.
    const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "application_name", "dbname", nullptr};
    const char *vals[] = {"3", "1", "10", "5", "3", "30000", application_name, conninfo.c_str(), nullptr};
    return PQconnectdbParams(keys, vals, 1);
}

Pool::Pool(std::string conninfo, int size, int timeout_ms, int statement_timeout_ms)
    : conninfo_(std::move(conninfo)), timeout_ms_(timeout_ms),
      statement_timeout_ms_(statement_timeout_ms), slots_(static_cast<size_t>(size))
{
}

Pool::~Pool()
{
    for (auto &s : slots_) drop(s);
}

void Pool::drop(Slot &s)
{
    if (s.conn) {
        PQfinish(s.conn);
        open_--;
    }
    s.conn = nullptr;
    s.prepared.clear();
}

void Pool::note_db(bool up, const std::string &why)
{
    bool was = db_up_.exchange(up);
    if (was != up) log_line(up ? "database reachable again" : "database unreachable: " + why);
}

namespace {
constexpr std::chrono::milliseconds kRecentUse(250);
}

// A pooled connection may have died while idle (the server restarted or shut
// down): the server's goodbye makes the socket readable. Check before use, so
// that a request is never sent down a dead connection, and reconnect if needed.
//
// A connection that answered moments ago is used without that check (a poll
// per request, most of them on connections used a few hundred microseconds
// before): if the server went away in between, the request fails with 503
// "retry shortly", and the next one reconnects.
bool Pool::ensure_connected(Slot &s)
{
    if (s.conn && PQstatus(s.conn) == CONNECTION_OK &&
        std::chrono::steady_clock::now() - s.last_ok < kRecentUse)
        return true;
    if (s.conn && PQstatus(s.conn) == CONNECTION_OK) {
        pollfd p{PQsocket(s.conn), POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) {
            if (!PQconsumeInput(s.conn) || PQstatus(s.conn) != CONNECTION_OK) drop(s);
            while (PGnotify *n = PQnotifies(s.conn ? s.conn : nullptr)) PQfreemem(n);
        }
    }
    if (s.conn && PQstatus(s.conn) == CONNECTION_OK) return true;
    drop(s);
    PGconn *c = connect_db(conninfo_, "credsync-proxy");
    if (PQstatus(c) != CONNECTION_OK) {
        std::string why = PQerrorMessage(c);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        PQfinish(c);
        connect_failures_++;
        note_db(false, why);
        return false;
    }
    std::string set = "SET statement_timeout = " + std::to_string(statement_timeout_ms_);
    Result r(PQexec(c, set.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        PQfinish(c);
        connect_failures_++;
        note_db(false, "could not set statement_timeout");
        return false;
    }
    s.conn = c;
    open_++;
    note_db(true, "");
    return true;
}

std::unique_ptr<Lease> Pool::acquire()
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    size_t chosen = slots_.size();
    {
        std::unique_lock<std::mutex> lock(mu_);
        waiting_++;
        auto pick = [&] {
            // Prefer a free slot with an open connection.
            size_t empty = slots_.size();
            for (size_t i = 0; i < slots_.size(); i++) {
                if (slots_[i].busy) continue;
                if (slots_[i].conn) { chosen = i; return true; }
                if (empty == slots_.size()) empty = i;
            }
            chosen = empty;
            return chosen != slots_.size();
        };
        bool got = cv_.wait_until(lock, deadline, pick);
        waiting_--;
        if (!got) {
            timeouts_++;
            throw unavailable("all database connections are busy, retry shortly");
        }
        slots_[chosen].busy = true;
    }
    auto lease = std::make_unique<Lease>(this, chosen);
    if (!ensure_connected(slots_[chosen]))
        throw unavailable("the database is unavailable, retry shortly");  // ~Lease releases
    return lease;
}

void Pool::release(size_t slot)
{
    Slot &s = slots_[slot];
    if (s.conn) {
        PGTransactionStatusType ts = PQtransactionStatus(s.conn);
        if (PQstatus(s.conn) != CONNECTION_OK) {
            drop(s);
        } else if (ts != PQTRANS_IDLE) {
            // A request ended inside a transaction (an exception): roll back,
            // or give up the connection if even that fails.
            Result r(PQexec(s.conn, "ROLLBACK"));
            if (PQresultStatus(r.get()) != PGRES_COMMAND_OK || PQtransactionStatus(s.conn) != PQTRANS_IDLE)
                drop(s);
        } else {
            s.last_ok = std::chrono::steady_clock::now();
        }
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        s.busy = false;
    }
    cv_.notify_one();
}

PoolStats Pool::stats()
{
    std::lock_guard<std::mutex> lock(mu_);
    PoolStats st{static_cast<int>(slots_.size()), open_.load(), 0, waiting_, timeouts_, connect_failures_.load()};
    for (auto &s : slots_)
        if (s.busy) st.in_use++;
    return st;
}

Lease::~Lease() { pool_->release(slot_); }

// The connection, with st prepared on it (statements are prepared lazily, once
// per connection, so a new connection after a reconnect gets them again).
PGconn *Lease::prepared_conn(const Statement &st)
{
    Pool::Slot &s = pool_->slots_[slot_];
    if (!s.conn) throw unavailable("the database is unavailable, retry shortly");
    if (!s.prepared.count(st.name)) {
        Result p(PQprepare(s.conn, st.name, st.sql, static_cast<int>(st.types.size()), st.types.data()));
        if (PQresultStatus(p.get()) != PGRES_COMMAND_OK) throw error_from_result(s.conn, p.get());
        s.prepared.insert(st.name);
    }
    return s.conn;
}

namespace {
struct ParamArrays {
    std::vector<const char *> values;
    std::vector<int> lengths, formats;
    explicit ParamArrays(const std::vector<Param> &params)
        : values(params.size()), lengths(params.size()), formats(params.size())
    {
        for (size_t i = 0; i < params.size(); i++) {
            values[i] = params[i].value ? params[i].value->data() : nullptr;
            lengths[i] = params[i].value ? static_cast<int>(params[i].value->size()) : 0;
            formats[i] = params[i].binary ? 1 : 0;
        }
    }
};
}  // namespace

Result Lease::run(const Statement &st, const std::vector<Param> &params, bool binary_result)
{
    Pool::Slot &s = pool_->slots_[slot_];
    PGconn *conn = prepared_conn(st);
    ParamArrays a(params);
    Result r(PQexecPrepared(conn, st.name, static_cast<int>(params.size()), a.values.data(),
                            a.lengths.data(), a.formats.data(), binary_result ? 1 : 0));
    ExecStatusType status = PQresultStatus(r.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        ApiError e = error_from_result(s.conn, r.get());
        if (PQstatus(s.conn) != CONNECTION_OK) pool_->note_db(false, "connection lost");
        throw e;
    }
    return r;
}

}  // namespace credsync
