#include "config.h"

#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

namespace credsync {

namespace {

[[noreturn]] void fail(const std::string &msg)
{
    std::fprintf(stderr, "credsync-proxy: %s (see --help)\n", msg.c_str());
    std::exit(2);
}

long long to_int(const std::string &flag, const std::string &v, long long lo, long long hi)
{
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        fail(flag + " wants an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
             ", got '" + v + "'");
    return n;
}

struct Flag {
    const char *name;
    const char *arg;  // nullptr: a switch without value
    const char *help;
    std::function<void(Config &, const std::string &)> set;
};

const std::vector<Flag> &flags()
{
    static const std::vector<Flag> all = {
        {"--db", "CONNINFO", "libpq connection string of the credsync database (required)",
         [](Config &c, const std::string &v) { c.db = v; }},
        {"--listen", "HOST:PORT", "address to serve on (default 127.0.0.1:8080)",
         [](Config &c, const std::string &v) {
             auto colon = v.rfind(':');
             if (colon == std::string::npos || colon == 0)
                 fail("--listen wants HOST:PORT, got '" + v + "'");
             std::string host = v.substr(0, colon);
             if (host.size() > 2 && host.front() == '[' && host.back() == ']')
                 host = host.substr(1, host.size() - 2);
             c.listen_host = host;
             c.listen_port = static_cast<int>(to_int("--listen port", v.substr(colon + 1), 1, 65535));
         }},
        {"--open-registration", nullptr, "enable POST /v1/register (anyone may create a user)",
         [](Config &c, const std::string &) { c.open_registration = true; }},
        {"--check", nullptr, "check the flags, the database, the extension's version and the role's grants; print what was found and exit 0 (all in order) or 1",
         [](Config &c, const std::string &) { c.check = true; }},
        {"--pool-size", "N", "database connections at most (default 8)",
         [](Config &c, const std::string &v) { c.pool_size = static_cast<int>(to_int("--pool-size", v, 1, 1000)); }},
        {"--pool-timeout-ms", "MS", "longest wait for a free connection before 503 (default 2000)",
         [](Config &c, const std::string &v) { c.pool_timeout_ms = static_cast<int>(to_int("--pool-timeout-ms", v, 1, 600000)); }},
        {"--max-body-bytes", "N", "largest request body; larger is 413 (default 8388608)",
         [](Config &c, const std::string &v) { c.max_body_bytes = static_cast<size_t>(to_int("--max-body-bytes", v, 1024, 1LL << 40)); }},
        {"--large-body-bytes", "N", "a request body of at least N bytes is large (default 262144)",
         [](Config &c, const std::string &v) { c.large_body_bytes = static_cast<size_t>(to_int("--large-body-bytes", v, 1, 1LL << 40)); }},
        {"--max-large-bodies", "N", "large bodies read and handled at once; more wait up to --pool-timeout-ms, then 503 (default 4)",
         [](Config &c, const std::string &v) { c.max_large_bodies = static_cast<int>(to_int("--max-large-bodies", v, 1, 100000)); }},
        {"--max-page-bytes", "N", "blob bytes one pull answer may carry; a page stops early (more: true) beyond it (default 16777216)",
         [](Config &c, const std::string &v) { c.max_page_bytes = static_cast<size_t>(to_int("--max-page-bytes", v, 1, 1LL << 40)); }},
        {"--max-waiters", "N", "long-polls held at once; above it a pull answers at once (default 32, at most half of --threads; 0 disables waiting)",
         [](Config &c, const std::string &v) { c.max_waiters = static_cast<int>(to_int("--max-waiters", v, 0, 100000)); }},
        {"--threads", "N", "HTTP worker threads; each serves one open connection (default 96)",
         [](Config &c, const std::string &v) { c.threads = static_cast<int>(to_int("--threads", v, 2, 100000)); }},
        {"--read-timeout", "SECONDS", "socket read timeout (default 10)",
         [](Config &c, const std::string &v) { c.read_timeout_s = static_cast<int>(to_int("--read-timeout", v, 1, 3600)); }},
        {"--write-timeout", "SECONDS", "socket write timeout (default 10)",
         [](Config &c, const std::string &v) { c.write_timeout_s = static_cast<int>(to_int("--write-timeout", v, 1, 3600)); }},
        {"--keepalive-timeout", "SECONDS", "idle time a kept-alive connection may wait for its next request (default 5)",
         [](Config &c, const std::string &v) { c.keepalive_timeout_s = static_cast<int>(to_int("--keepalive-timeout", v, 1, 3600)); }},
        {"--keepalive-max", "N", "requests served on one connection before it is closed (default 100)",
         [](Config &c, const std::string &v) { c.keepalive_max = static_cast<int>(to_int("--keepalive-max", v, 1, 1000000)); }},
        {"--statement-timeout-ms", "MS", "statement_timeout of the pooled sessions (default 30000)",
         [](Config &c, const std::string &v) { c.statement_timeout_ms = static_cast<int>(to_int("--statement-timeout-ms", v, 100, 3600000)); }},
        {"--token-cache-ms", "MS", "how long a token lookup is reused, 0..1000 (default 1000)",
         [](Config &c, const std::string &v) { c.token_cache_ms = static_cast<int>(to_int("--token-cache-ms", v, 0, 1000)); }},
        {"--tls-cert", "FILE", "serve HTTPS with this PEM certificate chain (needs --tls-key)",
         [](Config &c, const std::string &v) { c.tls_cert = v; }},
        {"--tls-key", "FILE", "PEM private key for --tls-cert",
         [](Config &c, const std::string &v) { c.tls_key = v; }},
    };
    return all;
}

void usage()
{
    std::printf("usage: credsync-proxy --db CONNINFO [--listen HOST:PORT] [flags]\n\n"
                "Serves the credsync HTTP API (docs/http.md) on top of the credsync extension.\n\n");
    for (const auto &f : flags()) {
        std::string left = std::string(f.name) + (f.arg ? std::string(" ") + f.arg : "");
        std::printf("  %-28s %s\n", left.c_str(), f.help);
    }
    std::printf("  %-28s %s\n", "--help", "show this help and exit");
}

}  // namespace

Config parse_flags(int argc, char **argv)
{
    Config c;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            usage();
            std::exit(0);
        }
        std::string value;
        bool has_inline = false;
        auto eq = a.find('=');
        if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_inline = true;
        }
        const Flag *match = nullptr;
        for (const auto &f : flags())
            if (a == f.name) match = &f;
        if (!match) fail("unknown flag '" + a + "'");
        if (match->arg) {
            if (!has_inline) {
                if (i + 1 >= argc) fail(a + " needs a value");
                value = argv[++i];
            }
        } else if (has_inline) {
            fail(a + " takes no value");
        }
        match->set(c, value);
    }
    if (c.db.empty()) fail("--db is required");
    if (c.tls_cert.empty() != c.tls_key.empty()) fail("--tls-cert and --tls-key go together");
    // Long-polls hold an HTTP thread each: leave threads for everything else.
    if (c.max_waiters > c.threads / 2)
        fail("--max-waiters must be at most half of --threads (" + std::to_string(c.threads / 2) + ")");
    return c;
}

}  // namespace credsync
