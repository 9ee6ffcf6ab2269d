// A counting semaphore with a timeout: at most N holders at once (C++17 has
// no std::counting_semaphore). The push route uses it to bound how many large
// bodies are parsed and sent to the database at once (routes.cpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace credsync {

class Slots {
public:
    explicit Slots(int n) : free_(n) {}

    // Holds one slot for its lifetime, if it got one (ok()).
    class Hold {
    public:
        Hold(Slots &s, std::chrono::milliseconds timeout) : s_(s)
        {
            std::unique_lock<std::mutex> lock(s_.mu_);
            held_ = s_.cv_.wait_for(lock, timeout, [&] { return s_.free_ > 0; });
            if (held_) s_.free_--;
        }
        ~Hold()
        {
            if (!held_) return;
            {
                std::lock_guard<std::mutex> lock(s_.mu_);
                s_.free_++;
            }
            s_.cv_.notify_one();
        }
        Hold(const Hold &) = delete;
        Hold &operator=(const Hold &) = delete;
        bool ok() const { return held_; }

    private:
        Slots &s_;
        bool held_ = false;
    };

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int free_;
};

}  // namespace credsync
