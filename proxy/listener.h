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
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

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
    // second: connected, and the last heartbeat was answered recently.
    bool revocations_heard() const;

private:
    void run();
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
    std::atomic<long long> last_heartbeat_ms_{0};  // steady clock
    std::function<void()> tokens_changed_;
    int wake_fd_[2] = {-1, -1};  // self-pipe: stop() interrupts poll()
    std::thread thread_;
};

}  // namespace credsync
