// credsync-proxy: serves PROTOCOL.md's HTTP API on top of the credsync
// extension. Wiring only: flags, the pool, the long-poll listener, the HTTP
// server, metrics gauges, signals.
#include "auth.h"
#include "check.h"
#include "config.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "routes.h"

#include <atomic>
#include <malloc.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <unistd.h>
#include <pthread.h>
#include <thread>

using namespace credsync;


int main(int argc, char **argv)
{
    // Declared first, so destroyed last: every logged line is out before the
    // process ends, whichever return ends it.
    struct FlushLogsAtExit {
        ~FlushLogsAtExit() { log_flush(); }
    } flush_logs;
    Config cfg = parse_flags(argc, argv);
    if (cfg.check) return run_check(cfg);
    // Request bodies and pull pages are large, short-lived buffers. glibc
    // raises its mmap threshold each time such a buffer is freed, after which
    // they come from the per-thread heaps and stay there once freed: with many
    // threads the resident size then grows with every wave of large requests.
    // A fixed threshold keeps buffers of 1 MiB and more in mmap, returned to
    // the system when freed.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    // Writes to a closed socket must be errors, not a dead process.
    std::signal(SIGPIPE, SIG_IGN);
    // SIGTERM/SIGINT are taken by one thread with sigwait(); block them before
    // any other thread exists so that every thread inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    log_database_findings(cfg);
    Pool pool(cfg.db, cfg.pool_size, cfg.pool_timeout_ms, cfg.statement_timeout_ms);
    Listener listener(cfg.db, cfg.max_waiters);
    TokenAuth auth(pool, cfg.token_cache_ms, [&] { return listener.revocations_heard(); });
    listener.on_tokens_changed([&] { auth.forget_all(); });
    Api api(cfg, pool, listener, auth);
    HttpServer server(cfg, api, auth);
    if (!server.valid()) {
        log_line("error: cannot load --tls-cert/--tls-key");
        return 1;
    }

    Metrics &m = metrics();
    m.declare("longpoll_rejected_total");
    m.declare("token_lookups_total");
    m.add_gauge("pool_size", "Database connections the pool may open.", [&] { return pool.stats().size; });
    m.add_gauge("pool_open", "Database connections open.", [&] { return pool.stats().open; });
    m.add_gauge("pool_in_use", "Database connections leased by requests.", [&] { return pool.stats().in_use; });
    m.add_gauge("pool_waiting", "Requests waiting for a database connection.", [&] { return pool.stats().waiting; });
    m.add_gauge("pool_timeouts", "Requests that got no connection in time (503), since start.",
                [&] { return static_cast<double>(pool.stats().timeouts); });
    m.add_gauge("pool_connect_failures", "Failed attempts to connect to the database, since start.",
                [&] { return static_cast<double>(pool.stats().connect_failures); });
    m.add_gauge("database_up", "1 when the last attempt to reach the database worked.",
                [&] { return pool.database_up() ? 1 : 0; });
    m.add_gauge("longpoll_waiters", "Pulls waiting for a push.", [&] { return listener.waiters(); });
    m.add_gauge("longpoll_max_waiters", "Most pulls allowed to wait at once.", [&] { return listener.max_waiters(); });
    m.add_gauge("longpoll_listener_up", "1 when the LISTEN connection is up.",
                [&] { return listener.connected() ? 1 : 0; });

    if (!server.bind()) {
        int err = errno;
        log_line("error: cannot listen on " + cfg.listen_host + ":" + std::to_string(cfg.listen_port) + ": " +
                 std::strerror(err) + (err == EADDRINUSE ? " (is another credsync-proxy serving it?)" : ""));
        return 1;
    }
    listener.start();

    std::atomic<bool> stopping{false};
    std::thread signals([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        stopping = true;
        log_line(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                 ", finishing requests in flight");
        // Waiting long-polls answer at once, then the server stops accepting
        // and lets in-flight requests finish.
        listener.stop();
        server.stop();
    });

    log_line("credsync-proxy ready on " + std::string(cfg.tls_cert.empty() ? "http" : "https") + "://" +
             cfg.listen_host + ":" + std::to_string(cfg.listen_port) +
             (cfg.open_registration ? " (open registration)" : ""));
    server.serve();  // returns after stop(), once worker threads have finished
    // serve() can also return on its own (listen socket error): then wake the
    // signal thread with a SIGTERM to ourselves (blocked everywhere, so only
    // its sigwait() takes it) so that it can be joined.
    if (!stopping) kill(getpid(), SIGTERM);
    signals.join();
    listener.stop();
    log_line("credsync-proxy stopped");
    return 0;
}
