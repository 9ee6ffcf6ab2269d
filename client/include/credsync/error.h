// The one exception type of the credsync client library.
#pragma once

#include <stdexcept>
#include <string>

namespace credsync {

class Error : public std::runtime_error {
public:
    enum class Kind {
        usage,         // the caller asked for something impossible (bad name, unknown option)
        not_found,     // no such entry, device or account
        ambiguous,     // a title that matches several entries
        login_failed,  // wrong name or password
        rate_limited,  // too many failed logins; retry later
        unauthorized,  // this device's token was revoked or the device logged out
        not_logged_in, // the home has no account yet
        network,       // the server could not be reached
        server,        // the server answered something it should not have
        tampered,      // data from the server failed authentication
        conflict,      // the server kept refusing a write (e.g. a name already taken)
        quota,         // the account is over its quota
        local,         // the local store (home directory) failed
        internal,
    };
    Error(Kind kind, const std::string &message) : std::runtime_error(message), kind_(kind) {}
    Kind kind() const { return kind_; }

private:
    Kind kind_;
};

}  // namespace credsync
