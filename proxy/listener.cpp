#include "listener.h"

#include "log.h"
#include "pool.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <libpq-fe.h>

namespace credsync {

Listener::Listener(std::string conninfo, int max_waiters)
    : conninfo_(std::move(conninfo)), max_waiters_(max_waiters)
{
    if (pipe2(wake_fd_, O_CLOEXEC | O_NONBLOCK) != 0) wake_fd_[0] = wake_fd_[1] = -1;
}

Listener::~Listener()
{
    stop();
    for (int fd : wake_fd_)
        if (fd >= 0) close(fd);
}

void Listener::start() { thread_ = std::thread([this] { run(); }); }

void Listener::stop()
{
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_all();
    if (wake_fd_[1] >= 0) {
        char c = 1;
        ssize_t ignored = write(wake_fd_[1], &c, 1);
        (void)ignored;
    }
    if (thread_.joinable()) thread_.join();
}

int Listener::waiters()
{
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(waiters_.size());
}

void Listener::wake(const std::string &key)
{
    std::lock_guard<std::mutex> lock(mu_);
    auto range = waiters_.equal_range(key);
    for (auto it = range.first; it != range.second; ++it) {
        it->second->woken_ = true;
        it->second->cv_.notify_one();
    }
}

void Listener::wake_all()
{
    std::lock_guard<std::mutex> lock(mu_);
    for (auto &kv : waiters_) {
        kv.second->woken_ = true;
        kv.second->cv_.notify_one();
    }
}

Listener::Waiter::Waiter(Listener &l, const std::string &key) : l_(l), key_(key)
{
    std::lock_guard<std::mutex> lock(l_.mu_);
    if (l_.stopping_ || static_cast<int>(l_.waiters_.size()) >= l_.max_waiters_) return;
    it_ = l_.waiters_.emplace(key_, this);
    registered_ = true;
}

Listener::Waiter::~Waiter()
{
    if (!registered_) return;
    std::lock_guard<std::mutex> lock(l_.mu_);
    l_.waiters_.erase(it_);
}

void Listener::Waiter::arm()
{
    std::lock_guard<std::mutex> lock(l_.mu_);
    woken_ = false;
}

bool Listener::Waiter::wait_until(std::chrono::steady_clock::time_point deadline)
{
    std::unique_lock<std::mutex> lock(l_.mu_);
    // While stopping, report "not woken" so the caller answers at once.
    bool woken = cv_.wait_until(lock, deadline, [&] { return woken_ || l_.stopping_; });
    return woken && !l_.stopping_;
}

namespace {

constexpr int kHeartbeatMs = 1000;
// Between attempts to get the connection back: quick after one loss, at most
// a second apart while the database stays away.
constexpr int kMinBackoffMs = 200, kMaxBackoffMs = 1000;
constexpr long long kHeardWithinMs = 2500;

long long steady_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// SELECT 1 on the listening connection, answered within kHeartbeatMs.
// Notifications that arrive meanwhile stay queued in libpq for PQnotifies.
bool heartbeat(PGconn *conn)
{
    if (!PQsendQuery(conn, "SELECT 1")) return false;
    long long deadline = steady_ms() + kHeartbeatMs;
    for (;;) {
        if (!PQconsumeInput(conn)) return false;
        if (!PQisBusy(conn)) {
            bool ok = true;
            while (PGresult *r = PQgetResult(conn)) {
                ok = ok && PQresultStatus(r) == PGRES_TUPLES_OK;
                PQclear(r);
            }
            return ok;
        }
        long long left = deadline - steady_ms();
        if (left <= 0) return false;
        pollfd p{PQsocket(conn), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left));
    }
}

}  // namespace

bool Listener::revocations_heard() const
{
    return connected_ && steady_ms() - last_heartbeat_ms_ < kHeardWithinMs;
}

// Cached token answers are dropped first, then every waiter is woken: a
// long-poll re-checks its token before it pulls again, so one whose token was
// revoked answers 401 now, not when a push or its wait comes.
void Listener::tokens_changed()
{
    if (tokens_changed_) tokens_changed_();
    wake_all();
}

void Listener::lost()
{
    connected_ = false;
    tokens_changed();  // wakes everyone too: notifications may have been missed
}

void Listener::run()
{
    PGconn *conn = nullptr;
    bool logged_down = false;
    int backoff_ms = kMinBackoffMs;
    auto stopping = [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return stopping_;
    };
    // Sleeps up to ms, returning early when stop() is called.
    auto nap = [&](int ms) {
        pollfd p{wake_fd_[0], POLLIN, 0};
        ::poll(&p, 1, ms);
    };
    // The connection is gone or unusable: tell everyone who relies on it, then
    // wait a little longer each time before the next attempt.
    auto drop = [&](const std::string &why) {
        if (!logged_down) log_line("long-poll listener: " + why + "; reconnecting");
        logged_down = true;
        if (conn) PQfinish(conn);
        conn = nullptr;
        if (connected_) lost();  // once per loss, not on every failed attempt
        nap(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, kMaxBackoffMs);
    };
    // Nothing but stop() ends this loop: every failure, whatever its kind, is a
    // lost connection, and long-polls and revocations depend on the thread.
    while (!stopping()) {
        try {
            if (!conn) {
                conn = connect_db(conninfo_, "credsync-proxy-listener");
                PGresult *r = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, "LISTEN credsync; LISTEN credsync_tokens") : nullptr;
                bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
                if (r) PQclear(r);
                if (!ok) {
                    drop("cannot LISTEN");
                    continue;
                }
                connected_ = true;
                last_heartbeat_ms_ = steady_ms();
                logged_down = false;
                backoff_ms = kMinBackoffMs;
                log_line("long-poll listener: listening");
                // Pushes may have committed, and tokens been revoked, while we
                // were not listening.
                tokens_changed();
            }
            pollfd p[2] = {{PQsocket(conn), POLLIN, 0}, {wake_fd_[0], POLLIN, 0}};
            int n = ::poll(p, 2, kHeartbeatMs);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                // Whatever poll() could not do (ENOMEM, a socket gone bad), a
                // new connection is the way back.
                drop(std::string("poll failed (") + std::strerror(errno) + ")");
                continue;
            }
            bool alive = PQconsumeInput(conn) && PQstatus(conn) == CONNECTION_OK;
            if (alive && steady_ms() - last_heartbeat_ms_ >= kHeartbeatMs) {
                // PQconsumeInput notices a dead connection only if data or an
                // error arrives; a query that must be answered notices a silent one.
                alive = heartbeat(conn);
                if (alive) last_heartbeat_ms_ = steady_ms();
            }
            if (!alive) {
                drop("connection lost");
                continue;
            }
            while (PGnotify *note = PQnotifies(conn)) {
                bool tokens = note->relname && std::string(note->relname) == "credsync_tokens";
                std::string payload = note->extra ? note->extra : "";
                PQfreemem(note);
                if (tokens)
                    tokens_changed();
                else
                    wake(payload.substr(0, payload.find(' ')));
            }
        } catch (const std::exception &e) {
            drop(std::string("error: ") + e.what());
        }
    }
    connected_ = false;
    if (conn) PQfinish(conn);
}

}  // namespace credsync
