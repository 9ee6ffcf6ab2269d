// credsync consistency checker: many writers and incremental readers over
// many users and zones, against the SQL API (libpq) or the HTTP API
// (credsync-proxy), checking every guarantee of PROTOCOL.md against its own
// model of every acknowledged write. See test/stress/README.md.
//
//   checker --conninfo CONNINFO [--http URL] [--writers N] [--readers N]
//           [--users N] [--zones N] [--writes N] [--seconds S] [--seed N]
//           [--tolerate-faults] [--fault-deadline S] [--prefix P]
//           [--stop-file PATH] [--inject NAME[,NAME...]|all]
//
// Exit status 0 only when violations=0 (lost and duplicated included).
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>

#include "reader.h"
#include "verify.h"
#include "writer.h"

namespace ck {
extern std::vector<std::pair<std::string, std::string>> g_tokens;
}

using namespace ck;

namespace {

volatile std::sig_atomic_t g_usr1 = 0;
std::atomic<bool> g_monitor_stop{false};

void on_usr1(int) { g_usr1 = 1; }

void usage()
{
    std::fprintf(stderr,
                 "usage: checker --conninfo CONNINFO [--http URL] [--writers N] [--readers N] [--users N]\n"
                 "               [--zones N] [--writes N] [--seconds S] [--seed N] [--tolerate-faults]\n"
                 "               [--fault-deadline S] [--prefix P] [--stop-file PATH] [--inject NAME,...|all]\n");
    std::exit(2);
}

// Notices server restarts (pg_postmaster_start_time changes) and checks that
// nothing acknowledged was lost; SIGUSR1 asks for the same check (after a
// proxy restart).
void monitor()
{
    auto be = make_sql_backend();
    std::string err, last;
    if (auto v = pg_scalar(cfg.conninfo, "SELECT pg_postmaster_start_time()::text", {}, err)) last = *v;
    while (!g_monitor_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        if (g_usr1) {
            g_usr1 = 0;
            stats.signal_checks++;
            live_check(*be, "signal");
        }
        auto v = pg_scalar(cfg.conninfo, "SELECT pg_postmaster_start_time()::text", {}, err);
        if (!v || *v == last) continue;
        if (!last.empty()) {
            stats.restart_checks++;
            be->reconnect();
            live_check(*be, "restart " + std::to_string(stats.restart_checks.load()));
        }
        last = *v;
    }
}

}  // namespace

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--conninfo") cfg.conninfo = val();
        else if (a == "--http") cfg.http_url = val();
        else if (a == "--writers") cfg.writers = std::stoi(val());
        else if (a == "--readers") cfg.readers = std::stoi(val());
        else if (a == "--users") cfg.users = std::stoi(val());
        else if (a == "--zones") cfg.zones = std::stoi(val());
        else if (a == "--writes") cfg.writes = std::stol(val());
        else if (a == "--seconds") cfg.seconds = std::stod(val());
        else if (a == "--seed") cfg.seed = std::stoull(val());
        else if (a == "--tolerate-faults") cfg.tolerate = true;
        else if (a == "--fault-deadline") cfg.fault_deadline = std::stod(val());
        else if (a == "--prefix") cfg.prefix = val();
        else if (a == "--stop-file") cfg.stop_file = val();
        else if (a == "--max-pad") cfg.max_pad = std::stoul(val());
        else if (a == "--inject") {
            std::string list = val();
            size_t p = 0;
            while (p <= list.size()) {
                size_t q = list.find(',', p);
                if (q == std::string::npos) q = list.size();
                if (q > p) cfg.inject.insert(list.substr(p, q - p));
                p = q + 1;
            }
        } else usage();
    }
    if (cfg.conninfo.empty() || cfg.writers < 1 || cfg.readers < 0 || cfg.users < 1 || cfg.zones < 1) usage();
    if (cfg.prefix.empty()) cfg.prefix = "ck" + std::to_string(cfg.seed);
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGUSR1, on_usr1);

    // User ids with a space and non-ASCII letters; zone names with every allowed punctuation.
    for (int u = 0; u < cfg.users; u++) {
        const char *mid = u % 3 == 0 ? "-u" : u % 3 == 1 ? "-\xc3\xbc" : " user ";
        user_names.push_back(cfg.prefix + mid + std::to_string(u));
    }
    for (int z = 0; z < cfg.zones; z++) zone_names.push_back(z % 2 ? "Zone.-_" + std::to_string(z) : "z" + std::to_string(z));
    model = std::vector<ZoneModel>(static_cast<size_t>(nzones()));

    if (!cfg.http_url.empty()) {
        for (const auto &u : user_names) {
            std::string err;
            auto t = pg_scalar(cfg.conninfo, "SELECT credsync.issue_token($1, 'checker')", {u}, err);
            if (!t) {
                std::fprintf(stderr, "checker: issue_token: %s\n", err.c_str());
                return 2;
            }
            g_tokens.emplace_back(u, *t);
        }
    }
    {
        auto probe = make_backend();
        StateResult s = probe->state(user_names[0], zone_names[0]);
        if (s.outcome != Outcome::Ok) {
            std::fprintf(stderr, "checker: cannot reach credsync: %s %s\n", s.code.c_str(), s.message.c_str());
            return 2;
        }
        if (s.gencount != 0) {
            std::fprintf(stderr, "checker: zone %s already used: pick another --prefix or --seed\n", zlabel(0).c_str());
            return 2;
        }
    }

    auto t0 = std::chrono::steady_clock::now();
    std::thread mon;
    if (cfg.tolerate) mon = std::thread(monitor);
    std::vector<ReaderState> readers(static_cast<size_t>(cfg.readers));
    std::vector<std::thread> rthreads, wthreads;
    for (int i = 0; i < cfg.readers; i++) {
        readers[i].id = i;
        rthreads.emplace_back(run_reader, std::ref(readers[i]));
    }
    for (int i = 0; i < cfg.writers; i++) wthreads.emplace_back(run_writer, i);
    for (auto &t : wthreads) t.join();
    double write_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    stop_writers = true;
    writers_done = true;
    for (auto &t : rthreads) t.join();
    g_monitor_stop = true;
    if (mon.joinable()) mon.join();

    {
        auto be = make_backend();
        if (cfg.tolerate && !be->reconnect()) reconnect_with_backoff(*be, "final check");
        final_check(*be, readers);
    }
    int64_t total_g = 0;
    for (auto &z : model) total_g += static_cast<int64_t>(z.acks.size());
    uint64_t v = violation_count();
    std::printf("checker figures (%s, %d writers, %d readers, %d users x %d zones, seed %llu%s):\n",
                cfg.http_url.empty() ? "SQL via libpq" : "HTTP via credsync-proxy", cfg.writers, cfg.readers, cfg.users,
                cfg.zones, (unsigned long long)cfg.seed, cfg.tolerate ? ", tolerating connection loss" : "");
    std::printf("  writes acknowledged: %llu records in %llu pushes (%llu single, %llu batches, %llu deletes) in %.1f s, %.0f records/s\n",
                (unsigned long long)stats.records_acked, (unsigned long long)stats.pushes_acked,
                (unsigned long long)stats.singles, (unsigned long long)stats.batches, (unsigned long long)stats.deletes,
                write_secs, stats.records_acked / (write_secs > 0 ? write_secs : 1));
    std::printf("  if_match pushes applied: %llu; conflicts (expected CS409, detail checked): %llu; cross-user probes: %llu\n",
                (unsigned long long)stats.if_match_ok, (unsigned long long)stats.conflicts,
                (unsigned long long)stats.isolation_probes);
    std::printf("  op_id replays on purpose: %llu; op_id reuse probes: %llu; retries after a connection error: %llu; connection errors: %llu\n",
                (unsigned long long)stats.replays, (unsigned long long)stats.op_reuse, (unsigned long long)stats.retries,
                (unsigned long long)stats.conn_errors);
    std::printf("  reads: %llu pulls, %llu records; reader resets (full sync): %llu\n", (unsigned long long)stats.pulls,
                (unsigned long long)stats.records_read, (unsigned long long)stats.reader_resets);
    std::printf("  restart checks: %llu; signal checks: %llu; zones: %d; gencounts allocated: %lld\n",
                (unsigned long long)stats.restart_checks, (unsigned long long)stats.signal_checks, nzones(),
                (long long)total_g);
    std::printf("  lost=%llu duplicated=%llu violations=%llu\n", (unsigned long long)stats.lost,
                (unsigned long long)stats.duplicated, (unsigned long long)v);
    print_violation_kinds();
    std::printf("figures: writes=%llu pushes=%llu reads=%llu records_read=%llu conflicts=%llu replays=%llu retries=%llu "
                "restart_checks=%llu signal_checks=%llu lost=%llu duplicated=%llu violations=%llu\n",
                (unsigned long long)stats.records_acked, (unsigned long long)stats.pushes_acked,
                (unsigned long long)stats.pulls, (unsigned long long)stats.records_read,
                (unsigned long long)stats.conflicts, (unsigned long long)stats.replays,
                (unsigned long long)stats.retries, (unsigned long long)stats.restart_checks,
                (unsigned long long)stats.signal_checks, (unsigned long long)stats.lost,
                (unsigned long long)stats.duplicated, (unsigned long long)v);
    std::fflush(stdout);
    return v == 0 ? 0 : 1;
}
