// Maps (method, path) to a route of PROTOCOL.md's HTTP API. Paths are matched
// segment by segment (no regular expressions on client input); path parameters
// are returned raw and validated by the handlers.
#pragma once

#include <string>

namespace credsync {

enum class RouteId { none, healthz, metrics, register_user, account, zones, zone, push, pull, delete_item };

struct RouteMatch {
    RouteId id = RouteId::none;
    const char *tmpl = "unmatched";  // the route template: the only path that reaches logs and metrics
    const char *allow = "";          // methods the path accepts (for 405's Allow header)
    bool method_ok = false;
    bool needs_auth = false;
    std::string zone, item;
};

RouteMatch match_route(const std::string &method, const std::string &path, bool open_registration);

}  // namespace credsync
