// Maps (method, path) to a route of the HTTP API (PROTOCOL.md's, and the
// accounts routes of issues 11 and 16). Paths are matched segment by segment
// (no regular expressions on client input); path parameters are returned raw
// and validated by the handlers.
#pragma once

#include <string>

namespace credsync {

enum class RouteId {
    none,
    healthz,
    metrics,
    register_user,
    account,
    zones,
    zone,
    push,
    pull,
    delete_item,
    // Accounts, login and devices (issue 11), deleting one's own data (issue 16).
    create_account,
    login_challenge,
    login,
    devices,
    revoke_device,
    set_login,
    delete_zone,
    delete_account,
};

// What a route reads of a request body. Other routes never read one: a
// request that sends one anyway has its connection closed after the answer.
enum class Body {
    none,
    push,   // a push: up to --max-body-bytes, parsed as it streams
    small,  // a small JSON object (login, signup, ...): at most kMaxSmallBody bytes
};

// The largest body of a Body::small route: a signup with the largest wrapped
// key (4096 bytes, 5464 in base64) and a 256-byte name is under 6 KiB.
constexpr long long kMaxSmallBody = 16384;

struct RouteMatch {
    RouteId id = RouteId::none;
    const char *tmpl = "unmatched";  // the route template: the only path that reaches logs and metrics
    const char *allow = "";          // methods the path accepts (for 405's Allow header)
    bool method_ok = false;
    bool needs_auth = false;
    Body body = Body::none;
    std::string zone, item, device;  // {zone}, {item}, {id} of the template
};

RouteMatch match_route(const std::string &method, const std::string &path, bool open_registration);

}  // namespace credsync
