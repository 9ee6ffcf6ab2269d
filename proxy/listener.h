// Long-poll wake-ups: one dedicated connection that LISTENs on channel
// "credsync" and wakes the pulls waiting on the (user, zone) a NOTIFY names.
//
// The extension's payload is "<notify_key> <gencount>"; a waiter knows its key
// from credsync.notify_key(user, zone), so the proxy never needs the secret.
// A wake-up is only a hint: the woken request pulls again. When the listening
// connection is lost, every waiter is woken (notifications may have been
// missed) and the listener reconnects on its own.
#pragma once

#include <atomic>
#include <condition_variable>
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

private:
    void run();
    void wake(const std::string &key);
    void wake_all();

    std::string conninfo_;
    int max_waiters_;
    std::mutex mu_;
    std::multimap<std::string, Waiter *> waiters_;
    bool stopping_ = false;
    std::atomic<bool> connected_{false};
    int wake_fd_[2] = {-1, -1};  // self-pipe: stop() interrupts poll()
    std::thread thread_;
};

}  // namespace credsync
