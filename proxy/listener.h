// Long-poll wake-ups: one dedicated connection that LISTENs on channel
// "credsync" and wakes the pulls waiting on the (user, zone) a NOTIFY names.
//
// The extension's payload is "<notify_key> <gencount>"; a waiter knows its key
// from credsync.notify_key(user, zone), so the proxy never needs the secret.
// A wake-up is only a hint: the woken request pulls again. When the listening
// connection is lost, every waiter is woken (notifications may have been
// missed) and the listener reconnects on its own, sooner after one loss and at
// most a second apart after that. Any failure of the connection or of poll()
// counts as a loss: the thread ends only with stop().
//
// The same connection LISTENs on "credsync_tokens", which the extension
// notifies when a token is revoked or a user dropped: the token cache
// (auth.h) forgets its answers then, and also whenever the connection is
// lost or made, since revocations may have gone unheard; each time, every
// waiter is woken too, so that a long-poll whose token was revoked notices at
// once (it re-checks its token before pulling again). A heartbeat each second
// notices a connection that died silently.
//
// On Citus (docs/scaling.md) a push NOTIFYs on the worker that ran it, not
// on the coordinator --db names. When the citus extension is installed
// there, the listener also LISTENs on every other primary node of
// pg_dist_node (read through the --db connection when it is made, when a
// node's connection is lost, and every few seconds, since nodes are added
// and removed), each with --db's options but the node's host and port.
// Keys and channels are the same on every node, so any connection wakes the
// waiters and empties the token cache (drop_user and the like run on a
// worker). Losing or making any of them counts as above. Without Citus there
// is the one connection, as before.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace credsync {

class Listener {
public:
    Listener(std::string conninfo, int max_waiters);
    ~Listener();
    void start();
    void stop();  // wakes every waiter, refuses new ones, joins the thread

    // A registration: construct, check ok(), wait(), destroy (unregisters).
    class Waiter {
    public:
        Waiter(Listener &l, const std::string &key);
        ~Waiter();
        Waiter(const Waiter &) = delete;
        Waiter &operator=(const Waiter &) = delete;
        bool ok() const { return registered_; }  // false: too many waiters, or stopping
        // Forget earlier wake-ups: call before each pull.
        void arm();
        // Blocks until woken or the deadline; true when woken.
        bool wait_until(std::chrono::steady_clock::time_point deadline);

    private:
        friend class Listener;
        Listener &l_;
        std::string key_;
        bool registered_ = false;
        bool woken_ = false;
        std::condition_variable cv_;
        std::multimap<std::string, Waiter *>::iterator it_;
    };

    int waiters();
    int max_waiters() const { return max_waiters_; }
    bool connected() const { return connected_; }
    // Called (on the listener's thread) when cached token answers may be
    // stale, before the waiters are woken. Set before start().
    void on_tokens_changed(std::function<void()> f) { tokens_changed_ = std::move(f); }
    // True while a revocation committed now would be heard within about a
    // second: connected to every node, and the last heartbeat of each was
    // answered recently.
    bool revocations_heard() const;
    // Nodes listened to now (1 without Citus); for tests and logs.
    int nodes_listening() const { return nodes_listening_; }

private:
    // One LISTEN connection: the --db node (first) or a Citus worker.
    struct Node {
        std::string name;      // "host:port" from pg_dist_node; empty for --db
        std::string conninfo;
        void *conn = nullptr;  // PGconn
        long long last_heartbeat_ms = 0;
        long long retry_at_ms = 0;  // next attempt while not connected
        int backoff_ms = 0;
        bool logged_down = false;
        bool seen = true;  // still in pg_dist_node at the last read
    };
    void run();
    bool connect_node(Node &n);
    void drop_node(Node &n, const std::string &why);
    bool read_nodes(std::vector<Node> &nodes);  // false: --db's connection failed
    void wake(const std::string &key);
    void wake_all();
    void tokens_changed();
    void lost();  // the connection is gone: everyone who relies on it is told

    std::string conninfo_;
    int max_waiters_;
    std::mutex mu_;
    std::multimap<std::string, Waiter *> waiters_;
    bool stopping_ = false;
    std::atomic<bool> connected_{false};
    std::atomic<long long> last_heartbeat_ms_{0};  // steady clock; the oldest of every node's
    std::atomic<bool> all_connected_{false};
    std::atomic<int> nodes_listening_{0};
    std::function<void()> tokens_changed_;
    int wake_fd_[2] = {-1, -1};  // self-pipe: stop() interrupts poll()
    std::thread thread_;
};

}  // namespace credsync
