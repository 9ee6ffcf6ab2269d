// pusher: concurrent credsync writers for the crash test (test/suites/31-crash.sh).
//
//   pusher --db CONNINFO --log FILE [--threads N] [--users N] [--zones N]
//          [--prefix P] [--max-seconds S]
//     N threads, one connection each, push new records to random zones of
//     users P-u0..P-u(N-1), zones z0..z(N-1), every push with an op_id: one
//     record by sync_push (sometimes with a server-chosen item id) or 2-3 by
//     sync_push_many. Before sending, a line is appended to FILE:
//       SEND <op> <user> <zone> <k> <item|-> <blobhex> ...   (k pairs)
//     and once the server has answered (the push is acknowledged):
//       ACK <op> <item> <gencount> ...                        (k pairs)
//     A thread stops at its first failure (the server was killed); the
//     program exits when every thread has stopped, or after S seconds.
//
//   pusher --db CONNINFO --replay FILE < OPS
//     re-sends, exactly as first sent (same op_id), every SEND of FILE whose
//     op id is listed on stdin, and prints for each
//       REPLAY <op> <item> <gencount> ...    or    RERR <op> <sqlstate> <message>
//
// Every blob starts with its op id's 16 bytes and its index in the batch, so
// a record found in the database can be traced back to the push that wrote it.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Record {
    std::string item;  // "-" = let the server choose
    std::string blob;  // hex, without \x
};

struct Push {
    std::string op, user, zone;
    std::vector<Record> records;
};

std::string hex(const unsigned char *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::string uuid_text(const unsigned char b[16]) {
    std::string h = hex(b, 16);
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

void random_uuid(std::mt19937_64 &rng, unsigned char b[16]) {
    for (int i = 0; i < 16; i++) b[i] = static_cast<unsigned char>(rng());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
}

std::string format_send(const Push &p) {
    std::ostringstream o;
    o << "SEND " << p.op << ' ' << p.user << ' ' << p.zone << ' ' << p.records.size();
    for (const auto &r : p.records) o << ' ' << r.item << ' ' << r.blob;
    return o.str();
}

// Sends one push; on success fills `result` with "item gencount ..." pairs.
// Returns false and sets `err` on any failure.
bool send_push(PGconn *conn, const Push &p, std::string &result, std::string &err) {
    PGresult *res;
    if (p.records.size() == 1) {
        std::string blob = "\\x" + p.records[0].blob;
        const char *item = p.records[0].item == "-" ? nullptr : p.records[0].item.c_str();
        const char *params[5] = {p.user.c_str(), p.zone.c_str(), blob.c_str(), item, p.op.c_str()};
        res = PQexecParams(conn,
                           "SELECT item, gencount FROM credsync.sync_push($1, $2, $3::bytea, $4::uuid, NULL, $5::uuid)",
                           5, nullptr, params, nullptr, nullptr, 0);
    } else {
        std::string items = "{", blobs = "{";
        for (size_t i = 0; i < p.records.size(); i++) {
            if (i) { items += ','; blobs += ','; }
            items += p.records[i].item == "-" ? "NULL" : p.records[i].item;
            blobs += "\"\\\\x" + p.records[i].blob + "\"";
        }
        items += '}';
        blobs += '}';
        const char *params[5] = {p.user.c_str(), p.zone.c_str(), items.c_str(), blobs.c_str(), p.op.c_str()};
        res = PQexecParams(conn,
                           "SELECT item, gencount FROM credsync.sync_push_many($1, $2, $3::uuid[], $4::bytea[], NULL, $5::uuid)",
                           5, nullptr, params, nullptr, nullptr, 0);
    }
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
        err = std::string(state ? state : "-----") + " " + PQerrorMessage(conn);
        for (auto &c : err) if (c == '\n') c = ' ';
        if (res) PQclear(res);
        return false;
    }
    std::ostringstream o;
    for (int i = 0; i < PQntuples(res); i++) {
        if (i) o << ' ';
        o << PQgetvalue(res, i, 0) << ' ' << PQgetvalue(res, i, 1);
    }
    result = o.str();
    bool complete = static_cast<size_t>(PQntuples(res)) == p.records.size();
    PQclear(res);
    if (!complete) {
        err = "XXXXX wrong number of rows: " + result;
        return false;
    }
    return true;
}

struct Log {
    std::mutex mu;
    FILE *f = nullptr;
    void line(const std::string &s) {
        std::lock_guard<std::mutex> g(mu);
        std::fputs(s.c_str(), f);
        std::fputc('\n', f);
        std::fflush(f);
    }
};

int run_pushers(const std::string &db, const std::string &logpath, int threads, int users, int zones,
                const std::string &prefix, int max_seconds) {
    Log log;
    log.f = std::fopen(logpath.c_str(), "a");
    if (!log.f) {
        std::perror(logpath.c_str());
        return 2;
    }
    std::atomic<long> acked{0};
    std::atomic<int> connected{0};
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; t++) {
        pool.emplace_back([&, t] {
            PGconn *conn = PQconnectdb(db.c_str());
            if (PQstatus(conn) != CONNECTION_OK) {
                std::fprintf(stderr, "pusher %d: %s", t, PQerrorMessage(conn));
                PQfinish(conn);
                return;
            }
            connected++;
            std::mt19937_64 rng(std::random_device{}() ^ (static_cast<unsigned long long>(t) << 40));
            while (std::chrono::steady_clock::now() < deadline) {
                Push p;
                unsigned char op[16];
                random_uuid(rng, op);
                p.op = uuid_text(op);
                p.user = prefix + "-u" + std::to_string(rng() % users);
                p.zone = "z" + std::to_string(rng() % zones);
                int kind = static_cast<int>(rng() % 8);
                size_t k = kind < 5 ? 1 : 2 + kind % 2;
                for (size_t i = 0; i < k; i++) {
                    Record r;
                    unsigned char item[16];
                    random_uuid(rng, item);
                    r.item = (k == 1 && kind == 0) ? "-" : uuid_text(item);
                    std::vector<unsigned char> blob(op, op + 16);
                    blob.push_back(static_cast<unsigned char>(i));
                    size_t pad = 8 + rng() % 32;
                    for (size_t j = 0; j < pad; j++) blob.push_back(static_cast<unsigned char>(rng()));
                    r.blob = hex(blob.data(), blob.size());
                    p.records.push_back(r);
                }
                log.line(format_send(p));
                std::string result, err;
                if (!send_push(conn, p, result, err)) {
                    log.line("FAIL " + p.op + " " + err);
                    break;
                }
                log.line("ACK " + p.op + " " + result);
                acked++;
            }
            PQfinish(conn);
        });
    }
    for (auto &th : pool) th.join();
    std::fclose(log.f);
    std::fprintf(stderr, "pusher: %d connections, %ld pushes acknowledged\n", connected.load(), acked.load());
    return connected.load() == threads ? 0 : 1;
}

int replay(const std::string &db, const std::string &logpath) {
    std::set<std::string> wanted;
    std::string line;
    while (std::getline(std::cin, line))
        if (!line.empty()) wanted.insert(line);
    std::ifstream in(logpath);
    if (!in) {
        std::perror(logpath.c_str());
        return 2;
    }
    std::vector<Push> todo;
    while (std::getline(in, line)) {
        std::istringstream s(line);
        std::string tag;
        s >> tag;
        if (tag != "SEND") continue;
        Push p;
        size_t k = 0;
        s >> p.op >> p.user >> p.zone >> k;
        if (!wanted.count(p.op)) continue;
        for (size_t i = 0; i < k; i++) {
            Record r;
            s >> r.item >> r.blob;
            p.records.push_back(r);
        }
        todo.push_back(p);
    }
    PGconn *conn = PQconnectdb(db.c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::fprintf(stderr, "pusher: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 2;
    }
    for (const auto &p : todo) {
        std::string result, err;
        if (send_push(conn, p, result, err))
            std::cout << "REPLAY " << p.op << ' ' << result << '\n';
        else
            std::cout << "RERR " << p.op << ' ' << err << '\n';
    }
    PQfinish(conn);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    std::string db, logpath, replay_path, prefix = "crash";
    bool have_db = false;  // an empty conninfo is fine: libpq then uses PGHOST etc.
    int threads = 4, users = 3, zones = 2, max_seconds = 30;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "pusher: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--db") { db = next(); have_db = true; }
        else if (a == "--log") logpath = next();
        else if (a == "--replay") replay_path = next();
        else if (a == "--threads") threads = std::atoi(next().c_str());
        else if (a == "--users") users = std::atoi(next().c_str());
        else if (a == "--zones") zones = std::atoi(next().c_str());
        else if (a == "--prefix") prefix = next();
        else if (a == "--max-seconds") max_seconds = std::atoi(next().c_str());
        else {
            std::fprintf(stderr, "pusher: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    if (!have_db || (logpath.empty() == replay_path.empty()) || threads < 1 || users < 1 || zones < 1) {
        std::fprintf(stderr, "usage: pusher --db CONNINFO (--log FILE [--threads N] [--users N] [--zones N] [--prefix P] [--max-seconds S] | --replay FILE < OPS)\n");
        return 2;
    }
    if (!replay_path.empty()) return replay(db, replay_path);
    return run_pushers(db, logpath, threads, users, zones, prefix, max_seconds);
}
