// A zone's full listing (since=0, then full=true pages), fetched and opened
// by two threads of their own while the caller applies what came before.
//
// A new device's first sync is the server producing pages, the client
// decrypting and checking every entry, and the client storing them. One
// after the other, these took several times the plain transfer; side by side
// (the server prepares page n+1 while page n is opened and page n-1 stored)
// the sync takes little more than the transfer (docs/client.md, "Speed").
//
//   fetcher: GET .../pull, parse_page(): pages in order
//   opener:  checks each item id, decrypts and reads the entries the caller
//            asked for (open_now): those the mirror lacks
//   caller:  next(), on its own thread, with the store
//
// The fetcher is the only user of the Api, and the opener of the Keyring,
// until the listing is destroyed (which stops and joins both).
#pragma once

#include "api.h"
#include "keyring.h"
#include "page.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace credsync {

// A record from the server; when opened already (opened true): authentic,
// whether its blob authenticated and holds an entry, and content, that entry
// (nullopt when not authentic, or when the listing was asked not to keep it).
struct OpenedRecord : PulledRecord {
    bool opened = false;
    bool authentic = false;
    std::optional<Content> content;
};

struct OpenedPage {
    std::vector<OpenedRecord> records;
    bool more = false;
    int64_t next_since = 0;
};

class Listing {
public:
    // open_now(item) is called on the opener thread; it must only read
    // what the caller does not change until the listing is destroyed.
    // keep_content false: the opener checks each entry (Keyring::check: it
    // authenticates and holds an entry) without building it, and content
    // stays nullopt (a mirror with nothing to merge stores the blob alone).
    Listing(Api &api, Keyring &keys, std::string zone, int limit,
            std::function<bool(const std::string &item)> open_now, bool keep_content = true,
            bool read_state = false);
    ~Listing();
    Listing(const Listing &) = delete;
    Listing &operator=(const Listing &) = delete;

    // The next page, in order; false after the last. Throws what a thread
    // met (an HttpError such as 410, a page that is not one, an item id
    // that is not a uuid).
    bool next(OpenedPage &page);

    // read_state: GET /v1/zones/{zone} as read by the fetcher right after the
    // last page, while the caller still stores the last pages (the digest
    // check's request, off the caller's path). nullopt if it was not asked
    // for or failed (the caller then reads it itself). Valid once next()
    // returned false.
    std::optional<nlohmann::json> state_after_last_page();

private:
    void fetch();
    void read_state();
    void open();
    void fail(std::exception_ptr e);

    Api &api_;
    Keyring &keys_;
    const std::string zone_;
    const int limit_;
    const std::function<bool(const std::string &)> open_now_;
    const bool keep_content_;
    const bool read_state_;
    std::optional<nlohmann::json> state_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<PulledPage> fetched_;
    std::deque<OpenedPage> opened_;
    bool fetch_done_ = false;
    bool open_done_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    std::thread fetcher_;
    std::thread opener_;
};

}  // namespace credsync
