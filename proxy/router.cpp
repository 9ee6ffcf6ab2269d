#include "router.h"

#include <vector>

namespace credsync {

namespace {

// The API, one row per (path, method). A template's segments are literals, or
// {zone}, {item} and {id}, which match any one non-empty segment and are
// returned raw. Rows of one template are adjacent; their methods, in table
// order, are the path's Allow header.
struct Route {
    const char *tmpl;    // also the only path that reaches logs and metrics
    const char *method;  // HEAD is served as GET
    RouteId id;
    bool needs_auth;
    Body body;
    bool open_registration_only;  // without --open-registration the row does not exist
};

const Route kRoutes[] = {
    {"/healthz", "GET", RouteId::healthz, false, Body::none, false},
    {"/metrics", "GET", RouteId::metrics, false, Body::none, false},
    {"/v1/register", "POST", RouteId::register_user, false, Body::none, true},
    {"/v1/accounts", "POST", RouteId::create_account, false, Body::small, true},
    {"/v1/login/challenge", "POST", RouteId::login_challenge, false, Body::small, false},
    {"/v1/login", "POST", RouteId::login, false, Body::small, false},
    {"/v1/account", "GET", RouteId::account, true, Body::none, false},
    {"/v1/account", "DELETE", RouteId::delete_account, true, Body::small, false},
    {"/v1/account/login", "PUT", RouteId::set_login, true, Body::small, false},
    {"/v1/devices", "GET", RouteId::devices, true, Body::none, false},
    {"/v1/devices/{id}", "DELETE", RouteId::revoke_device, true, Body::none, false},
    {"/v1/zones", "GET", RouteId::zones, true, Body::none, false},
    {"/v1/zones/{zone}", "GET", RouteId::zone, true, Body::none, false},
    {"/v1/zones/{zone}", "DELETE", RouteId::delete_zone, true, Body::none, false},
    {"/v1/zones/{zone}/push", "POST", RouteId::push, true, Body::push, false},
    {"/v1/zones/{zone}/pull", "GET", RouteId::pull, true, Body::none, false},
    {"/v1/zones/{zone}/items/{item}", "DELETE", RouteId::delete_item, true, Body::none, false},
};
constexpr size_t kRouteCount = sizeof kRoutes / sizeof kRoutes[0];

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

// Each row's template split once, and its path's Allow list (the methods of
// every row with that template, with or without --open-registration: a path
// that exists has them all).
struct Compiled {
    std::vector<std::vector<std::string>> segments;
    std::vector<std::string> allow;
};

const Compiled &compiled()
{
    static const Compiled c = [] {
        Compiled out;
        for (const Route &r : kRoutes) {
            out.segments.push_back(split_path(r.tmpl));
            std::string allow;
            for (const Route &o : kRoutes)
                if (std::string(o.tmpl) == r.tmpl) allow += (allow.empty() ? "" : ", ") + std::string(o.method);
            out.allow.push_back(allow);
        }
        return out;
    }();
    return c;
}

// Matches the path's segments against a template's; fills the parameters.
bool matches(const std::vector<std::string> &want, const std::vector<std::string> &parts, RouteMatch &m)
{
    if (want.size() != parts.size()) return false;
    std::string zone, item, device;
    for (size_t i = 0; i < want.size(); i++) {
        if (want[i] == "{zone}") zone = parts[i];
        else if (want[i] == "{item}") item = parts[i];
        else if (want[i] == "{id}") device = parts[i];
        else if (want[i] != parts[i]) return false;
    }
    m.zone = std::move(zone);
    m.item = std::move(item);
    m.device = std::move(device);
    return true;
}

}  // namespace

RouteMatch match_route(const std::string &method, const std::string &path, bool open_registration)
{
    RouteMatch m;
    if (path.empty() || path[0] != '/') return m;
    auto parts = split_path(path);
    for (auto &s : parts)
        if (s.empty()) return m;  // "//" or a trailing slash: no such route
    // HEAD is served as GET without a body.
    const std::string effective = method == "HEAD" ? "GET" : method;
    const Compiled &c = compiled();
    for (size_t i = 0; i < kRouteCount; i++) {
        if (kRoutes[i].open_registration_only && !open_registration) continue;
        if (!matches(c.segments[i], parts, m)) continue;
        // The path exists: its first row stands for it (405) unless one of
        // its rows has the request's method.
        size_t pick = i;
        for (size_t j = i; j < kRouteCount && std::string(kRoutes[j].tmpl) == kRoutes[i].tmpl; j++)
            if (effective == kRoutes[j].method && (open_registration || !kRoutes[j].open_registration_only)) {
                pick = j;
                m.method_ok = true;
                break;
            }
        const Route &r = kRoutes[pick];
        m.id = r.id;
        m.tmpl = r.tmpl;
        m.allow = c.allow[pick].c_str();
        m.needs_auth = r.needs_auth;
        m.body = r.body;
        return m;
    }
    return m;
}

}  // namespace credsync
