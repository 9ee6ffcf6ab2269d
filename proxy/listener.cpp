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

// Every statement on a listening connection is answered within kHeartbeatMs
// or the connection counts as lost. A plain PQexec waits for as long as the
// server keeps the connection open: a node that hangs without closing it
// (a stopped backend, a network that drops packets) stalled the listener
// until TCP gave up, about 30 s (tcp_user_timeout), and with it every
// wake-up, revocation and node-list read.
// The statement's result, or nullptr: not sent, failed or not answered in
// time (the connection is then busy and must be closed). Notifications that
// arrive meanwhile stay queued in libpq for PQnotifies.
PGresult *query_within(PGconn *conn, const char *sql, int timeout_ms)
{
    if (!PQsendQuery(conn, sql)) return nullptr;
    long long deadline = steady_ms() + timeout_ms;
    // The last result is the statement's (a multi-statement string gives one
    // per statement); any error makes the whole nullptr. PQgetResult is
    // called only when PQisBusy says it will not block: the results of one
    // string may arrive in separate packets, and a blocking PQgetResult would
    // wait for the rest without the deadline.
    PGresult *last = nullptr;
    bool ok = true;
    auto give_up = [&]() -> PGresult * {
        if (last) PQclear(last);
        return nullptr;
    };
    for (;;) {
        if (!PQconsumeInput(conn)) return give_up();
        while (!PQisBusy(conn)) {
            PGresult *r = PQgetResult(conn);
            if (!r) return ok ? last : give_up();
            ExecStatusType st = PQresultStatus(r);
            ok = ok && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK);
            if (last) PQclear(last);
            last = r;
        }
        long long left = deadline - steady_ms();
        if (left <= 0) return give_up();
        pollfd p{PQsocket(conn), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(left));
    }
}

// SELECT 1 on the listening connection, answered within kHeartbeatMs.
bool heartbeat(PGconn *conn)
{
    PGresult *r = query_within(conn, "SELECT 1", kHeartbeatMs);
    if (r) PQclear(r);
    return r != nullptr;
}

}  // namespace

bool Listener::revocations_heard() const
{
    return connected_ && all_connected_ && steady_ms() - last_heartbeat_ms_ < kHeardWithinMs;
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

namespace {

// Every few seconds the node list is read again (nodes are added).
constexpr int kNodeListMs = 5000;

// --db's options with another host and port, as a keyword string (--db may
// be a URI or keywords; connect_db expands either).
std::string with_host(const std::string &conninfo, const std::string &host, const std::string &port)
{
    auto quote = [](const std::string &v) {
        std::string q = "'";
        for (char c : v) {
            if (c == '\'' || c == '\\') q += '\\';
            q += c;
        }
        return q + "'";
    };
    std::string out;
    char *err = nullptr;
    PQconninfoOption *opts = PQconninfoParse(conninfo.c_str(), &err);
    if (err) PQfreemem(err);
    if (opts) {
        for (PQconninfoOption *o = opts; o->keyword; ++o) {
            std::string k = o->keyword;
            if (!o->val || k == "host" || k == "hostaddr" || k == "port") continue;
            out += k + "=" + quote(o->val) + " ";
        }
        PQconninfoFree(opts);
    }
    return out + "host=" + quote(host) + " port=" + quote(port);
}

}  // namespace

bool Listener::connect_node(Node &n)
{
    PGconn *conn = connect_db(n.conninfo, "credsync-proxy-listener");
    PGresult *r = PQstatus(conn) == CONNECTION_OK
                      ? query_within(conn, "LISTEN credsync; LISTEN credsync_tokens", kHeartbeatMs)
                      : nullptr;
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (r) PQclear(r);
    if (!ok) {
        PQfinish(conn);
        return false;
    }
    n.conn = conn;
    n.last_heartbeat_ms = steady_ms();
    n.logged_down = false;
    n.backoff_ms = kMinBackoffMs;
    log_line(n.name.empty() ? std::string("long-poll listener: listening")
                            : "long-poll listener: listening on node " + n.name);
    return true;
}

// The node's connection is gone or unusable (or could not be made): try again
// a little later each time. Whoever relies on it is told by the caller.
void Listener::drop_node(Node &n, const std::string &why)
{
    if (!n.logged_down)
        log_line("long-poll listener: " + (n.name.empty() ? std::string() : "node " + n.name + ": ") + why +
                 "; reconnecting");
    n.logged_down = true;
    if (n.conn) PQfinish(static_cast<PGconn *>(n.conn));
    n.conn = nullptr;
    if (n.backoff_ms == 0) n.backoff_ms = kMinBackoffMs;
    n.retry_at_ms = steady_ms() + n.backoff_ms;
    n.backoff_ms = std::min(n.backoff_ms * 2, kMaxBackoffMs);
}

// Reads the primary nodes of pg_dist_node through --db's connection (nodes[0])
// when Citus is installed there, and makes nodes[1..] that list (without the
// node --db names: group 0, the coordinator). Connections to nodes that left
// are closed; new nodes are connected by run().
bool Listener::read_nodes(std::vector<Node> &nodes)
{
    PGconn *db = static_cast<PGconn *>(nodes[0].conn);
    // pg_dist_node exists only with citus, and a failed query would count as
    // a lost connection: ask first.
    PGresult *r = query_within(db, "SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'citus'", kHeartbeatMs);
    bool ok = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    bool citus = ok && std::string(PQgetvalue(r, 0, 0)) != "0";
    if (r) PQclear(r);
    if (!ok) return false;
    for (size_t i = 1; i < nodes.size(); i++) nodes[i].seen = false;
    if (citus) {
        r = query_within(db,
                         "SELECT nodename, nodeport::pg_catalog.text FROM pg_catalog.pg_dist_node"
                         " WHERE noderole OPERATOR(pg_catalog.=) 'primary' AND groupid OPERATOR(pg_catalog.<>) 0"
                         " ORDER BY nodename, nodeport",
                         kHeartbeatMs);
        ok = r && PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok) {
            for (int row = 0; row < PQntuples(r); row++) {
                std::string host = PQgetvalue(r, row, 0), port = PQgetvalue(r, row, 1);
                std::string name = host + ":" + port;
                auto it = std::find_if(nodes.begin() + 1, nodes.end(), [&](const Node &n) { return n.name == name; });
                if (it != nodes.end()) {
                    it->seen = true;
                    continue;
                }
                Node n;
                n.name = name;
                n.conninfo = with_host(conninfo_, host, port);
                nodes.push_back(n);
            }
        }
        if (r) PQclear(r);
        if (!ok) return false;
    }
    for (size_t i = 1; i < nodes.size();) {
        if (nodes[i].seen) {
            i++;
            continue;
        }
        log_line("long-poll listener: node " + nodes[i].name + " left pg_dist_node");
        if (nodes[i].conn) PQfinish(static_cast<PGconn *>(nodes[i].conn));
        nodes.erase(nodes.begin() + static_cast<long>(i));
    }
    return true;
}

void Listener::run()
{
    std::vector<Node> nodes(1);
    nodes[0].conninfo = conninfo_;
    long long next_node_list_ms = 0;
    auto stopping = [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return stopping_;
    };
    // A node is lost: everyone who relies on the listener is told once per
    // loss (notifications and revocations may have been missed there).
    auto lose = [&](Node &n, const std::string &why) {
        bool was = n.conn != nullptr;
        drop_node(n, why);
        if (&n == &nodes[0]) {
            // Without --db's connection the node list cannot be read: the
            // workers' connections go too, and come back with it.
            for (size_t i = 1; i < nodes.size(); i++)
                if (nodes[i].conn) drop_node(nodes[i], "the node list's connection is lost");
            nodes.resize(1);
            if (connected_) {
                connected_ = false;
                lost();
            }
        } else {
            next_node_list_ms = 0;  // the node may have been removed or moved
            if (was) lost();
        }
    };
    auto update_state = [&] {
        int listening = 0;
        bool all = true;
        long long oldest = steady_ms();
        for (auto &n : nodes) {
            if (n.conn) {
                listening++;
                oldest = std::min(oldest, n.last_heartbeat_ms);
            } else {
                all = false;
            }
        }
        nodes_listening_ = listening;
        all_connected_ = all;
        last_heartbeat_ms_ = oldest;
    };
    // Nothing but stop() ends this loop: every failure, whatever its kind, is a
    // lost connection, and long-polls and revocations depend on the thread.
    while (!stopping()) {
        try {
            long long now = steady_ms();
            // (Re)connect what is due: --db's first; the others after the list.
            bool made = false;
            for (size_t i = 0; i < nodes.size(); i++) {
                Node &n = nodes[i];
                if (n.conn || n.retry_at_ms > now) continue;
                if (i > 0 && !nodes[0].conn) continue;
                if (!connect_node(n)) {
                    drop_node(n, "cannot LISTEN");
                    continue;
                }
                made = true;
                if (i == 0) {
                    connected_ = true;
                    next_node_list_ms = 0;
                }
            }
            if (nodes[0].conn && steady_ms() >= next_node_list_ms) {
                next_node_list_ms = steady_ms() + kNodeListMs;
                size_t before = nodes.size();
                if (!read_nodes(nodes)) {
                    lose(nodes[0], "cannot read the node list");
                    update_state();
                    continue;
                }
                if (nodes.size() > before) {
                    update_state();
                    continue;  // connect the new nodes at once
                }
            }
            update_state();
            // Pushes may have committed, and tokens been revoked, while we
            // were not listening there.
            if (made) tokens_changed();
            std::vector<pollfd> p;
            std::vector<size_t> which;
            long long wait_ms = kHeartbeatMs;
            for (size_t i = 0; i < nodes.size(); i++) {
                if (nodes[i].conn) {
                    p.push_back({PQsocket(static_cast<PGconn *>(nodes[i].conn)), POLLIN, 0});
                    which.push_back(i);
                } else if (i == 0 || nodes[0].conn) {
                    wait_ms = std::min(wait_ms, std::max(0LL, nodes[i].retry_at_ms - steady_ms()));
                }
            }
            p.push_back({wake_fd_[0], POLLIN, 0});
            int n = ::poll(p.data(), p.size(), static_cast<int>(wait_ms));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) {
                // Whatever poll() could not do (ENOMEM, a socket gone bad), new
                // connections are the way back.
                lose(nodes[0], std::string("poll failed (") + std::strerror(errno) + ")");
                continue;
            }
            for (size_t k = 0; k < which.size(); k++) {
                if (which[k] >= nodes.size()) break;  // nodes[0] lost: the others went with it
                Node &node = nodes[which[k]];
                PGconn *conn = static_cast<PGconn *>(node.conn);
                if (!conn) continue;
                bool alive = PQconsumeInput(conn) && PQstatus(conn) == CONNECTION_OK;
                if (alive && steady_ms() - node.last_heartbeat_ms >= kHeartbeatMs) {
                    // PQconsumeInput notices a dead connection only if data or an
                    // error arrives; a query that must be answered notices a silent one.
                    alive = heartbeat(conn);
                    if (alive) node.last_heartbeat_ms = steady_ms();
                }
                // Notifications read before a loss are still good hints.
                while (PGnotify *note = PQnotifies(conn)) {
                    bool tokens = note->relname && std::string(note->relname) == "credsync_tokens";
                    std::string payload = note->extra ? note->extra : "";
                    PQfreemem(note);
                    if (tokens)
                        tokens_changed();
                    else
                        wake(payload.substr(0, payload.find(' ')));
                }
                if (!alive) lose(node, "connection lost");
            }
            update_state();
        } catch (const std::exception &e) {
            lose(nodes[0], std::string("error: ") + e.what());
        }
    }
    connected_ = false;
    all_connected_ = false;
    for (auto &n : nodes)
        if (n.conn) PQfinish(static_cast<PGconn *>(n.conn));
}

}  // namespace credsync
