// Keeps a user's writes and the erasure of that user (DELETE /v1/account)
// apart, within this proxy.
//
// Why: account_delete (extension 1.4) waits for a push that holds one of the
// user's zones and removes what it wrote, but a push whose token was checked
// before the deletion and that reaches the database after it commits is not
// refused by the extension: it starts the zone again, under a user that no
// longer has an account or a token (docs/sql-api.md, "Deleting an account").
// So an erasure waits here until the user's writes in flight are done, holds
// new ones off while it runs, and each write checks its token again once it
// is let in (the erasure empties the token cache before it lets them in), so
// that a write that came too late is 401 instead of data left behind.
//
// Only this process's writes are held off: with several proxies in front of
// one database, a push that another proxy let in just before the deletion
// committed can still leave a zone behind (see docs/http.md).
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <unordered_map>

namespace credsync {

class UserGate {
public:
    // A write of one user (push, item delete, zone delete), held while an
    // erasure of that user runs.
    class Write {
    public:
        Write(UserGate &g, std::string user) : g_(g), user_(std::move(user))
        {
            std::unique_lock<std::mutex> lock(g_.mu_);
            g_.cv_.wait(lock, [&] { return !g_.users_[user_].erasing; });
            g_.users_[user_].writes++;
        }
        ~Write()
        {
            std::lock_guard<std::mutex> lock(g_.mu_);
            State &s = g_.users_[user_];
            if (--s.writes == 0) {
                if (!s.erasing) g_.users_.erase(user_);
                g_.cv_.notify_all();
            }
        }
        Write(const Write &) = delete;
        Write &operator=(const Write &) = delete;

    private:
        UserGate &g_;
        std::string user_;
    };

    // The erasure of a user: waits for another erasure of the user and for
    // the user's writes in flight; new writes wait until it is destroyed.
    class Erase {
    public:
        Erase(UserGate &g, std::string user) : g_(g), user_(std::move(user))
        {
            std::unique_lock<std::mutex> lock(g_.mu_);
            g_.cv_.wait(lock, [&] { return !g_.users_[user_].erasing; });
            g_.users_[user_].erasing = true;
            g_.cv_.wait(lock, [&] { return g_.users_[user_].writes == 0; });
        }
        ~Erase()
        {
            std::lock_guard<std::mutex> lock(g_.mu_);
            g_.users_.erase(user_);
            g_.cv_.notify_all();
        }
        Erase(const Erase &) = delete;
        Erase &operator=(const Erase &) = delete;

    private:
        UserGate &g_;
        std::string user_;
    };

private:
    struct State {
        int writes = 0;
        bool erasing = false;
    };
    std::mutex mu_;
    std::condition_variable cv_;
    std::unordered_map<std::string, State> users_;  // only users with a write or an erasure under way
};

}  // namespace credsync
