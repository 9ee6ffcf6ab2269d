#include "routes.h"

#include "codec.h"
#include "metrics.h"
#include "queries.h"
#include "validate.h"

#include <chrono>
#include <cstdlib>
#include <limits>

namespace credsync {

using nlohmann::json;

namespace {

constexpr long long kDefaultMaxBlobBytes = 1048576;

Reply json_reply(int status, const json &j)
{
    return Reply{status, j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
}

long long int_at(const PGresult *r, int row, int col)
{
    return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

// A zone digest as the API gives it: 64 lowercase hex, from bytea's text
// output (\x + hex).
std::string digest_at(const PGresult *r, int row, int col)
{
    std::string digest = PQgetvalue(r, row, col);
    if (digest.rfind("\\x", 0) == 0) digest.erase(0, 2);
    return digest;
}

void check_zone(const std::string &zone)
{
    if (!is_zone(zone)) throw bad_request("zone must be 1 to 64 characters of [A-Za-z0-9_.-]");
}

long long zone_gencount(Lease &lease, const std::string &user, const std::string &zone)
{
    Result r = lease.run(queries::zone_state, {Param::text(user), Param::text(zone)});
    return PQntuples(r.get()) == 1 ? int_at(r.get(), 0, 0) : 0;
}

}  // namespace

Reply Api::handle(const RouteMatch &m, const httplib::Request &req, const std::string &user)
{
    // From the raw target: cpp-httplib's req.params drops repeated identical
    // pairs and keeps names no route takes.
    const httplib::Params query = parse_query(m.id, req.target);
    switch (m.id) {
    case RouteId::healthz: return healthz();
    case RouteId::metrics: return Reply{200, metrics().render(), "text/plain; version=0.0.4"};
    case RouteId::register_user: return register_user();
    case RouteId::account: return account(user);
    case RouteId::zones: return zones(user);
    case RouteId::zone: return zone(user, m.zone);
    case RouteId::push: return push(user, m.zone, req);
    case RouteId::pull: return pull(user, m.zone, req, query);
    case RouteId::delete_item: return delete_item(user, m.zone, m.item, query);
    case RouteId::create_account: return create_account(req.body);
    case RouteId::login_challenge: return login_challenge(req.body);
    case RouteId::login: return login(req.body);
    case RouteId::devices: return devices(user, req);
    case RouteId::revoke_device: return revoke_device(user, m.device);
    case RouteId::set_login: return set_login(user, req);
    case RouteId::delete_zone: return delete_zone(user, m.zone);
    case RouteId::delete_account: return delete_account(user, req.body);
    case RouteId::none: break;
    }
    throw ApiError(404, "not_found", "no such route");
}

Reply Api::healthz()
{
    auto lease = pool_.acquire();
    lease->run(queries::ping, {});
    return json_reply(200, {{"status", "ok"}});
}

Reply Api::register_user()
{
    // The server picks the user id, so nobody can register as an existing user.
    std::string user = random_uuid();
    auto lease = pool_.acquire();
    Result r = lease->run(queries::issue_token, {Param::text(user), Param::text("open registration")});
    if (PQntuples(r.get()) != 1 || PQgetisnull(r.get(), 0, 0))
        throw ApiError(500, "internal", "internal error");
    return json_reply(201, {{"user", user}, {"token", PQgetvalue(r.get(), 0, 0)}});
}

Reply Api::account(const std::string &user)
{
    auto lease = pool_.acquire();
    Result a = lease->run(queries::account, {Param::text(user)});
    if (PQntuples(a.get()) != 1) throw ApiError(500, "internal", "internal error");
    // After sync_account the extension's library is loaded, so its settings
    // (with their units, e.g. "1MB") are visible to current_setting().
    Result l = lease->run(queries::limits, {});
    note_batch_limit(l.get());
    auto setting = [&](int col, long long dflt) {
        if (PQgetisnull(l.get(), 0, col)) return dflt;
        auto v = parse_setting_bytes(PQgetvalue(l.get(), 0, col));
        return v ? *v : dflt;
    };
    json body = {
        {"user", user},
        {"usage", {{"bytes", int_at(a.get(), 0, 0)}, {"items", int_at(a.get(), 0, 1)}}},
        {"quota", {{"max_bytes", int_at(a.get(), 0, 2)}, {"max_items", int_at(a.get(), 0, 3)}}},
        {"limits",
         {{"max_blob_bytes", setting(0, kDefaultMaxBlobBytes)},
          {"max_batch_records", setting(1, static_cast<long long>(kDefaultMaxBatchRecords))},
          {"max_body_bytes", static_cast<long long>(cfg_.max_body_bytes)},
          {"max_pull_records", kMaxPullRecords}}},
    };
    return json_reply(200, body);
}

Reply Api::zones(const std::string &user)
{
    auto lease = pool_.acquire();
    Result r = lease->run(queries::zones, {Param::text(user)});
    json list = json::array();
    for (int i = 0; i < PQntuples(r.get()); i++) {
        list.push_back({{"zone", PQgetvalue(r.get(), i, 0)},
                        {"gencount", int_at(r.get(), i, 1)},
                        {"digest", digest_at(r.get(), i, 2)},
                        {"items", int_at(r.get(), i, 3)},
                        {"bytes", int_at(r.get(), i, 4)},
                        {"horizon", int_at(r.get(), i, 5)}});
    }
    return json_reply(200, {{"zones", list}});
}

Reply Api::zone(const std::string &user, const std::string &zone)
{
    check_zone(zone);
    auto lease = pool_.acquire();
    Result r = lease->run(queries::zone_state, {Param::text(user), Param::text(zone)});
    if (PQntuples(r.get()) != 1) throw ApiError(500, "internal", "internal error");
    return json_reply(200, {{"zone", zone},
                            {"gencount", int_at(r.get(), 0, 0)},
                            {"digest", digest_at(r.get(), 0, 1)},
                            {"items", int_at(r.get(), 0, 2)},
                            {"bytes", int_at(r.get(), 0, 3)},
                            {"horizon", int_at(r.get(), 0, 4)}});
}

size_t Api::batch_limit() const
{
    long long v = batch_limit_;
    return v > 0 ? static_cast<size_t>(v) : kDefaultMaxBatchRecords;
}

void Api::note_batch_limit(const PGresult *limits)
{
    if (PQntuples(limits) != 1 || PQnfields(limits) < 2) return;
    if (PQgetisnull(limits, 0, 1)) {
        batch_limit_ = static_cast<long long>(kDefaultMaxBatchRecords);
        return;
    }
    auto v = parse_int(PQgetvalue(limits, 0, 1), 1, std::numeric_limits<int>::max());
    if (v) batch_limit_ = *v;
}

// True when the limit was read again and has changed.
bool Api::reread_batch_limit()
{
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
                   .count();
    long long last = batch_limit_read_ms_;
    // At most once a second, whatever the pushes over the limit: one read per
    // hostile body would turn them into database load.
    if (last != 0 && now - last < 1000) return false;
    if (!batch_limit_read_ms_.compare_exchange_strong(last, now)) return false;
    size_t before = batch_limit();
    try {
        // Before the extension's library is loaded in the session the
        // setting reads as configured, or NULL when it is not: the default.
        auto lease = pool_.acquire();
        Result l = lease->run(queries::limits, {});
        note_batch_limit(l.get());
    } catch (const ApiError &) {
        return false;  // the database is away: refuse with what we know
    }
    return batch_limit() != before;
}

Reply Api::push(const std::string &user, const std::string &zone, const httplib::Request &req)
{
    const std::string &body_text = req.body;
    check_zone(zone);
    PushRequest p;
    try {
        p = parse_push_body(body_text, batch_limit());
    } catch (const ApiError &e) {
        // Over the limit as we know it: the database's may have changed.
        if (e.status != 413 || !reread_batch_limit()) throw;
        p = parse_push_body(body_text, batch_limit());
    }
    Param op_id = p.op_id ? Param::text(*p.op_id) : Param::null();
    auto lease = pool_.acquire();
    if (p.items.empty()) {
        // Nothing to write: answer the zone's current gencount (no zone is created).
        return json_reply(200, {{"gencount", zone_gencount(*lease, user, zone)}, {"results", json::array()}});
    }
    // Built by moves: an initializer list would copy the blobs' parameter.
    std::vector<Param> params;
    params.reserve(6);
    params.push_back(Param::text(user));
    params.push_back(Param::text(zone));
    params.push_back(Param::text(uuid_array_text(p.items)));
    params.push_back(Param::bin(bytea_array_binary(p.blobs)));
    p.blobs = {};  // in the parameter now: one copy less while libpq makes its own
    params.push_back(p.any_if_match ? Param::text(int8_array_text(p.if_match)) : Param::null());
    params.push_back(std::move(op_id));
    Result r = lease->run(queries::push_many, params);
    auto answer = push_answer_json(r.get());
    if (!answer) throw ApiError(500, "internal", "internal error");
    return Reply{200, std::move(*answer), "application/json"};
}

namespace {

// One pull's answer as the database gave it: row 0 of rows is the header
// (queries::pull_page), rows 1..count the records.
struct Page {
    Result rows;
    int count = 0;
    long long last = -1;  // gencount of the last record, -1 when none
    bool more = false;
    long long gencount = 0;
    std::string notify_key;
};

// One page, its "more" and the zone's gencount from one statement, so from one
// snapshot: the three answers agree with each other. The page stops early
// once its blobs pass max_page_bytes (at least one record always goes out):
// then "more" is true, since the rows we stopped at exist beyond the page.
// The database applies that cap (the rows beyond it are never sent), so a
// pull's memory stays bounded by it.
Page read_page(Pool &pool, const std::string &user, const std::string &zone, long long since,
               long long limit, bool full, bool want_key, size_t max_page_bytes)
{
    Page page;
    {
        auto lease = pool.acquire();
        page.rows = lease->run(queries::pull_page,
                               {Param::text(user), Param::text(zone), Param::text(std::to_string(since)),
                                Param::text(std::to_string(limit)), Param::text(full ? "true" : "false"),
                                Param::text(std::to_string(max_page_bytes))},
                               true);
        if (want_key) {
            Result k = lease->run(queries::notify_key, {Param::text(user), Param::text(zone)});
            if (PQntuples(k.get()) != 1 || PQgetisnull(k.get(), 0, 0))
                throw ApiError(500, "internal", "internal error");
            page.notify_key = PQgetvalue(k.get(), 0, 0);
        }
    }
    const PGresult *r = page.rows.get();
    int rows = PQntuples(r);
    if (PQnfields(r) != 5 || rows < 1 || !PQgetisnull(r, 0, 0) || PQgetlength(r, 0, 1) != 8 ||
        PQgetlength(r, 0, 4) != 1 || rows - 1 > limit)
        throw ApiError(500, "internal", "internal error");
    page.gencount = be_int64(PQgetvalue(r, 0, 1));
    page.more = PQgetvalue(r, 0, 4)[0] != 0;
    for (int i = 1; i < rows; i++) {
        if (PQgetlength(r, i, 0) != 16 || PQgetlength(r, i, 1) != 8 || PQgetlength(r, i, 2) != 1)
            throw ApiError(500, "internal", "internal error");
    }
    page.count = rows - 1;
    if (page.count > 0) page.last = be_int64(PQgetvalue(r, rows - 1, 1));
    return page;
}

}  // namespace

Reply Api::pull(const std::string &user, const std::string &zone, const httplib::Request &req,
                const httplib::Params &query)
{
    check_zone(zone);
    PullParams q = parse_pull_params(query);
    long long since = q.since, limit = q.limit, wait = q.wait;
    bool full = q.full;
    // --max-waiters 0 turns waiting off: such a pull answers at once.
    if (listener_.max_waiters() == 0) wait = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);

    Page page = read_page(pool_, user, zone, since, limit, full, wait > 0, cfg_.max_page_bytes);
    if (wait > 0 && page.count == 0) {
        // Register first, then pull again, then sleep: a push that commits
        // between our pull and our sleep still wakes us.
        Listener::Waiter waiter(listener_, page.notify_key);
        if (!waiter.ok()) {
            // An empty 200 would invite the client to ask again at once.
            metrics().count("longpoll_rejected_total");
            throw unavailable("too many long-polls are waiting: retry shortly");
        }
        while (page.count == 0 && std::chrono::steady_clock::now() < deadline) {
            waiter.arm();
            // The token may have been revoked while we waited (a revocation
            // wakes every waiter): every re-pull is made for a token that
            // still names this user. The token cache is emptied on revocation.
            if (auth_.user_for(req.get_header_value("Authorization")) != user)
                throw ApiError(401, "unauthorized", "unknown or revoked token");
            page = read_page(pool_, user, zone, since, limit, full, false, cfg_.max_page_bytes);
            if (page.count > 0) break;
            if (!waiter.wait_until(deadline)) break;  // timed out
        }
    }
    // PROTOCOL.md: while more is true, the last record returned; then the
    // zone's gencount from the page's own snapshot. Not the last record: when
    // the zone's newest changes were deletes since compacted, that record is
    // below the horizon and a pull from it would be "expired" forever.
    long long next_since = page.more ? (page.last >= 0 ? page.last : since) : page.gencount;
    return Reply{200, pull_page_json(page.rows.get(), page.count, page.gencount, page.more, next_since),
                 "application/json"};
}

Reply Api::delete_item(const std::string &user, const std::string &zone, const std::string &item,
                       const httplib::Params &query)
{
    check_zone(zone);
    if (!is_uuid(item)) throw bad_request("item must be a uuid");
    DeleteParams q = parse_delete_params(query);
    Param if_match = q.if_match ? Param::text(std::to_string(*q.if_match)) : Param::null();
    Param op_id = q.op_id ? Param::text(*q.op_id) : Param::null();
    auto lease = pool_.acquire();
    Result r = lease->run(queries::delete_item, {Param::text(user), Param::text(zone),
                                                 Param::text(uuid_lower(item)), if_match, op_id});
    if (PQntuples(r.get()) != 1 || PQgetisnull(r.get(), 0, 0)) throw ApiError(500, "internal", "internal error");
    return json_reply(200, {{"item", uuid_lower(item)}, {"gencount", int_at(r.get(), 0, 0)}});
}

}  // namespace credsync
