// The SQL API over libpq: one connection, parameters as text (bytea as
// binary), results in binary format.
#include <libpq-fe.h>
#include <nlohmann/json.hpp>

#include <cstring>

#include "backend.h"

namespace ck {
namespace {

int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | static_cast<uint8_t>(p[i]);
    return static_cast<int64_t>(v);
}

Uuid uuid_at(PGresult *r, int row, int col)
{
    Uuid u{};
    if (PQgetlength(r, row, col) == 16) std::memcpy(u.data(), PQgetvalue(r, row, col), 16);
    return u;
}

int64_t int8_at(PGresult *r, int row, int col)
{
    return PQgetlength(r, row, col) == 8 ? be64(PQgetvalue(r, row, col)) : -1;
}

struct Param {
    std::optional<std::string> value;
    bool binary = false;
};

class PgBackend : public Backend {
public:
    explicit PgBackend(std::string conninfo) : conninfo_(std::move(conninfo)) { connect(); }
    ~PgBackend() override
    {
        if (conn_) PQfinish(conn_);
    }

    bool reconnect() override
    {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
        return connect();
    }

    const char *op_reused_code() const override { return "CS422"; }

    WriteResult write(Kind kind, const std::string &user, const std::string &zone, const std::vector<RecIn> &recs,
                      const std::optional<Uuid> &op_id) override
    {
        std::vector<Param> ps{{user}, {zone}};
        const char *sql;
        std::optional<std::string> op;
        if (op_id) op = uuid_str(*op_id);
        if (kind == Kind::Single || kind == Kind::Delete) {
            const RecIn &r = recs.at(0);
            std::optional<std::string> item, im;
            if (r.item) item = uuid_str(*r.item);
            if (r.if_match) im = std::to_string(*r.if_match);
            if (kind == Kind::Single) {
                sql = "SELECT item, gencount FROM credsync.sync_push($1, $2, $3::bytea, $4::uuid, $5::bigint, $6::uuid)";
                ps.push_back({r.blob, true});
                ps.push_back({item});
            } else {
                // The function in FROM: the form Citus delegates to the user's
                // worker (a function beside another select-list entry runs on
                // the coordinator, where a push is refused; docs/scaling.md).
                sql = "SELECT $3::uuid, g FROM credsync.sync_delete($1, $2, $3::uuid, $4::bigint, $5::uuid) AS g";
                ps.push_back({item});
            }
            ps.push_back({im});
            ps.push_back({op});
        } else {
            sql = "SELECT item, gencount FROM credsync.sync_push_many($1, $2, $3::uuid[], $4::bytea[], $5::bigint[], $6::uuid)";
            std::string items = "{", blobs = "{", ims = "{";
            bool any_im = false;
            for (size_t i = 0; i < recs.size(); i++) {
                const char *sep = i ? "," : "";
                items += sep + (recs[i].item ? uuid_str(*recs[i].item) : std::string("NULL"));
                blobs += sep + (recs[i].blob ? "\"\\\\x" + hex(*recs[i].blob) + "\"" : std::string("NULL"));
                ims += sep + (recs[i].if_match ? std::to_string(*recs[i].if_match) : std::string("NULL"));
                any_im |= recs[i].if_match.has_value();
            }
            ps.push_back({items + "}"});
            ps.push_back({blobs + "}"});
            ps.push_back({any_im ? std::optional<std::string>(ims + "}") : std::nullopt});
            ps.push_back({op});
        }
        WriteResult w;
        PGresult *r = exec(sql, ps, w.outcome, w.code, w.message);
        if (!r) return w;
        if (w.outcome == Outcome::Ok) {
            for (int i = 0; i < PQntuples(r); i++) w.rows.push_back({uuid_at(r, i, 0), int8_at(r, i, 1)});
        } else if (w.outcome == Outcome::Conflict) {
            const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
            parse_conflicts(detail ? detail : "", w);
        }
        PQclear(r);
        return w;
    }

    // sync_pull_page (1.2): a header row (item NULL, the zone's gencount and
    // "more", read in the page's snapshot), then the records as sync_pull
    // gives them. The reader's cursor after the last page is that gencount.
    PullResult pull(const std::string &user, const std::string &zone, int64_t since, int limit, bool full) override
    {
        PullResult p;
        PGresult *r = exec("SELECT item, gencount, deleted, blob, more FROM credsync.sync_pull_page($1, $2, $3, $4, $5)",
                           {{user}, {zone}, {std::to_string(since)}, {std::to_string(limit)},
                            {std::string(full ? "true" : "false")}},
                           p.outcome, p.code, p.message);
        if (!r) return p;
        if (p.outcome == Outcome::Ok) {
            if (PQntuples(r) < 1 || !PQgetisnull(r, 0, 0) || PQgetisnull(r, 0, 4)) {
                p.outcome = Outcome::Error;
                p.code = "bad-response";
                p.message = "sync_pull_page: no header row first";
                PQclear(r);
                return p;
            }
            p.zone_gencount = int8_at(r, 0, 1);
            p.more = PQgetlength(r, 0, 4) == 1 && PQgetvalue(r, 0, 4)[0] != 0 ? 1 : 0;
            for (int i = 1; i < PQntuples(r); i++) {
                PullRow row;
                row.item = uuid_at(r, i, 0);
                row.gencount = int8_at(r, i, 1);
                row.deleted = PQgetlength(r, i, 2) == 1 && PQgetvalue(r, i, 2)[0] != 0;
                if (!PQgetisnull(r, i, 3)) row.blob.assign(PQgetvalue(r, i, 3), PQgetlength(r, i, 3));
                p.rows.push_back(std::move(row));
            }
        }
        PQclear(r);
        return p;
    }

    StateResult state(const std::string &user, const std::string &zone) override
    {
        StateResult s;
        PGresult *r = exec("SELECT gencount, digest, items, bytes, horizon FROM credsync.sync_state($1, $2)",
                           {{user}, {zone}}, s.outcome, s.code, s.message);
        if (!r) return s;
        if (s.outcome == Outcome::Ok) {
            if (PQntuples(r) != 1) {
                s.outcome = Outcome::Error;
                s.code = "rows";
                s.message = "sync_state returned " + std::to_string(PQntuples(r)) + " rows";
            } else {
                s.gencount = int8_at(r, 0, 0);
                s.digest.assign(PQgetvalue(r, 0, 1), PQgetlength(r, 0, 1));
                s.items = int8_at(r, 0, 2);
                s.bytes = int8_at(r, 0, 3);
                s.horizon = int8_at(r, 0, 4);
            }
        }
        PQclear(r);
        return s;
    }

    ZonesResult zones(const std::string &user) override
    {
        ZonesResult z;
        PGresult *r = exec("SELECT zone, gencount, items, bytes FROM credsync.sync_zones($1)", {{user}}, z.outcome,
                           z.code, z.message);
        if (!r) return z;
        if (z.outcome == Outcome::Ok) {
            for (int i = 0; i < PQntuples(r); i++)
                z.zones.push_back({std::string(PQgetvalue(r, i, 0), PQgetlength(r, i, 0)), int8_at(r, i, 1),
                                   int8_at(r, i, 2), int8_at(r, i, 3)});
        }
        PQclear(r);
        return z;
    }

private:
    bool connect()
    {
        conn_ = PQconnectdb((conninfo_ + " connect_timeout=5 application_name=credsync-checker").c_str());
        if (PQstatus(conn_) != CONNECTION_OK) {
            last_error_ = PQerrorMessage(conn_);
            PQfinish(conn_);
            conn_ = nullptr;
            return false;
        }
        // Server notices (crash warnings) are expected in fault runs: not printed.
        PQsetNoticeProcessor(conn_, [](void *, const char *) {}, nullptr);
        return true;
    }

    // Runs one statement. Returns the result (caller clears it) with outcome
    // set, or nullptr on a connection failure.
    PGresult *exec(const char *sql, const std::vector<Param> &ps, Outcome &outcome, std::string &code,
                   std::string &message)
    {
        if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
            outcome = Outcome::ConnError;
            code = "conn";
            message = conn_ ? PQerrorMessage(conn_) : last_error_;
            return nullptr;
        }
        std::vector<const char *> values;
        std::vector<int> lengths, formats;
        for (const auto &p : ps) {
            values.push_back(p.value ? p.value->data() : nullptr);
            lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
            formats.push_back(p.binary ? 1 : 0);
        }
        PGresult *r = PQexecParams(conn_, sql, static_cast<int>(ps.size()), nullptr, values.data(), lengths.data(),
                                   formats.data(), 1);
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK) {
            outcome = Outcome::Ok;
            return r;
        }
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        code = state ? state : "";
        message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
        while (!message.empty() && message.back() == '\n') message.pop_back();
        // Lost connection, server shutting down or crashed, or in recovery;
        // or a serialization failure, which the proxy also answers as
        // "retry shortly" (on Citus: the user's shards moved while the call
        // was routed, docs/scaling.md). Each is retried with its op id.
        if (PQstatus(conn_) != CONNECTION_OK || code.empty() || code.compare(0, 2, "08") == 0 ||
            code.compare(0, 2, "57") == 0 || code == "40001") {
            outcome = Outcome::ConnError;
            if (r) PQclear(r);
            return nullptr;
        }
        outcome = code == "CS409" ? Outcome::Conflict : Outcome::Error;
        return r;
    }

    static void parse_conflicts(const std::string &detail, WriteResult &w)
    {
        try {
            auto j = nlohmann::json::parse(detail);
            for (const auto &e : j) w.conflicts.push_back({e.at("item").get<std::string>(),
                                                            e.at("gencount").get<int64_t>(),
                                                            e.at("deleted").get<bool>()});
            w.conflicts_parsed = true;
        } catch (const std::exception &e) {
            w.message += " (unparsable CS409 DETAIL: " + detail + ")";
        }
    }

    std::string conninfo_, last_error_;
    PGconn *conn_ = nullptr;
};

}  // namespace

std::unique_ptr<Backend> make_pg_backend(const std::string &conninfo)
{
    return std::make_unique<PgBackend>(conninfo);
}

}  // namespace ck

namespace ck {
std::optional<std::string> pg_scalar(const std::string &conninfo, const std::string &sql,
                                     const std::vector<std::string> &params, std::string &err)
{
    PGconn *c = PQconnectdb((conninfo + " connect_timeout=3").c_str());
    std::optional<std::string> out;
    if (PQstatus(c) != CONNECTION_OK) {
        err = PQerrorMessage(c);
    } else {
        std::vector<const char *> vals;
        for (const auto &p : params) vals.push_back(p.c_str());
        PGresult *r = PQexecParams(c, sql.c_str(), static_cast<int>(vals.size()), nullptr, vals.data(), nullptr,
                                   nullptr, 0);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            out = std::string(PQgetvalue(r, 0, 0));
        else
            err = PQresultErrorMessage(r);
        PQclear(r);
    }
    PQfinish(c);
    return out;
}
}  // namespace ck
