#include "listing.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>

namespace credsync {

namespace {

// Test hook: CREDSYNC_TEST_LISTING_PAUSE=FILE makes the fetcher, after the
// first page, create FILE and wait (at most 60 s) until it is removed, so
// that a test can write to the zone while a device pages
// (test/client/sync_cases.py, "changed while paging"). Once per process: a
// listing started over (after a 410) does not wait again.
void test_pause()
{
    static std::atomic<bool> done{false};
    const char *path = std::getenv("CREDSYNC_TEST_LISTING_PAUSE");
    if (!path || !*path || done.exchange(true)) return;
    if (FILE *f = std::fopen(path, "w")) std::fclose(f);
    struct stat st;
    for (int i = 0; i < 6000 && ::stat(path, &st) == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

[[noreturn]] void bad_listing(const std::string &what)
{
    throw Error(Error::Kind::server, "the server sent an unexpected answer (" + what + ")");
}

}  // namespace

Listing::Listing(Api &api, Keyring &keys, std::string zone, int limit,
                 std::function<bool(const std::string &item)> open_now, bool keep_content, bool read_state)
    : api_(api), keys_(keys), zone_(std::move(zone)), limit_(limit), open_now_(std::move(open_now)),
      keep_content_(keep_content), read_state_(read_state)
{
    fetcher_ = std::thread([this] { fetch(); });
    try {
        opener_ = std::thread([this] { open(); });
    } catch (...) {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        fetcher_.join();
        throw;
    }
}

// A thread in the middle of a request finishes it first (at most the read
// timeout); nothing it does after stop_ reaches the caller.
Listing::~Listing()
{
    {
        std::lock_guard<std::mutex> lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    fetcher_.join();
    opener_.join();
}

void Listing::fail(std::exception_ptr e)
{
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = e;
    }
    cv_.notify_all();
}

void Listing::fetch()
{
    try {
        int64_t since = 0;
        bool full = false;
        for (;;) {
            PulledPage page = parse_page(api_.pull_text(zone_, since, limit_, full));
            const bool more = page.more;
            const int64_t next = page.next_since;
            {
                std::lock_guard<std::mutex> lk(mu_);
                if (stop_ || error_) break;
                fetched_.push_back(std::move(page));
            }
            cv_.notify_all();
            if (since == 0) test_pause();
            if (!more) {
                if (read_state_) read_state();
                break;
            }
            if (next <= since) bad_listing("next_since did not advance");
            since = next;
            full = true;
        }
    } catch (...) {
        fail(std::current_exception());
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        fetch_done_ = true;
    }
    cv_.notify_all();
}

// After the last page, so that the digest it carries covers at least every
// record listed. A failure is not the listing's: the caller asks again.
void Listing::read_state()
{
    std::optional<nlohmann::json> st;
    try {
        st = api_.zone_state(zone_);
    } catch (...) {
        return;
    }
    std::lock_guard<std::mutex> lk(mu_);
    state_ = std::move(st);
}

std::optional<nlohmann::json> Listing::state_after_last_page()
{
    std::lock_guard<std::mutex> lk(mu_);
    std::optional<nlohmann::json> st = std::move(state_);
    state_.reset();
    return st;
}

void Listing::open()
{
    try {
        for (;;) {
            PulledPage in;
            {
                std::unique_lock<std::mutex> lk(mu_);
                cv_.wait(lk, [&] { return stop_ || error_ || !fetched_.empty() || fetch_done_; });
                if (stop_ || error_ || fetched_.empty()) break;
                in = std::move(fetched_.front());
                fetched_.pop_front();
            }
            OpenedPage out;
            out.more = in.more;
            out.next_since = in.next_since;
            out.records.reserve(in.records.size());
            for (auto &rec : in.records) {
                if (!uuid_parse(rec.item)) bad_listing("a record without a valid item id");
                OpenedRecord r;
                static_cast<PulledRecord &>(r) = std::move(rec);
                if (!r.deleted && open_now_(r.item)) {
                    if (keep_content_) {
                        r.content = keys_.open(zone_, r.item, *r.blob);
                        r.authentic = r.content.has_value();
                    } else {
                        r.authentic = keys_.check(zone_, r.item, *r.blob);
                    }
                    r.opened = true;
                }
                out.records.push_back(std::move(r));
            }
            {
                std::lock_guard<std::mutex> lk(mu_);
                opened_.push_back(std::move(out));
            }
            cv_.notify_all();
        }
    } catch (...) {
        fail(std::current_exception());
    }
    {
        std::lock_guard<std::mutex> lk(mu_);
        open_done_ = true;
    }
    cv_.notify_all();
}

bool Listing::next(OpenedPage &page)
{
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return error_ || !opened_.empty() || open_done_; });
    if (error_) std::rethrow_exception(error_);
    if (opened_.empty()) return false;  // the opener is done and everything was taken
    page = std::move(opened_.front());
    opened_.pop_front();
    return true;
}

}  // namespace credsync
