// Command-line flags of credsync-proxy.
#pragma once

#include <cstddef>
#include <string>

namespace credsync {

struct Config {
    std::string db;                       // libpq conninfo
    std::string listen_host = "127.0.0.1";
    int listen_port = 8080;
    bool open_registration = false;
    bool check = false;                   // --check: check the configuration, then exit
    int pool_size = 8;                    // most database connections at once
    int pool_timeout_ms = 2000;           // longest wait for a pool connection
    size_t max_body_bytes = 8 * 1024 * 1024;
    // Bodies of at least large_body_bytes are read and parsed by at most
    // max_large_bodies requests at once: memory stays bounded whatever many
    // clients send (the others wait, then get 503).
    size_t large_body_bytes = 256 * 1024;
    int max_large_bodies = 4;
    size_t max_page_bytes = 16 * 1024 * 1024;  // blob bytes in one pull answer
    int max_waiters = 32;                 // long-polls held at once
    int threads = 96;                     // HTTP worker threads (one per open connection)
    int read_timeout_s = 10;
    int write_timeout_s = 10;
    int keepalive_timeout_s = 5;
    int keepalive_max = 100;
    int statement_timeout_ms = 30000;
    int token_cache_ms = 1000;            // how long a token->user answer is reused
    std::string tls_cert;
    std::string tls_key;
};

// Parses argv. On --help prints usage and exits 0; on a bad flag prints the
// problem and exits 2.
Config parse_flags(int argc, char **argv);

}  // namespace credsync
