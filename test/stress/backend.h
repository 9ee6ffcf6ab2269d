// How the checker talks to credsync: the SQL API over libpq, or the HTTP API
// through credsync-proxy. Both report results in the same shape so that one
// set of checks covers both.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util.h"

namespace ck {

enum class Kind { Single, Many, Delete };  // sync_push, sync_push_many, sync_delete

struct RecIn {
    std::optional<Uuid> item;         // none: a new, server-chosen item id
    std::optional<std::string> blob;  // none: a delete (tombstone)
    std::optional<int64_t> if_match;
};

struct Row {
    Uuid item{};
    int64_t gencount = 0;
};

struct Conflict {  // one element of the CS409 DETAIL / the 409 "conflicts"
    std::string item;
    int64_t gencount = 0;
    bool deleted = false;
};

enum class Outcome {
    Ok,
    Conflict,   // CS409 / HTTP 409
    ConnError,  // the server or proxy went away: the outcome of a write is unknown
    Error,      // any other error: code says which
};

struct WriteResult {
    Outcome outcome = Outcome::Error;
    std::vector<Row> rows;
    std::vector<Conflict> conflicts;
    bool conflicts_parsed = false;
    std::string code;  // SQLSTATE, or the HTTP status and error code
    std::string message;
};

struct PullRow {
    Uuid item{};
    int64_t gencount = 0;
    bool deleted = false;
    std::string blob;
};

struct PullResult {
    Outcome outcome = Outcome::Error;
    std::vector<PullRow> rows;
    std::string code, message;
    // The page's "more" and the zone's gencount read in its snapshot (SQL:
    // sync_pull_page's header row; HTTP: the answer's fields), and HTTP's
    // "next_since" (-1 when absent).
    int more = -1;
    int64_t next_since = -1, zone_gencount = -1;
};

struct StateResult {
    Outcome outcome = Outcome::Error;
    int64_t gencount = 0, items = 0, bytes = 0, horizon = 0;
    std::string digest;  // 32 raw bytes
    std::string code, message;
};

struct ZoneInfo {
    std::string zone;
    int64_t gencount = 0, items = 0, bytes = 0;
};

struct ZonesResult {
    Outcome outcome = Outcome::Error;
    std::vector<ZoneInfo> zones;
    std::string code, message;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual WriteResult write(Kind kind, const std::string &user, const std::string &zone,
                              const std::vector<RecIn> &recs, const std::optional<Uuid> &op_id) = 0;
    virtual PullResult pull(const std::string &user, const std::string &zone, int64_t since, int limit,
                            bool full) = 0;
    virtual StateResult state(const std::string &user, const std::string &zone) = 0;
    virtual ZonesResult zones(const std::string &user) = 0;
    // Drop the connection and open a new one; false while the server is unreachable.
    virtual bool reconnect() = 0;
    // The code an op_id reused for a different request must give.
    virtual const char *op_reused_code() const = 0;
};

// conninfo of the database (SQL mode, and token issue in HTTP mode)
std::unique_ptr<Backend> make_pg_backend(const std::string &conninfo);
// base_url like http://127.0.0.1:8080; tokens: user -> bearer token
std::unique_ptr<Backend> make_http_backend(const std::string &base_url,
                                           const std::vector<std::pair<std::string, std::string>> &tokens);

}  // namespace ck

namespace ck {
// One value from a fresh libpq connection (admin helpers: tokens, postmaster
// start time); nullopt with err set on any failure.
std::optional<std::string> pg_scalar(const std::string &conninfo, const std::string &sql,
                                     const std::vector<std::string> &params, std::string &err);
}  // namespace ck
