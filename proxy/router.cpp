#include "router.h"

#include <vector>

namespace credsync {

namespace {

// The API, one row per path. A template's segments are literals, or {zone}
// and {item}, which match any one non-empty segment and are returned raw.
struct Route {
    const char *tmpl;   // also the only path that reaches logs and metrics
    const char *allow;  // the methods, ", "-separated (405's Allow header)
    RouteId id;
    bool needs_auth;
};

const Route kRoutes[] = {
    {"/healthz", "GET", RouteId::healthz, false},
    {"/metrics", "GET", RouteId::metrics, false},
    {"/v1/register", "POST", RouteId::register_user, false},  // only with --open-registration
    {"/v1/account", "GET", RouteId::account, true},
    {"/v1/zones", "GET", RouteId::zones, true},
    {"/v1/zones/{zone}", "GET", RouteId::zone, true},
    {"/v1/zones/{zone}/push", "POST", RouteId::push, true},
    {"/v1/zones/{zone}/pull", "GET", RouteId::pull, true},
    {"/v1/zones/{zone}/items/{item}", "DELETE", RouteId::delete_item, true},
};

// "/a/b" -> {"a", "b"}; "/" -> {""}; "//" and a trailing slash give an empty
// segment, which no route has.
std::vector<std::string> split_path(const std::string &path)
{
    std::vector<std::string> parts;
    size_t i = 1;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        parts.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

// Each row's template, split once.
const std::vector<std::vector<std::string>> &route_segments()
{
    static const std::vector<std::vector<std::string>> segments = [] {
        std::vector<std::vector<std::string>> s;
        for (const Route &r : kRoutes) s.push_back(split_path(r.tmpl));
        return s;
    }();
    return segments;
}

// Matches the path's segments against a template's; fills the parameters.
bool matches(const std::vector<std::string> &want, const std::vector<std::string> &parts, RouteMatch &m)
{
    if (want.size() != parts.size()) return false;
    std::string zone, item;
    for (size_t i = 0; i < want.size(); i++) {
        if (want[i] == "{zone}") zone = parts[i];
        else if (want[i] == "{item}") item = parts[i];
        else if (want[i] != parts[i]) return false;
    }
    m.zone = std::move(zone);
    m.item = std::move(item);
    return true;
}

bool allows(const char *allow, const std::string &method)
{
    // HEAD is served as GET without a body.
    const std::string effective = method == "HEAD" ? "GET" : method;
    const std::string a = allow;
    for (size_t pos = 0; pos <= a.size();) {
        size_t comma = a.find(", ", pos);
        if (comma == std::string::npos) comma = a.size();
        if (a.compare(pos, comma - pos, effective) == 0 && comma - pos == effective.size()) return true;
        pos = comma + 2;
    }
    return false;
}

}  // namespace

RouteMatch match_route(const std::string &method, const std::string &path, bool open_registration)
{
    RouteMatch m;
    if (path.empty() || path[0] != '/') return m;
    auto parts = split_path(path);
    for (auto &s : parts)
        if (s.empty()) return m;  // "//" or a trailing slash: no such route
    const auto &segments = route_segments();
    for (size_t i = 0; i < segments.size(); i++) {
        const Route &r = kRoutes[i];
        // Without --open-registration the route does not exist at all.
        if (r.id == RouteId::register_user && !open_registration) continue;
        if (!matches(segments[i], parts, m)) continue;
        m.id = r.id;
        m.tmpl = r.tmpl;
        m.allow = r.allow;
        m.method_ok = allows(r.allow, method);
        m.needs_auth = r.needs_auth;
        return m;
    }
    return m;
}

}  // namespace credsync
