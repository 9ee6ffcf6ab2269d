#include "router.h"

#include <vector>

namespace credsync {

namespace {

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

void set(RouteMatch &m, RouteId id, const char *tmpl, const char *allow, const std::string &method)
{
    m.id = id;
    m.tmpl = tmpl;
    m.allow = allow;
    std::string a = allow;
    // HEAD is served as GET without a body.
    std::string effective = method == "HEAD" ? "GET" : method;
    size_t pos = 0;
    while (pos <= a.size()) {
        size_t comma = a.find(", ", pos);
        if (comma == std::string::npos) comma = a.size();
        if (a.substr(pos, comma - pos) == effective) m.method_ok = true;
        pos = comma + 2;
    }
}

}  // namespace

RouteMatch match_route(const std::string &method, const std::string &path, bool open_registration)
{
    RouteMatch m;
    if (path.empty() || path[0] != '/') return m;
    auto p = split_path(path);
    for (auto &s : p)
        if (s.empty()) return m;  // "//" or a trailing slash: no such route
    if (p.size() == 1 && p[0] == "healthz") set(m, RouteId::healthz, "/healthz", "GET", method);
    else if (p.size() == 1 && p[0] == "metrics") set(m, RouteId::metrics, "/metrics", "GET", method);
    else if (p.size() < 2 || p[0] != "v1") return m;
    else if (p.size() == 2 && p[1] == "register") {
        // Without --open-registration the route does not exist at all.
        if (!open_registration) return m;
        set(m, RouteId::register_user, "/v1/register", "POST", method);
    } else if (p.size() == 2 && p[1] == "account") set(m, RouteId::account, "/v1/account", "GET", method);
    else if (p.size() == 2 && p[1] == "zones") set(m, RouteId::zones, "/v1/zones", "GET", method);
    else if (p[1] == "zones" && p.size() == 3) set(m, RouteId::zone, "/v1/zones/{zone}", "GET", method);
    else if (p[1] == "zones" && p.size() == 4 && p[3] == "push")
        set(m, RouteId::push, "/v1/zones/{zone}/push", "POST", method);
    else if (p[1] == "zones" && p.size() == 4 && p[3] == "pull")
        set(m, RouteId::pull, "/v1/zones/{zone}/pull", "GET", method);
    else if (p[1] == "zones" && p.size() == 5 && p[3] == "items")
        set(m, RouteId::delete_item, "/v1/zones/{zone}/items/{item}", "DELETE", method);
    else return m;
    if (p.size() >= 3) m.zone = p[2];
    if (p.size() == 5) m.item = p[4];
    m.needs_auth = m.id != RouteId::healthz && m.id != RouteId::metrics && m.id != RouteId::register_user;
    return m;
}

}  // namespace credsync
