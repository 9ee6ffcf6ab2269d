// A counting semaphore with a deadline: how many large request bodies the
// proxy reads and handles at once (--max-large-bodies). A body is read whole
// into memory and parsed; without this bound, many clients sending bodies at
// the size limit at once would make the proxy's memory grow with their
// number.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace credsync {

class Admission {
public:
    explicit Admission(int slots) : free_(slots) {}

    // A held slot; given back when destroyed.
    class Permit {
    public:
        Permit() = default;
        Permit(const Permit &) = delete;
        Permit &operator=(const Permit &) = delete;
        ~Permit() { release(); }
        void release()
        {
            if (!owner_) return;
            {
                std::lock_guard<std::mutex> lock(owner_->mu_);
                owner_->free_++;
            }
            owner_->cv_.notify_one();
            owner_ = nullptr;
        }

    private:
        friend class Admission;
        Admission *owner_ = nullptr;
    };

    // Takes a slot into permit, waiting up to timeout; false if none came.
    bool acquire(Permit &permit, std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (!cv_.wait_for(lock, timeout, [this] { return free_ > 0; })) return false;
        free_--;
        permit.owner_ = this;
        return true;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int free_;
};

}  // namespace credsync
