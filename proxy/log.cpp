#include "log.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace credsync {

namespace {

constexpr size_t kMaxQueued = 10000;
// The writer is not woken for every line (a wake-up is a context switch per
// request): it wakes when this many lines wait, or every kWriteEveryMs, or
// for log_flush().
constexpr size_t kWakeAt = 256;
constexpr int kWriteEveryMs = 50;

struct LogQueue {
    std::mutex mu;
    std::condition_variable wake, idle;
    std::deque<std::string> lines;
    unsigned long long dropped = 0;
    bool writing = false;
    bool flush_asked = false;

    LogQueue()
    {
        std::thread([this] { run(); }).detach();
    }

    void run()
    {
        std::unique_lock<std::mutex> lock(mu);
        for (;;) {
            wake.wait_for(lock, std::chrono::milliseconds(kWriteEveryMs),
                          [this] { return lines.size() >= kWakeAt || flush_asked; });
            flush_asked = false;
            if (lines.empty() && dropped == 0) continue;
            std::deque<std::string> batch;
            batch.swap(lines);
            unsigned long long lost = dropped;
            dropped = 0;
            writing = true;
            lock.unlock();
            if (lost > 0) std::fprintf(stderr, "(%llu log lines dropped: stderr was not keeping up)\n", lost);
            // One write for the batch: stderr is unbuffered, so a fputs per
            // line was a write(2) per request.
            std::string text;
            size_t size = 0;
            for (auto &l : batch) size += l.size();
            text.reserve(size);
            for (auto &l : batch) text += l;
            size_t written = std::fwrite(text.data(), 1, text.size(), stderr);
            std::fflush(stderr);
            // A short write (a non-blocking or closed stderr) loses the rest
            // of the batch: counted, as lines the queue drops are.
            unsigned long long unwritten = 0;
            if (written < text.size()) {
                std::clearerr(stderr);
                size_t end = 0;
                for (auto &l : batch) {
                    end += l.size();
                    if (end > written) unwritten++;
                }
            }
            lock.lock();
            dropped += unwritten;
            writing = false;
            if (lines.empty()) idle.notify_all();
        }
    }
};

// Never destroyed: its thread may still be running while the process exits.
LogQueue &queue()
{
    static LogQueue *q = new LogQueue();
    return *q;
}

}  // namespace

void log_line(const std::string &line)
{
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[40];
    size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ ", static_cast<int>(ms));
    std::string text = stamp + line + "\n";
    LogQueue &q = queue();
    bool wake;
    {
        std::lock_guard<std::mutex> lock(q.mu);
        if (q.lines.size() >= kMaxQueued) {
            q.dropped++;
            return;
        }
        q.lines.push_back(std::move(text));
        wake = q.lines.size() == kWakeAt;
    }
    if (wake) q.wake.notify_one();
}

void log_flush(int timeout_ms)
{
    LogQueue &q = queue();
    std::unique_lock<std::mutex> lock(q.mu);
    q.flush_asked = true;
    q.wake.notify_one();
    q.idle.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                    [&] { return q.lines.empty() && q.dropped == 0 && !q.writing; });
}

}  // namespace credsync
